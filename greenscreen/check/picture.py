"""The picture of the speaker recording: sheet, speaker and camera, measured on sampled frames.

A check must take seconds, so it looks at :data:`SAMPLES` moments spread over the recording
(preferring keyframes, which decode without their predecessors), each with the next different
picture (the next frame, unless the recorder repeated the picture).
Every frame is keyed with the render's own :class:`~greenscreen.key.Keyer`; what is sheet and
what is speaker comes from its matte. Most measures run at :data:`ANALYSIS_WIDTH`; noise and
sharpness need the full resolution.

All thresholds are fractions or 8-bit levels, chosen on generated recordings with and without
each defect (``tests/test_check.py``), and written next to the measure they grade.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from greenscreen.check.report import Finding, grade
from greenscreen.io.reader import Crop
from greenscreen.key import Keyer, KeySettings
from greenscreen.key.screen_model import CHANNELS, push_pull_fill, screen_difference
from greenscreen.preview.source import VideoFrames

SAMPLES = 16
"""Moments looked at in a recording (each a frame and the next different picture)."""
ANALYSIS_WIDTH = 640
"""Width the frames are measured at (the sheet and the light vary slowly)."""
FULL_WIDTH = 1920
"""The samples' full size is at most this wide: the picture of a 4K or 8K phone recording is
checked as a 1080p render at most shows it (kept whole, two frames a sample took 1.2 GB for 4K)."""
SHEET_ALPHA = 0.02
"""Matte below which a pixel is sheet ..."""
SHEET_GREEN = 0.04
"""... if it is also this much greener than red and blue (0..1): not a wall beside the sheet."""


@dataclass
class Sample:
    """One moment of the recording, keyed."""

    time: float
    small: np.ndarray
    """BGR uint8 at analysis size."""
    alpha: np.ndarray
    """float32 matte at analysis size (1 = speaker)."""
    foreground: np.ndarray
    """The keyer's despilled foreground, BGR uint8 at analysis size."""
    full: np.ndarray
    """BGR uint8 at full size (at most :data:`FULL_WIDTH` wide)."""
    full_next: np.ndarray | None
    """The next different picture, at full size (for noise and light between pictures); None
    at the end."""
    width: int = 0
    """The recording's own width after the crop (what :attr:`full` was shrunk from, if it was)."""
    changes: int = 0
    """How many of the :data:`PICTURE_WINDOW` frames after this one show a new picture (fewer
    than all where a webcam slowed down in dim light while the recorder kept its frame rate);
    counted at some of the moments only (see :data:`WINDOWS`), 0 at the others ..."""
    looked: int = 0
    """... and how many frames were looked at for it (0: not counted here)."""


@dataclass
class PictureResult:
    """Findings of the picture topics plus the maps shown on the report sheet."""

    findings: list[Finding]
    crop: tuple[int, int, int, int] | None
    images: dict[str, np.ndarray] = field(default_factory=dict)
    samples: int = 0


