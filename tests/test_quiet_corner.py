"""corner = "auto": the speaker goes where the screen recording is quietest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cards
from conftest import run_cli
from greenscreen.composite.layout import LayoutSettings
from greenscreen.composite.quiet_corner import quiet_corner
from greenscreen.io.probe import probe

SIZE = (320, 176)


def busy_screen(corner: str) -> cards.Picture:
    """A still blue screen with flickering detail in one corner (a form being filled in)."""
    rng = np.random.default_rng(1)
    w, h = SIZE

    def picture(i: int) -> np.ndarray:
        y = np.full((h, w), 66, np.uint8)
        ys = slice(0, h // 3) if corner.startswith("top") else slice(h - h // 3, h)
        xs = slice(0, w // 3) if corner.endswith("left") else slice(w - w // 3, w)
        y[ys, xs] = rng.integers(30, 230, (h // 3, w // 3), dtype=np.uint8)
        return cards.i420(y, np.full((h, w), 198, np.uint8), np.full((h, w), 117, np.uint8))

    return picture


@pytest.mark.parametrize("busy", ["bottom-right", "top-left"])
def test_the_busy_corner_is_avoided(tmp_path: Path, busy: str) -> None:
    screen = cards.write_clip(tmp_path / "screen.mp4", busy_screen(busy), seconds=2.0)
    chosen = quiet_corner(probe(screen), LayoutSettings(), speaker=(160, 96))
    assert chosen != busy
    assert chosen == "bottom-left" if busy == "bottom-right" else chosen == "bottom-right"


def test_render_with_auto_places_the_speaker_in_the_quiet_corner(tmp_path: Path) -> None:
    screen = cards.write_clip(tmp_path / "screen.mp4", busy_screen("bottom-right"), seconds=1.0)
    speaker = cards.write_clip(tmp_path / "speaker.mp4", cards.marked_speaker((160, 96), (40, 20, 80, 76)), seconds=1.0)
    out = tmp_path / "out.mp4"
    proc = run_cli("render", speaker, screen, "-o", out, "--corner", "auto", "-q")
    assert "the speaker goes bottom-left" in proc.stderr
    y = cards.yuv(out)[10][0].astype(int)
    h, w = y.shape
    # The speaker's grey body is in the bottom-left quarter, and the busy corner still flickers.
    assert np.abs(y[h // 2 :, : w // 2] - 150).min() < 20
    assert y[h - h // 3 :, w - w // 3 :].std() > 20


@pytest.mark.parametrize(("window", "layout"), [("none", "pip"), ("rounded", "pip"), ("none", "circle")])
def test_a_standing_speaker_only_takes_a_bottom_corner(tmp_path: Path, window: str, layout: str) -> None:
    """Both bottom corners busy: a window (rounded, circle) goes to a quiet top corner, but a keyed
    speaker standing on the bottom edge stays at the bottom (hung in a top corner, a torso cut at
    the waist floats)."""
    left, right = busy_screen("bottom-left"), busy_screen("bottom-right")

    def both(i: int) -> np.ndarray:
        a, b = left(i), right(i)
        w = SIZE[0]
        a[: SIZE[1], w // 2 :] = b[: SIZE[1], w // 2 :]  # luma: the right half from the other
        return a

    screen = cards.write_clip(tmp_path / "screen.mp4", both, seconds=2.0)
    chosen = quiet_corner(probe(screen), LayoutSettings(layout=layout, window=window), speaker=(160, 96))
    assert chosen.startswith("bottom") if (layout, window) == ("pip", "none") else chosen.startswith("top")
