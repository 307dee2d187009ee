"""Redaction: a rectangle of the screen recording made unreadable for a while, and nothing else."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import decode_frames, pip_box, run_cli
from greenscreen.composite.redact import Redaction, Redactor
from greenscreen.errors import SettingsError

BOX = (40, 60, 260, 120)  # x, y, w, h in the 640x360 screen recording: menu and text


def detail(picture: np.ndarray) -> float:
    """High-frequency energy: mean squared Laplacian of the grey picture."""
    grey = cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float(np.mean(cv2.Laplacian(grey, cv2.CV_32F) ** 2))


def test_parse() -> None:
    assert Redaction.parse("10,20,30,40") == Redaction(10, 20, 30, 40)
    assert Redaction.parse("10,20,30,40@0:10-25.5") == Redaction(10, 20, 30, 40, 10.0, 25.5)
    for bad in ("10,20,30", "10,20,0,40", "1,2,3,4@5-4", "1,2,3,4@x-5"):
        with pytest.raises(SettingsError):
            Redaction.parse(bad)


def test_boxes_follow_the_screen_into_the_layout() -> None:
    # A 1280x720 recording shown in a 640x360 area at (100, 50): half size, moved.
    redactor = Redactor([Redaction(200, 100, 400, 60, 1.0, 2.0)], (1280, 720), (100, 50, 640, 360))
    assert redactor.active(1.5) == [(200, 100, 200, 30)]
    assert redactor.active(0.5) == [] and redactor.active(2.0) == []
    assert not Redactor([Redaction(2000, 0, 10, 10)], (1280, 720), (0, 0, 1280, 720))  # outside: nothing


def test_redacted_box_is_unreadable_and_the_rest_untouched(media: dict[str, Path], tmp_path: Path) -> None:
    plain, hidden = tmp_path / "plain.mp4", tmp_path / "hidden.mp4"
    x, y, w, h = BOX
    common = ("-q", "--crf", "12", "--loudness", "off")
    run_cli("render", media["speaker"], media["screen"], "-o", plain, *common)
    run_cli("render", media["speaker"], media["screen"], "-o", hidden, *common, "--redact", f"{x},{y},{w},{h}@0:00.5-1.5")
    px, py, pw, ph = pip_box((640, 360), (320, 180))
    for (t, a), (_, b) in zip(decode_frames(plain), decode_frames(hidden)):
        inside = (slice(y, y + h), slice(x, x + w))
        if 0.55 <= t < 1.45:
            assert detail(b[inside]) <= 0.1 * detail(a[inside]), t
            # Same colours on the whole, only the detail gone.
            assert np.abs(a[inside].mean(axis=(0, 1)) - b[inside].mean(axis=(0, 1))).max() < 6
        elif t < 0.45 or t >= 1.55:
            assert np.abs(a[inside].astype(int) - b[inside].astype(int)).mean() < 1.5, t
        outside = np.ones(a.shape[:2], bool)
        outside[y - 4 : y + h + 4, x - 4 : x + w + 4] = False
        outside[py : py + ph, px : px + pw] = False  # the keyed speaker may vary by a code value
        assert np.abs(a[outside].astype(int) - b[outside].astype(int)).mean() < 1.0, t


def test_bad_redactions_are_usage_errors(media: dict[str, Path], tmp_path: Path) -> None:
    proc = run_cli("render", media["speaker"], media["screen"], "-o", tmp_path / "x.mp4", "--redact", "1,2,3", check=False)
    assert proc.returncode == 2 and "must be X,Y,WIDTH,HEIGHT" in proc.stderr and proc.stderr.count("\n") == 1