def sample_frames(
    path, *, samples: int = SAMPLES, crop: Crop = Crop(), key: KeySettings | None = None
) -> list[Sample]:
    """Decode and key ``samples`` moments spread evenly over the recording at ``path``."""
    frames = VideoFrames(path, cache_size=4)
    try:
        count = len(frames)
        keys = frames.keyframe_indices()
        wanted = np.linspace(0, count - 1, min(samples, count)).round().astype(int)
        spacing = max(count / max(samples, 1), 1.0)
        chosen: list[int] = []
        for w in wanted:
            # A keyframe nearby decodes alone; otherwise decode forward from the one before.
            near = min(keys, key=lambda k: abs(k - w))
            pick = near if abs(near - w) <= spacing / 2 else int(w)
            if pick not in chosen:
                chosen.append(pick)
        chosen.sort()
        # One keyer over the samples in time order, like a render, but without temporal
        # smoothing: the samples are seconds apart.
        keyer = Keyer(dataclasses.replace(key or KeySettings(), temporal=0.0))
        # Nor does it measure the camera's noise between them: what changes over seconds is the
        # scene, not the noise (check measures the noise itself, see _noise).
        keyer.noise_margin = 0.0
        out = []
        # Every sample at the first one's size, as a render scales the speaker to one size: a
        # recording can change its resolution midway (a browser or video-call recorder).
        shape: tuple[int, int] | None = None
        width = 0
        for index in chosen:
            full = frames.bgr(index, shape, crop)
            if shape is None:
                width = full.shape[1]
                shape = (full.shape[1], full.shape[0])
                if width > FULL_WIDTH:
                    shape = (FULL_WIDTH, max(2, round(full.shape[0] * FULL_WIDTH / width)))
                    full = cv2.resize(full, shape, interpolation=cv2.INTER_AREA)
            counting = len(out) % max(1, len(chosen) // WINDOWS) == 0
            nxt, changes, looked = _pictures_after(
                lambda i: frames.bgr(i, shape, crop) if i < count else None, index, full, counting)
            h, w = full.shape[:2]
            size = (ANALYSIS_WIDTH, max(2, round(h * ANALYSIS_WIDTH / w))) if w > ANALYSIS_WIDTH else (w, h)
            small = cv2.resize(full, size, interpolation=cv2.INTER_AREA) if size != (w, h) else full
            keyed = keyer.key(small)
            out.append(Sample(frames.times[index], small, keyed.alpha, keyed.foreground, full, nxt, width,
                              changes, looked))
        return out
    finally:
        frames.close()


MAX_REPEATS = 4
"""Repeats of a picture looked through for the next different one (a 6 fps webcam in a 30 fps
recording repeats each picture 4 times)."""
PICTURE_WINDOW = 12
"""Frames after a moment in which the pictures are counted: 12 holds a whole number of runs
of 1, 2, 3, 4 and 6 repeats, so the count does not depend on where in a run the moment falls
(check's moments fall on keyframes, which a recorder spaces evenly) ..."""
WINDOWS = 4
"""... at this many moments (each costs the window's decoding: 0.1 s for a 1080p recording)."""
REPEAT_LEVEL = 1.0
"""Mean difference (levels of the green channel) from the frame before below which a frame
may repeat its picture, coded again by the recorder ...
"""
REPEAT_SHARE = 0.1
"""... if it differs by less than this share of the largest difference in the same stretch: a
picture's repeat differs by the coding alone (0 levels at crf 28, a quarter of a level at crf
18), a new picture by its noise and motion (11-15 levels in a dim room), while the frames of a
camera that sends every picture differ alike."""


def _pictures_after(
    frame_at: Callable[[int], np.ndarray | None], index: int, picture: np.ndarray, counting: bool
) -> tuple[np.ndarray | None, int, int]:
    """The first frame after ``index`` that shows another picture than ``picture`` (the frame
    at ``index``; between a picture and its repeat nothing differs, not even the noise, which
    then read as none); and with ``counting``, how many of the :data:`PICTURE_WINDOW` frames
    after ``index`` show a new picture and how many frames there were (else 0, 0).
    ``frame_at(i)`` gives frame ``i``, or None past the end."""
    def difference(a: np.ndarray, b: np.ndarray) -> float:
        return cv2.norm(a[:, :, 1], b[:, :, 1], cv2.NORM_L1) / (a.shape[0] * a.shape[1])

    # The frames are kept up to the first clearly new picture (the one wanted is never later);
    # of the rest of a counted stretch only how much each differs.
    frames, steps, before = [], [], picture
    for i in range(index + 1, index + 1 + (PICTURE_WINDOW if counting else MAX_REPEATS + 1)):
        frame = frame_at(i)
        if frame is None:
            break
        if not frames or steps[-1] < REPEAT_LEVEL and len(frames) == len(steps):
            frames.append(frame)
        steps.append(difference(frame, before))
        before = frame
        if not counting and steps[-1] >= REPEAT_LEVEL:
            break  # a new picture: the one wanted
    if not frames:
        return None, 0, 0
    largest = max(steps)
    new = [d >= REPEAT_LEVEL or d >= REPEAT_SHARE * largest for d in steps]
    # Only a stretch that holds a clearly new picture tells repeats from a still scene.
    looked = len(steps) if counting else 0
    if largest < REPEAT_LEVEL or all(new):
        return frames[0], looked, looked
    first = next((k for k, is_new in enumerate(new) if is_new), 0)
    return frames[first], sum(new) if counting else 0, looked


def distinct_rate(samples: list[Sample], fps: float) -> float:
    """Different pictures a second in a recording of ``fps`` frames a second, from the
    pictures counted after the ``samples``. A webcam slows down to a whole fraction of the
    recorder's rate (each picture repeated the same number of times)."""
    looked = sum(s.looked for s in samples)
    changes = sum(s.changes for s in samples)
    if not looked or not changes:
        return fps
    return fps / max(1, round(looked / changes))


def _sheet_mask(sample: Sample, screen: str) -> np.ndarray:
    d = screen_difference(sample.small.astype(np.float32) / 255, screen)
    return (sample.alpha < SHEET_ALPHA) & (d > SHEET_GREEN)


def _screen_level(sample: Sample, screen: str) -> np.ndarray:
    """The sheet's own channel (green, or blue for a blue sheet), 0..1."""
    return sample.small[:, :, CHANNELS[screen][0]].astype(np.float32) / 255


def analyse_picture(samples: list[Sample], *, crop: Crop = Crop(), screen: str = "green") -> PictureResult:
    """Measure the sheet, the speaker and the camera on keyed ``samples``; ``screen`` is the
    sheet's colour ("green" or "blue", the key settings' backdrop)."""
    first = samples[0]
    h, w = first.small.shape[:2]
    scale = (first.width or first.full.shape[1]) / w  # analysis pixels -> recording pixels
    sheets = [_sheet_mask(s, screen) for s in samples]
    levels = [_screen_level(s, screen) for s in samples]
    findings: list[Finding] = []
    images: dict[str, np.ndarray] = {}

    # The sheet's brightness over time and space: where the sheet was seen, averaged.
    seen = np.zeros((h, w), np.float32)
    total = np.zeros((h, w), np.float32)
    far_seen = np.zeros((h, w), np.float32)
    far_total = np.zeros((h, w), np.float32)
    reach = max(3, int(0.08 * w))  # "far from the speaker": beyond a shadow's usual width
    speakers, distances = [], []
    for s, sheet, g in zip(samples, sheets, levels):
        seen += sheet
        total += g * sheet
        body = (s.alpha > 0.5).astype(np.uint8)
        speakers.append(body)
        # Distance of every pixel to the speaker (a large value everywhere without one).
        distance = cv2.distanceTransform(1 - body, cv2.DIST_L2, 3) if body.any() else np.full((h, w), 1e6, np.float32)
        distances.append(distance)
        far = sheet & (distance > reach)
        far_seen += far
        far_total += g * far
    sheet_any = seen > 0
    sheet_fraction = float(sheet_any.mean())
    if sheet_fraction < 0.05:
        findings.append(Finding("sheet", "poor", "no_sheet", "no_sheet_advice", params={"colour": screen},
                                figures={"sheet_fraction": sheet_fraction}))
        return PictureResult(findings, None, {"frame": first.small}, len(samples))

    mean = np.where(sheet_any, total / np.maximum(seen, 1), 0).astype(np.float32)
    filled = push_pull_fill(mean, sheet_any.astype(np.uint8))
    sigma = 0.05 * w
    smooth = cv2.GaussianBlur(filled, (0, 0), sigma)
    findings.append(_evenness(smooth, sheet_any, images))
    findings.append(_folds(mean, filled, sheet_any, w))
    if (colour := _sheet_colour(samples, sheets, screen)) is not None:
        findings.append(colour)
    far_any = far_seen > 0
    far_mean = np.where(far_any, far_total / np.maximum(far_seen, 1), 0).astype(np.float32)
    expected = cv2.GaussianBlur(push_pull_fill(far_mean, far_any.astype(np.uint8)), (0, 0), 0.02 * w)
    findings.append(_shadow(sheets, levels, distances, expected, w))
    fill, crop_px = _fill(samples, scale, crop, screen)
    findings.append(fill)
    if crop_px is not None:
        # The part the suggested crop adds, on the analysed (already cropped) frame.
        added = (crop_px[0] - crop.left, crop_px[1] - crop.top, crop_px[2] - crop.right, crop_px[3] - crop.bottom)
        images["crop_box"] = np.array([round(v / scale) for v in added])
    findings.append(_spill(samples, images, screen))
    findings.append(_exposure(samples))
    findings.append(_noise(samples, sheets))
    findings.append(_blur(samples, speakers, sheets))
    findings.append(_clothes(speakers, screen))
    flicker = _flicker(samples, sheets, screen)
    findings.append(_pumping(samples, sheets, screen, flickering=flicker.verdict != "good"))
    findings.append(flicker)

    images["frame"] = samples[len(samples) // 2].small
    images["matte"] = samples[len(samples) // 2].alpha
    return PictureResult(findings, crop_px, images, len(samples))


# ---------------------------------------------------------------------------------------------
# The sheet
# ---------------------------------------------------------------------------------------------

EVEN_USABLE, EVEN_POOR = 0.20, 0.40
"""One side of the sheet (a third of it) this much darker than the opposite one: the keyer
copes with a lamp's usual falloff (the sample bedsheet, lit from the left, measures 0.37);
beyond 40 % the dark side keys grainy."""
SPOTS_USABLE, SPOTS_POOR = 0.35, 0.55
"""Darkest tenth of the sheet's middle this much darker than its brightest tenth (a hot spot,
a dark patch). The frame's outer eighth is left out: every webcam darkens its corners (the
vignetting of an evenly lit studio green measures 0.2-0.3 there), and the keyer follows it."""


PURITY_USABLE, PURITY_POOR = 0.16, 0.08
"""How far the sheet's own channel leads the larger other one, as a share of itself (median over
the sheet): a studio green leads by about 60 %, a dyed-cotton bedsheet by 30-40 %, a dull olive by
about 20 % and still keys clean; a teal dye (its blue close behind its green) by 13 % keyed as a
mottled veil beside the speaker and ate the edges of dark clothes (keying audit, stop 23)."""


def _sheet_colour(samples: list[Sample], sheets: list[np.ndarray], screen: str) -> Finding | None:
    """How clearly the sheet is of its colour: the keyer keys on how far its channel leads the
    others, and a dull or mixed dye (or light of another colour) leaves little to key on."""
    channel, o1, o2 = CHANNELS[screen]
    leads, behind = [], []
    for s, sheet in zip(samples, sheets):
        if sheet.sum() < 100:
            continue
        pixels = s.small[sheet].astype(np.float32)
        own = np.maximum(pixels[:, channel], 1.0)
        leads.append(float(np.median((own - np.maximum(pixels[:, o1], pixels[:, o2])) / own)))
        behind.append(float(np.median(pixels[:, o1] - pixels[:, o2])))
    if not leads:
        return None  # too little sheet in any moment to judge its colour by
    purity = float(np.median(leads))
    # The channel close behind the sheet's own: what the dye is mixed with (BGR order).
    other = {0: "blue", 1: "green", 2: "red"}[o1 if np.median(behind) > 0 else o2]
    params = {"colour": screen, "other": other, "pct": round(purity * 100)}
    verdict = "good" if purity >= PURITY_USABLE else "usable" if purity >= PURITY_POOR else "poor"
    if verdict == "good":
        return Finding("sheet_colour", "good", "sheet_colour_good", params=params, figures={"purity": purity})
    return Finding("sheet_colour", verdict, "sheet_colour_bad", "sheet_colour_advice", params=params,
                   figures={"purity": purity})


def _evenness(smooth: np.ndarray, sheet: np.ndarray, images: dict[str, np.ndarray]) -> Finding:
    mid = float(np.median(smooth[sheet]))
    images["evenness"] = np.where(sheet, smooth / max(mid, 1e-6) - 1.0, np.nan).astype(np.float32)
    h, w = smooth.shape
    by, bx = h // 8, w // 8
    middle = np.zeros_like(sheet)
    middle[by : h - by, bx : w - bx] = True
    middle &= sheet
    values = smooth[middle] if middle.sum() > 100 else smooth[sheet]
    lo, hi = float(np.percentile(values, 10)), float(np.percentile(values, 90))
    spots = 1.0 - lo / max(hi, 1e-6)
    thirds = {
        "left": (slice(None), slice(0, w // 3)), "right": (slice(None), slice(w - w // 3, w)),
        "top": (slice(0, h // 3), slice(None)), "bottom": (slice(h - h // 3, h), slice(None)),
    }
    level = {k: float(smooth[r][sheet[r]].mean()) if sheet[r].any() else np.nan for k, r in thirds.items()}
    side = (None, None, 0.0)
    for a, b in (("left", "right"), ("top", "bottom")):
        if np.isnan(level[a]) or np.isnan(level[b]):
            continue
        dark, bright = (a, b) if level[a] < level[b] else (b, a)
        drop = 1.0 - level[dark] / max(level[bright], 1e-6)
        if drop > side[2]:
            side = (dark, bright, drop)
    dark, bright, drop = side
    figures = {"side_drop": drop, "spots": spots}
    v_side = grade(drop, EVEN_USABLE, EVEN_POOR)
    v_spots = grade(spots, SPOTS_USABLE, SPOTS_POOR)
    if v_side == v_spots == "good":
        return Finding("evenness", "good", "even_good", params={"pct": round(max(drop, spots) * 100)}, figures=figures)
    if v_side != "good" and (v_spots == "good" or drop / EVEN_USABLE >= spots / SPOTS_USABLE):
        return Finding("evenness", v_side, "even_side", "even_side_advice",
                       params={"dark": dark, "bright": bright, "pct": round(drop * 100)}, figures=figures)
    return Finding("evenness", v_spots, "even_spots", "even_spots_advice",
                   params={"pct": round(spots * 100)}, figures=figures)


FOLD_USABLE, FOLD_POOR = 0.035, 0.07
"""Folds: typical local brightness change across the sheet after its large-scale light is
removed (fraction of its brightness). A stretched sheet is below 2 %, deep creases above 7 %."""


def _folds(mean: np.ndarray, filled: np.ndarray, sheet: np.ndarray, width: int) -> Finding:
    inner = cv2.erode(sheet.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    base = cv2.GaussianBlur(filled, (0, 0), 0.02 * width)
    if not inner.any():
        inner = sheet
    # Folds are a few pixels wide at least; a light blur (within the sheet) takes out the
    # sensor noise that a dim room's webcam leaves in the mean, which was counted as folds.
    weight = cv2.GaussianBlur(sheet.astype(np.float32), (0, 0), 1.0)
    calm = cv2.GaussianBlur(np.where(sheet, mean, 0).astype(np.float32), (0, 0), 1.0) / np.maximum(weight, 1e-6)
    ratio = (calm[inner] / np.maximum(base[inner], 1e-6)) - 1.0
    strength = float(np.percentile(np.abs(ratio), 90))
    verdict = grade(strength, FOLD_USABLE, FOLD_POOR)
    return Finding("folds", verdict, "folds_" + ("good" if verdict == "good" else "bad"),
                   "folds_advice", params={"pct": round(strength * 100, 1)}, figures={"folds": strength})


SHADOW_USABLE, SHADOW_POOR = 0.2, 0.35
"""How much darker the sheet is right beside the speaker than the light there would be
(the darkest fifth of that band): the keyer lifts soft shadows (the generated speaker's soft
shadow measures 0.1); deep ones key as holes."""


def _shadow(sheets: list[np.ndarray], levels: list[np.ndarray], distances: list[np.ndarray],
            expected: np.ndarray, width: int) -> Finding:
    inner, outer = max(2, int(0.01 * width)), max(4, int(0.07 * width))
    ratios = []
    for sheet, g, distance in zip(sheets, levels, distances):
        ring = (distance > inner) & (distance <= outer) & sheet
        if ring.sum() < 50:
            continue
        ratios.append(g[ring] / np.maximum(expected[ring], 1e-6))
    if not ratios:
        return Finding("shadow", "good", "shadow_none", figures={"shadow": 0.0})
    depth = float(1.0 - np.percentile(np.concatenate(ratios), 20))
    depth = max(depth, 0.0)
    verdict = grade(depth, SHADOW_USABLE, SHADOW_POOR)
    return Finding("shadow", verdict, "shadow_" + ("good" if verdict == "good" else "bad"),
                   "shadow_advice", params={"pct": round(depth * 100)}, figures={"shadow": depth})


FILL_COLUMN = 0.8
"""A column (row) at the edge whose pixels are this much not-sheet in every sample shows the
room, not the sheet. The speaker moves and never fills a whole column at every moment."""
FILL_POOR = 0.5
"""Less than this much of the frame left after the crop: poor (the speaker will be small)."""


def _fill(
    samples: list[Sample], scale: float, crop: Crop, screen: str
) -> tuple[Finding, tuple[int, int, int, int] | None]:
    not_sheet = np.stack([
        screen_difference(s.small.astype(np.float32) / 255, screen) <= SHEET_GREEN for s in samples
    ])
    h, w = not_sheet.shape[1:]
    columns = not_sheet.mean(axis=1).min(axis=0)  # worst moment's share of sheet per column
    rows = not_sheet.mean(axis=2).min(axis=0)

    def run(values: np.ndarray) -> int:
        n = 0
        while n < len(values) and values[n] >= FILL_COLUMN:
            n += 1
        return n

    sides = [run(columns), run(rows), run(columns[::-1]), run(rows[::-1])]
    if not any(sides):
        return Finding("fill", "good", "fill_good", figures={"outside": 0.0}), None
    names = ["left", "top", "right", "bottom"]
    # The body runs on past the picture's bottom edge in every webcam picture: a desk or the
    # floor there is cropped through it, as framing does. Not so at the top and the sides.
    reaching = [i for i, n in enumerate(sides[:3]) if n and _reaches_across(samples, i, sides)]
    if reaching:
        # The speaker stands in front of the room there (the head above a sheet hung too low):
        # a crop along the sheet's edge would cut them, so none is offered.
        px = max(int(np.ceil(sides[i] * scale)) for i in reaching)
        return Finding("fill", "poor", "fill_reaching", "fill_reaching_advice",
                       params={"sides": names[reaching[0]] if len(reaching) == 1 else "edges", "px": px},
                       figures={f"outside_{n}": int(np.ceil(k * scale)) for n, k in zip(names, sides)}), None
    margin = 0.01  # a little more than measured: the sheet's edge is not straight
    px = [0 if n == 0 else int(np.ceil((n + margin * (w if i % 2 == 0 else h)) * scale)) for i, n in enumerate(sides)]
    px = [p + p % 2 for p in px]
    # Relative to the recording as given: add the crop the user already has.
    total = [px[0] + crop.left, px[1] + crop.top, px[2] + crop.right, px[3] + crop.bottom]
    kept = (1 - sides[0] / w - sides[2] / w) * (1 - sides[1] / h - sides[3] / h)
    verdict = "poor" if kept < FILL_POOR else "usable"
    where = [n for n, p in zip(names, px) if p]
    figures = {f"outside_{n}": p for n, p in zip(names, px)} | {"kept": kept}
    return Finding("fill", verdict, "fill_bad", "fill_advice",
                   params={"sides": where[0] if len(where) == 1 else "edges", "px": max(px),
                           "crop": ",".join(map(str, total))},
                   figures=figures), (total[0], total[1], total[2], total[3])


REACH_INTO = 0.15
"""How far into the kept picture (a share of its width or height) the speaker must go on from
the crop line for a crop there to cut them rather than pass beside them."""
LINE_ENDS = 0.02
"""Share of a crop line's length left out at each end beyond the bands of the sides across it."""


def _reaches_across(samples: list[Sample], side: int, bands: list[int]) -> bool:
    """Whether the speaker crosses the crop line of ``side`` (0 left, 1 top, 2 right),
    ``bands[side]`` analysis pixels in, at any moment: a part of the matte opaque on the line
    that runs on, connected, to :data:`REACH_INTO` further in. The room beyond a sheet's edge
    keys opaque too, but ends at the line (where the sheet hangs in waves, a little past it),
    and a speaker standing clear of it has sheet between; the line's ends, inside the bands of
    the sides across it (a ceiling over a side wall), are left out."""
    n = bands[side]
    across = (bands[1], bands[3]) if side % 2 == 0 else (bands[0], bands[2])
    for s in samples:
        opaque = s.alpha > 0.5
        if side % 2 == 1:  # top or bottom: look along columns
            opaque = opaque.T
        if side == 2:  # right: count from the far edge
            opaque = opaque[:, ::-1]
        # Where the room at a side across meets the sheet in waves, it reaches a little past
        # that side's band: left out too.
        ends = int(np.ceil(LINE_ENDS * opaque.shape[0]))
        opaque = opaque[across[0] + ends : opaque.shape[0] - across[1] - ends]
        width = opaque.shape[1]
        deeper = min(n + max(1, int(REACH_INTO * width)), width - 1)
        if n < width:
            # Parts opaque on the line that run on, connected (an arm pointing out at a slant
            # too), to REACH_INTO further in.
            _, labels = cv2.connectedComponents(np.ascontiguousarray(opaque[:, n:]).astype(np.uint8))
            on_line = np.unique(labels[:, 0][labels[:, 0] > 0])
            if on_line.size and np.isin(labels[:, deeper - n :], on_line).any():
                return True
    return False


# ---------------------------------------------------------------------------------------------
# The speaker
# ---------------------------------------------------------------------------------------------

SPILL_USABLE, SPILL_POOR = 0.025, 0.06
"""Green the keyer's despill takes off the speaker (mean, 0..1 of full scale, over the speaker's
inside): a few levels are usual near a green sheet; 15 levels and more tint the face."""


def _spill(samples: list[Sample], images: dict[str, np.ndarray], screen: str) -> Finding:
    channel = CHANNELS[screen][0]
    removed = []
    best_map, best = None, -1.0
    for s in samples:
        inside = cv2.erode((s.alpha > 0.98).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        if inside.sum() < 100:
            continue
        diff = (s.small[:, :, channel].astype(np.float32) - s.foreground[:, :, channel].astype(np.float32)) / 255
        diff = np.maximum(diff, 0) * (s.alpha > 0.5)
        value = float(diff[inside].mean())
        removed.append(value)
        if value > best:
            best, best_map = value, diff
    if not removed:
        return Finding("spill", "good", "spill_none", params={"colour": screen}, figures={"spill": 0.0})
    spill = float(np.median(removed))
    if best_map is not None:
        images["spill"] = best_map
    verdict = grade(spill, SPILL_USABLE, SPILL_POOR)
    return Finding("spill", verdict, "spill_" + ("good" if verdict == "good" else "bad"),
                   "spill_advice", params={"levels": round(spill * 255), "colour": screen}, figures={"spill": spill})


CLIP_USABLE, CLIP_POOR = 0.01, 0.05
"""Share of the picture burnt out to white (any channel at 250+ of 255, the sheet's green too)."""
CRUSH_USABLE, CRUSH_POOR = 0.05, 0.15
"""Share of the picture crushed to black (every channel at 4 or below)."""


def _exposure(samples: list[Sample]) -> Finding:
    peaks = [cv2.max(cv2.max(s.small[:, :, 0], s.small[:, :, 1]), s.small[:, :, 2]) for s in samples]
    clipped = float(np.mean([cv2.countNonZero((p >= 250).view(np.uint8)) / p.size for p in peaks]))
    crushed = float(np.mean([cv2.countNonZero((p <= 4).view(np.uint8)) / p.size for p in peaks]))
    v_clip = grade(clipped, CLIP_USABLE, CLIP_POOR)
    v_crush = grade(crushed, CRUSH_USABLE, CRUSH_POOR)
    figures = {"clipped": clipped, "crushed": crushed}
    if v_clip == v_crush == "good":
        return Finding("exposure", "good", "exposure_good", figures=figures)
    if (v_clip, clipped / CLIP_USABLE) >= (v_crush, crushed / CRUSH_USABLE) or v_crush == "good":
        if v_clip != "good":
            return Finding("exposure", v_clip, "clipped", "clipped_advice",
                           params={"pct": round(clipped * 100, 1)}, figures=figures)
    return Finding("exposure", v_crush, "crushed", "crushed_advice",
                   params={"pct": round(crushed * 100, 1)}, figures=figures)


NOISE_USABLE, NOISE_POOR = 3.0, 6.0
"""Sensor noise on the sheet, standard deviation in 8-bit levels at the recording's size."""


def _noise(samples: list[Sample], sheets: list[np.ndarray]) -> Finding:
    values = []
    for s, sheet in zip(samples, sheets):
        if s.full_next is None:
            continue
        h, w = s.full.shape[:2]
        mask = cv2.resize(sheet.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
        clear = (s.alpha < SHEET_ALPHA).astype(np.uint8)
        mask &= cv2.resize(clear, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
        if mask.sum() < 1000:
            continue
        # Between two pictures in a row the still sheet is the same; what differs is noise
        # (sqrt 2 of it). Slow light changes are removed by a median of the difference.
        a = s.full[:, :, 1].astype(np.float32)
        b = s.full_next[:, :, 1].astype(np.float32)
        # Each row's own change of brightness is light, not noise: a camera's rolling shutter
        # reads a flickering lamp as dark bands that roll down the picture (see _flicker), which
        # a single median for the whole picture had counted as noise. Light scales the levels.
        # a = gain * b + noise, the gain per row: a ratio of the row's sums, so that no dark
        # pixel's noise is divided by.
        gain = _row_means(a, mask) / np.maximum(_row_means(b, mask), np.float32(1.0))
        d = (a - b * gain[:, None])[mask]
        mad = float(np.median(np.abs(d - np.median(d))))
        values.append(1.4826 * mad / np.sqrt(2))
    if not values:
        return Finding("noise", "good", "noise_good", params={"levels": 0.0}, figures={"noise": 0.0})
    noise = float(np.median(values))
    verdict = grade(noise, NOISE_USABLE, NOISE_POOR)
    return Finding("noise", verdict, "noise_" + ("good" if verdict == "good" else "bad"),
                   "noise_advice", params={"levels": round(noise, 1)}, figures={"noise": noise})


BLUR_RATIO = 0.5
"""A moment whose speaker is less than half as sharp as the recording's typical one is smeared."""
BLUR_USABLE, BLUR_POOR = 0.15, 0.35
"""Share of the moments smeared by motion."""


FOCUS_RATIO = 0.7
"""A smeared moment whose sheet is also less than this share as sharp as usual is out of
focus: the whole picture went soft (an autofocus hunting), not the speaker moving."""


def _blur(samples: list[Sample], speakers: list[np.ndarray], sheets: list[np.ndarray]) -> Finding:
    """Moments in which the speaker is smeared: by their own motion (the sheet behind stays
    sharp), or by the camera's focus (the sheet goes soft with them)."""
    sharp, sheet_sharp = [], []
    for s, body, sheet in zip(samples, speakers, sheets):
        if body.sum() < 200:
            continue
        h, w = s.full.shape[:2]
        grey = cv2.cvtColor(s.full, cv2.COLOR_BGR2GRAY)
        edges = np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=3))
        inside = cv2.resize(cv2.erode(body, np.ones((3, 3), np.uint8)), (w, h),
                            interpolation=cv2.INTER_NEAREST).astype(bool)
        if inside.sum() < 500:
            continue
        sharp.append(float(np.percentile(edges[inside], 95)))
        behind = cv2.resize(cv2.erode(sheet.astype(np.uint8), np.ones((3, 3), np.uint8)), (w, h),
                            interpolation=cv2.INTER_NEAREST).astype(bool)
        sheet_sharp.append(float(np.percentile(edges[behind], 95)) if behind.sum() >= 500 else None)
    if len(sharp) < 3:
        return Finding("blur", "good", "blur_good", figures={"blurred": 0.0})
    typical = float(np.median(sharp))
    smeared = [v < BLUR_RATIO * typical for v in sharp]
    blurred = float(np.mean(smeared))
    verdict = grade(blurred, BLUR_USABLE, BLUR_POOR)
    if verdict == "good":
        return Finding("blur", "good", "blur_good", figures={"blurred": blurred})
    known = [v for v in sheet_sharp if v is not None]
    usual = float(np.median(known)) if known else 0.0
    soft = [v is not None and v < FOCUS_RATIO * usual for v, m in zip(sheet_sharp, smeared) if m]
    if usual > 0 and sum(soft) * 2 > len(soft):
        return Finding("blur", verdict, "focus_bad", "focus_advice", params={"pct": round(blurred * 100)},
                       figures={"blurred": blurred, "out_of_focus": True})
    return Finding("blur", verdict, "blur_bad", "blur_advice",
                   params={"pct": round(blurred * 100)}, figures={"blurred": blurred})


PUMP_USABLE, PUMP_POOR = 0.08, 0.2
"""Automatic exposure: range of the sheet's brightness over the clip, as a fraction."""
WB_USABLE, WB_POOR = 0.08, 0.16
"""Automatic white balance: range of the sheet's blue/green and red/green over the clip."""


CLOTHES_USABLE, CLOTHES_POOR = 0.25, 0.5
"""Share of the moments in which the speaker floats: no part of them reaches the picture's
bottom edge, as a body does, so everything below the head keyed away with the sheet."""


FLOATS_ABOVE = 0.8
"""... with their lowest part above this share of the picture's height (feet on a green floor
reach lower)."""


def _clothes(speakers: list[np.ndarray], screen: str) -> Finding:
    """Clothes of the sheet's colour (a green shirt before a green sheet): the keyer takes the
    body for sheet, and the head floats. Colour alone cannot tell a green shirt from the
    sheet; the shape can: a seated or standing speaker's body runs off the picture's bottom."""
    floating = looked = 0
    for body in speakers:
        if body.sum() < 0.01 * body.size:
            continue
        looked += 1
        count, labels = cv2.connectedComponents(body)
        sizes = np.bincount(labels.ravel(), minlength=count)
        parts = {i for i in range(1, count) if sizes[i] > 0.005 * body.size}
        if not parts or parts & set(np.unique(labels[-1][body[-1] > 0]).tolist()):
            continue
        # A whole figure standing on a sheet that runs on over the floor reaches near the
        # bottom with its feet; a head over a keyed-away body ends well above it.
        lowest = max(int(np.nonzero(np.isin(labels, list(parts)).any(axis=1))[0][-1]), 0)
        if lowest < FLOATS_ABOVE * body.shape[0]:
            floating += 1
    if looked < 3:
        return Finding("clothes", "good", "clothes_good", params={"colour": screen}, figures={"floating": 0.0})
    share = floating / looked
    verdict = grade(share, CLOTHES_USABLE, CLOTHES_POOR)
    if verdict == "good":
        return Finding("clothes", "good", "clothes_good", params={"colour": screen}, figures={"floating": share})
    return Finding("clothes", verdict, "clothes_bad", "clothes_advice",
                   params={"pct": round(share * 100), "colour": screen}, figures={"floating": share})


FLICKER_USABLE, FLICKER_POOR = 0.02, 0.05
"""Change of the sheet's brightness from one frame to the next (median over the moments): a
camera's automatic exposure moves it by well under 1 % a frame; lamps on 50 Hz mains (100 Hz
flicker) beating with a 30 fps camera by several percent."""


FLICKER_SHARE = 0.25
"""... and flicker changes it from one frame to the next by at least this share of its spread
over the clip (an automatic exposure's swing moves it far less in a frame)."""


def _flicker(samples: list[Sample], sheets: list[np.ndarray], screen: str) -> Finding:
    """Light that flickers from frame to frame (mains lighting against the camera's rate)."""
    channel = CHANNELS[screen][0]
    changes, levels = [], []
    for s, sheet in zip(samples, sheets):
        if s.full_next is None or sheet.sum() < 200:
            continue
        h, w = s.full.shape[:2]
        # The sheet as a region (closed, then kept off the speaker's edge), not as the pixels
        # that key as sheet in this frame: in a very noisy picture those are picked by their
        # noise, which the next frame does not repeat, and read as a 25 % flicker.
        region = cv2.erode(cv2.morphologyEx(sheet.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)),
                           np.ones((3, 3), np.uint8))
        mask = cv2.resize(region, (w, h), interpolation=cv2.INTER_NEAREST)
        if mask.sum() < 200:
            continue
        now = cv2.mean(s.full[:, :, channel], mask=mask)[0]
        after = cv2.mean(s.full_next[:, :, channel], mask=mask)[0]
        if now > 0:
            changes.append(max(abs(after / now - 1), _band_depth(s.full[:, :, channel], s.full_next[:, :, channel],
                                                                 mask.astype(bool))))
            levels.append(now)
    if len(changes) < 3:
        return Finding("flicker", "good", "flicker_good", figures={"flicker": 0.0})
    flicker = float(np.median(changes))
    # Flicker swings the light as far within a frame as over the whole clip; an exposure that
    # drifts (however far) moves it a small part of its range from one frame to the next.
    spread = float(np.percentile(levels, 95) - np.percentile(levels, 5)) / float(np.median(levels))
    verdict = grade(flicker, FLICKER_USABLE, FLICKER_POOR) if flicker >= FLICKER_SHARE * spread else "good"
    if verdict == "good":
        return Finding("flicker", "good", "flicker_good", figures={"flicker": flicker})
    return Finding("flicker", verdict, "flicker_bad", "flicker_advice",
                   params={"pct": round(flicker * 100, 1)}, figures={"flicker": flicker})


def _row_means(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of each row of float32 ``image`` over the pixels where bool ``mask`` is set (0 for
    a row without any)."""
    counts = mask.sum(axis=1)
    return np.where(counts > 0, np.where(mask, image, 0).sum(axis=1) / np.maximum(counts, 1), 0).astype(np.float32)


def _band_depth(now: np.ndarray, after: np.ndarray, mask: np.ndarray) -> float:
    """How far the sheet's brightness changes differently from row to row between two
    pictures in a row (uint8 ``now``, ``after``; bool ``mask`` of the sheet): half the range
    (5th to 95th percentile) of the rows' ratios, smoothed over a few rows so that noise
    averages out. A rolling shutter reads a lamp flickering at 100 Hz as bands rolling down
    the picture, which change the rows by up to their depth while the whole picture's mean
    hardly moves; an exposure change moves every row alike."""
    h, w = mask.shape
    rows = mask.sum(axis=1) >= max(20, w // 4)
    if rows.sum() < h // 4:
        return 0.0
    before_rows = _row_means(now.astype(np.float32), mask)[rows]
    after_rows = _row_means(after.astype(np.float32), mask)[rows]
    ratio = after_rows / np.maximum(before_rows, 1.0)
    width = max(3, h // 60)
    smooth = np.convolve(ratio, np.ones(width) / width, mode="valid")
    if smooth.size < 8:
        return 0.0
    # What noise alone leaves in the smoothed ratios (from the row-to-row differences, which
    # bands hardly have): a very noisy dark picture's rows differ without any light changing.
    noise = float(np.std(np.diff(ratio))) / np.sqrt(2 * width)
    return max(0.0, float(np.percentile(smooth, 95) - np.percentile(smooth, 5)) / 2 - 3 * noise)


def _pumping(samples: list[Sample], sheets: list[np.ndarray], screen: str, *, flickering: bool = False) -> Finding:
    """Automatic exposure and white balance changing over the clip. ``flickering``: the light
    flickers from frame to frame (see :func:`_flicker`), which moves the brightness between the
    moments too: that is not the camera's exposure, and is not called so."""
    s_idx, o1, o2 = CHANNELS[screen]
    # Compare like with like: the part of the sheet seen at every moment, so neither the
    # speaker moving over it nor the light's spread across it looks like a change.
    common = np.logical_and.reduce(sheets)
    if common.sum() < 200:
        return Finding("pumping", "good", "pumping_good", figures={"exposure_range": 0.0, "tint_range": 0.0})
    sums = np.array([s.small[common].astype(np.float64).sum(axis=0) for s in samples])  # B, G, R
    gain = sums[:, s_idx] / np.median(sums[:, s_idx])
    exposure_range = float(np.percentile(gain, 95) - np.percentile(gain, 5))
    # The other two channels against the sheet's, each relative to its usual level. A channel
    # that is about 0 on the sheet (a pure green, clipped by the camera) shows no tint change.
    tints = [ratio / np.median(ratio) for ratio in (sums[:, o1] / sums[:, s_idx], sums[:, o2] / sums[:, s_idx])
             if np.median(ratio) > 1e-3]
    tint_range = max((float(np.percentile(t, 95) - np.percentile(t, 5)) for t in tints), default=0.0)
    figures = {"exposure_range": exposure_range, "tint_range": tint_range}
    v_exp = "good" if flickering else grade(exposure_range, PUMP_USABLE, PUMP_POOR)
    v_wb = grade(tint_range, WB_USABLE, WB_POOR)
    if v_exp == v_wb == "good":
        return Finding("pumping", "good", "pumping_good", figures=figures)
    if v_exp != "good" and (v_wb == "good" or exposure_range / PUMP_USABLE >= tint_range / WB_USABLE):
        return Finding("pumping", v_exp, "pumping_exposure", "pumping_exposure_advice",
                       params={"pct": round(exposure_range * 100)}, figures=figures)
    return Finding("pumping", v_wb, "pumping_wb", "pumping_wb_advice",
                   params={"pct": round(tint_range * 100)}, figures=figures)
