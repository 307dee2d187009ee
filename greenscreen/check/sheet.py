"""The PNG report sheet: a frame, the matte, the sheet's unevenness, the spill and the sound level."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import cv2
import numpy as np

from greenscreen.check.messages import in_language
from greenscreen.check.report import CheckReport
from greenscreen.errors import OutputError
from greenscreen.io.atomic import atomic_path

TILE = (480, 270)
"""Size of each picture on the sheet."""
COLOURS = {"good": (80, 170, 60), "usable": (0, 160, 230), "poor": (40, 40, 220)}
"""BGR colour of each verdict."""


def _ascii(text: str) -> str:
    # OpenCV's built-in fonts have no umlauts: write them as German does without them.
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"), ("ß", "ss")):
        text = text.replace(a, b)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _fit(image: np.ndarray) -> np.ndarray:
    """``image`` scaled into a :data:`TILE` with grey bars, aspect kept."""
    h, w = image.shape[:2]
    s = min(TILE[0] / w, TILE[1] / h)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    tile = np.full((TILE[1], TILE[0], 3), 40, np.uint8)
    y, x = (TILE[1] - size[1]) // 2, (TILE[0] - size[0]) // 2
    tile[y : y + size[1], x : x + size[0]] = small
    return tile


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    cv2.rectangle(tile, (0, 0), (tile.shape[1], 22), (0, 0, 0), -1)
    cv2.putText(tile, _ascii(text), (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def _heat(values: np.ndarray, span: float) -> np.ndarray:
    """Signed values (NaN = not sheet) in [-span, span] as a blue (dark) - red (bright) map."""
    known = ~np.isnan(values)
    scaled = np.clip((np.nan_to_num(values) / span + 1) * 127.5, 0, 255).astype(np.uint8)
    heat = cv2.applyColorMap(scaled, cv2.COLORMAP_JET)
    heat[~known] = 60
    return heat


def _level_plot(levels: np.ndarray, lang: str) -> np.ndarray:
    tile = np.full((TILE[1], TILE[0], 3), 30, np.uint8)
    top, bottom, left, right = 30, TILE[1] - 20, 40, TILE[0] - 10
    for db in (0, -20, -40, -60):
        y = int(top + (bottom - top) * (-db / 60))
        cv2.line(tile, (left, y), (right, y), (70, 70, 70), 1)
        cv2.putText(tile, f"{db}", (4, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (180, 180, 180), 1, cv2.LINE_AA)
    if levels.size:
        xs = np.linspace(left, right, levels.size)
        ys = top + (bottom - top) * np.clip(-levels / 60, 0, 1)
        points = np.stack([xs, ys], axis=1).round().astype(np.int32)
        cv2.polylines(tile, [points], False, (90, 220, 90), 1, cv2.LINE_AA)
    return _label(tile, "sound level (dBFS)" if lang == "en" else "Tonpegel (dBFS)")


def render_sheet(report: CheckReport, lang: str = "en") -> np.ndarray:
    """The report sheet as a BGR uint8 image."""
    images = report.images
    de = lang == "de"
    tiles = []
    frame = images.get("frame")
    if frame is not None:
        shown = frame.copy()
        if images.get("crop_box") is not None:
            # What the suggested crop keeps.
            l, t, r, b = (int(v) for v in images["crop_box"])
            cv2.rectangle(shown, (l, t), (frame.shape[1] - 1 - r, frame.shape[0] - 1 - b), (0, 0, 255), 2)
        tiles.append(_label(_fit(shown), "Bild" if de else "frame"))
    if images.get("matte") is not None:
        matte = (np.clip(images["matte"], 0, 1) * 255).astype(np.uint8)
        tiles.append(_label(_fit(cv2.cvtColor(matte, cv2.COLOR_GRAY2BGR)), "Maske" if de else "matte"))
    if images.get("evenness") is not None:
        tiles.append(_label(_fit(_heat(images["evenness"], 0.4)),
                            "Ausleuchtung (blau dunkler, rot heller, +-40 %)" if de
                            else "sheet light (blue darker, red brighter, +-40 %)"))
    if images.get("spill") is not None:
        spill = np.clip(images["spill"] / 0.1, 0, 1)
        tiles.append(_label(_fit(cv2.applyColorMap((spill * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)),
                            "Farbschimmer (entfernte Tuchfarbe)" if de else "colour spill (sheet colour removed)"))
    tiles.append(_level_plot(np.asarray(images.get("levels", np.zeros(0))), lang))
    while len(tiles) % 3:
        tiles.append(np.full((TILE[1], TILE[0], 3), 40, np.uint8))
    grid = np.vstack([np.hstack(tiles[i : i + 3]) for i in range(0, len(tiles), 3)])
    text = _text_panel(report, lang, grid.shape[1])
    return np.vstack([text, grid])


def _text_panel(report: CheckReport, lang: str, width: int) -> np.ndarray:
    table = in_language(lang)[0]
    lines: list[tuple[str | None, str]] = []
    for f in report.findings:
        message, advice = f.text(lang)
        line = f"{table['topic_' + f.topic]}: {message}"
        if advice and f.verdict != "good":
            if len(line) + len(advice) < 160:
                line += f"  -> {advice}"
            else:  # too long for one line of the sheet: the advice on its own
                lines.append((f.verdict, line))
                line = f"    -> {advice}"
                lines.append((None, line))
                continue
        lines.append((f.verdict, line))
    height = 40 + 18 * len(lines) + 10
    panel = np.full((height, width, 3), 20, np.uint8)
    title = f"{Path(report.speaker).name}: {table['overall'].format(verdict=table['verdict_' + report.verdict])}"
    cv2.putText(panel, _ascii(title), (10, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.7, COLOURS[report.verdict], 2, cv2.LINE_AA)
    for i, (verdict, line) in enumerate(lines):
        y = 50 + 18 * i
        if verdict is not None:
            cv2.circle(panel, (16, y - 4), 5, COLOURS[verdict], -1)
        cv2.putText(panel, _ascii(line)[:190], (28, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (230, 230, 230), 1, cv2.LINE_AA)
    return panel


SHEET_FORMATS = (".png", ".jpg", ".jpeg")
"""The picture formats the report sheet is written in, by the output's extension."""


def write_sheet(report: CheckReport, output: Path, lang: str = "en") -> Path:
    """Write the report sheet to ``output`` atomically, as a PNG (or a JPEG for ``.jpg``)."""
    image = render_sheet(report, lang)
    suffix = output.suffix.lower()
    if suffix not in SHEET_FORMATS:
        raise OutputError("the report sheet is a picture; name it .png or .jpg", output)
    # Encoded in memory and written by Python: cv2.imwrite crashed the process on a file name
    # that is not UTF-8 (an old ZIP's or a Samba share's Latin-1 names).
    params = [cv2.IMWRITE_PNG_COMPRESSION, 6] if suffix == ".png" else [cv2.IMWRITE_JPEG_QUALITY, 90]
    ok, data = cv2.imencode(suffix, image, params)
    if not ok:
        raise OutputError("cannot encode the report sheet", output)
    with atomic_path(output) as tmp:
        tmp.write_bytes(data.tobytes())
    return output
