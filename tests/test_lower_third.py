"""Lower thirds: a name and role at the bottom for a while, away from the speaker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cards
from conftest import decode_frames, run_cli
from greenscreen.composite.lower_third import LowerThird
from greenscreen.errors import SettingsError

SIZE = (320, 176)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("lower")
    speaker = cards.write_clip(d / "speaker.mp4", cards.flat((160, 96), cards.SHEET), seconds=2.0)
    screen = cards.write_clip(d / "screen.mp4", cards.flat(SIZE, cards.BLUE), seconds=2.0)
    return speaker, screen


def test_parse() -> None:
    assert LowerThird.parse("Maria Muster|IT-Service@0:01-4.5") == LowerThird("Maria Muster", "IT-Service", 1.0, 4.5)
    assert LowerThird.parse("Jörg@1-2") == LowerThird("Jörg", "", 1.0, 2.0)
    assert LowerThird.parse("Maria Muster|IT-Service") == LowerThird("Maria Muster", "IT-Service")  # untimed
    for bad in ("Maria@2-1", "|Rolle@1-2", "Maria@x-2", "Maria@1", " |IT"):
        with pytest.raises(SettingsError):
            LowerThird.parse(bad)


@pytest.mark.parametrize(("corner", "side"), [("bottom-right", "left"), ("bottom-left", "right")])
def test_shows_in_its_time_on_the_side_away_from_the_speaker(
    pair: tuple[Path, Path], tmp_path: Path, corner: str, side: str
) -> None:
    speaker, screen = pair
    out = tmp_path / "out.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--corner", corner, "--lower-third", "Jörg Müller|IT-Service@0.5-1.5")
    background = decode_frames(out)[0][1].astype(int)
    for t, frame in decode_frames(out):
        changed = np.abs(frame.astype(int) - background).max(axis=2) > 40
        if 0.85 <= t < 1.15:  # fully faded in
            ys, xs = np.nonzero(changed)
            assert ys.size > 300, t
            assert ys.min() > SIZE[1] // 2  # in the lower half
            assert (xs.max() < SIZE[0] // 2) if side == "left" else (xs.min() > SIZE[0] // 2), (t, xs.min(), xs.max())
        elif t < 0.48 or t >= 1.52:
            assert not changed.any(), t
    mid = [f for t, f in decode_frames(out) if abs(t - 1.0) < 0.02][0]
    edge = [f for t, f in decode_frames(out) if abs(t - 0.6) < 0.02][0]
    # Fading in: a third of the way at 0.1 s into the 0.3 s fade.
    assert np.abs(edge.astype(int) - background).sum() < 0.6 * np.abs(mid.astype(int) - background).sum()


def test_bad_lower_third_is_a_usage_error(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    proc = run_cli("render", speaker, screen, "-o", tmp_path / "x.mp4", "--lower-third", "Maria@2", check=False)
    assert proc.returncode == 2 and "NAME|ROLE@START-END" in proc.stderr and proc.stderr.count("\n") == 1


def _box_rows(frame: np.ndarray, background: np.ndarray) -> np.ndarray:
    return np.flatnonzero((np.abs(frame.astype(int) - background).max(axis=2) > 40).any(axis=1))


def test_speaker_name_introduces_the_speaker_when_they_move_into_a_window(tmp_path: Path) -> None:
    """--speaker-name (a lower third without times) shows from a second after the first
    picture-in-picture frame for five seconds: not during the full-frame greeting before it."""
    speaker = cards.write_clip(tmp_path / "speaker.mp4", cards.flat((160, 96), cards.SHEET), seconds=8.0)
    screen = cards.write_clip(tmp_path / "screen.mp4", cards.flat(SIZE, cards.BLUE), seconds=8.0)
    out = tmp_path / "out.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--segment", "0-1.5=screen",
            "--speaker-name", "Jörg Müller|IT-Service", "--loudness", "off")
    frames = decode_frames(out)
    background = frames[0][1].astype(int)  # a screen-only frame: no speaker, no lower third
    shown = [t for t, frame in frames if _box_rows(frame, background).size and _box_rows(frame, background).min() > SIZE[1] // 2
             and (np.abs(frame.astype(int) - background).max(axis=2) > 40)[:, : SIZE[0] // 2].sum() > 300]
    # The pip window comes at 1.5 s (bottom right); the name box shows on the left from 2.5 s to
    # 7.5 s (its 0.3 s fades are faint at their ends).
    assert shown and 2.5 <= min(shown) < 2.7 and 7.3 < max(shown) < 7.5, (min(shown), max(shown))


def _luminance(bgr: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of sRGB pixels (BGR uint8)."""
    c = bgr[..., ::-1].astype(float) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


@pytest.mark.parametrize("colour", [(255, 255, 255), (0, 0, 0), (0, 200, 255)])
def test_text_keeps_wcag_contrast_on_any_screen(colour: tuple[int, int, int]) -> None:
    """The name's white letters against the box as blended over a white, black or yellow screen:
    contrast ratio at least 4.5:1 (WCAG 2.1 AA for text)."""
    from greenscreen.composite.lower_third import LowerThirds
    from greenscreen.io.colour import bgr_to_i420, i420_to_bgr
    from greenscreen.io.yuv import i420_planes

    size = (1280, 720)
    lower = LowerThirds([LowerThird("Maria Muster", "IT-Service", 0.0, 10.0)], size, speaker_left=False)
    plain = np.zeros((720, 1280, 3), np.uint8)
    plain[:] = colour
    i420 = bgr_to_i420(plain)
    lower.draw_i420(i420_planes(i420), 5.0, "bt601")
    shown = i420_to_bgr(i420)
    changed = np.abs(shown.astype(int) - plain).max(axis=2) > 30
    ys, xs = np.nonzero(changed)
    box = shown[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    light = _luminance(box)
    text, backing = np.percentile(light, 99.5), np.median(light)
    assert (max(text, backing) + 0.05) / (min(text, backing) + 0.05) >= 4.5, (colour, text, backing)
