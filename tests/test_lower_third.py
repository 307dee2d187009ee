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
    for bad in ("Maria", "Maria@2-1", "|Rolle@1-2", "Maria@x-2"):
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
    proc = run_cli("render", speaker, screen, "-o", tmp_path / "x.mp4", "--lower-third", "Maria", check=False)
    assert proc.returncode == 2 and "NAME|ROLE@START-END" in proc.stderr and proc.stderr.count("\n") == 1
