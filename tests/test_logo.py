"""A logo in a top corner, its transparency kept, away from the speaker."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import cards
from conftest import decode_frames, run_cli

SIZE = (320, 176)


@pytest.fixture(scope="module")
def media_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    d = tmp_path_factory.mktemp("logo")
    speaker = cards.write_clip(d / "speaker.mp4", cards.flat((160, 96), cards.SHEET), seconds=0.5)
    screen = cards.write_clip(d / "screen.mp4", cards.flat(SIZE, cards.BLUE), seconds=0.5)
    logo = np.zeros((100, 100, 4), np.uint8)
    cv2.circle(logo, (50, 50), 40, (0, 200, 255, 255), -1)  # an orange disc on a transparent square
    cv2.imwrite(str(d / "Stadtwappen.png"), logo)
    return speaker, screen, d / "Stadtwappen.png"


@pytest.mark.parametrize(("corner", "side"), [("bottom-right", "right"), ("top-right", "left")])
def test_logo_sits_in_a_top_corner_away_from_the_speaker(
    media_pair: tuple[Path, Path, Path], tmp_path: Path, corner: str, side: str
) -> None:
    speaker, screen, logo = media_pair
    plain, marked = tmp_path / "plain.mp4", tmp_path / "logo.mp4"
    run_cli("render", speaker, screen, "-o", plain, "-q", "--corner", corner)
    run_cli("render", speaker, screen, "-o", marked, "-q", "--corner", corner, "--logo", logo)
    a, b = decode_frames(plain)[5][1].astype(int), decode_frames(marked)[5][1].astype(int)
    changed = np.abs(a - b).max(axis=2) > 30
    ys, xs = np.nonzero(changed)
    assert ys.size > 50 and ys.max() < SIZE[1] * 0.15
    assert xs.min() > SIZE[0] * 0.8 if side == "right" else xs.max() < SIZE[0] * 0.2
    # Round, not square: the PNG's transparent corners leave the screen as it was.
    y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
    assert not changed[y0, x0] and not changed[y1, x1]
    assert b[(y0 + y1) // 2, (x0 + x1) // 2, 2] > b[(y0 + y1) // 2, (x0 + x1) // 2, 0] + 60  # orange


def test_a_bad_logo_is_one_line(media_pair: tuple[Path, Path, Path], tmp_path: Path) -> None:
    speaker, screen, _ = media_pair
    text = tmp_path / "logo.png"
    text.write_text("kein Bild", encoding="utf-8")
    proc = run_cli("render", speaker, screen, "-o", tmp_path / "x.mp4", "--logo", text, check=False)
    assert proc.returncode == 1 and "logo.png: not a readable image" in proc.stderr and proc.stderr.count("\n") == 1
    assert not (tmp_path / "x.mp4").exists()


def test_a_broken_png_is_one_line_too(media_pair: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """A file that starts like a PNG and then breaks off: OpenCV printed its own two log lines
    ("[ERROR:0@0.2] ... readHeader IHDR chunk shall be first") above the error."""
    speaker, screen, _ = media_pair
    broken = tmp_path / "logo.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nGARBAGEGARBAGE")
    proc = run_cli("render", speaker, screen, "-o", tmp_path / "x.mp4", "--logo", broken, check=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "logo.png: not a readable image" in proc.stderr
