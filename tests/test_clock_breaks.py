"""A recording whose clock jumps ahead (a laptop that slept, a recorder paused) is closed up in
its picture as in its sound, so the two stay together after the jump."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from conftest import run_cli, streams_of
from greenscreen.io.probe import CLOCK_BREAK, MediaInfo, probe
from greenscreen.io.reader import read_frames
from recordings import write_break_clip, write_clip


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_probe_and_reader_close_a_clock_break(tmp_path: Path, suffix: str) -> None:
    clip = write_break_clip(tmp_path / f"slept{suffix}", jump=60.0)
    info = probe(clip)
    assert info.duration == pytest.approx(4.0, abs=0.05)
    assert info.fps == 10 and not info.variable_fps
    assert len(info.breaks) == 1
    at, closed = info.breaks[0]
    assert at == pytest.approx(2.0, abs=1e-6) and closed == pytest.approx(60.0, abs=1e-6)
    times = [t for t, _ in read_frames(clip)]
    assert len(times) == 40
    assert np.allclose(np.diff(times), 0.1, atol=1e-6)  # frame after frame, across the break


def test_a_gap_shorter_than_a_clock_break_is_kept(tmp_path: Path) -> None:
    # Up to CLOCK_BREAK the sound fills a gap with silence and the picture holds its frame.
    clip = write_break_clip(tmp_path / "gap.mp4", jump=CLOCK_BREAK - 10)
    info = probe(clip)
    assert info.breaks == () and info.duration == pytest.approx(4.0 + CLOCK_BREAK - 10, abs=0.05)


def test_file_time_maps_past_the_breaks() -> None:
    info = MediaInfo(Path("x.mp4"), 64, 48, 10, 10.0, False, breaks=((2.0, 60.0), (5.0, 100.0)))
    assert [info.file_time(t) for t in (1.0, 2.0, 4.0, 6.0)] == [1.0, 62.0, 64.0, 166.0]


def _flash_and_beep(path: Path) -> tuple[float, float]:
    """When the output's picture flashes and when its beep starts (seconds)."""
    with av.open(str(path)) as c:
        frames = [(float(f.time), f.to_ndarray(format="gray").astype(np.float32)) for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        sound = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])
        rate = c.streams.audio[0].rate
    usual = np.median([g for _, g in frames], axis=0)
    flash = next(t for t, g in frames if np.abs(g - usual).max() > 100)
    window = int(rate * 0.005)
    level = np.convolve(np.abs(sound), np.ones(window) / window, "same")
    return flash, float(np.argmax(level > 0.5 * level.max()) / rate)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_render_keeps_picture_and_sound_together_across_a_clock_break(tmp_path: Path, suffix: str) -> None:
    speaker = write_break_clip(tmp_path / f"slept{suffix}", jump=90.0)
    screen = write_clip(tmp_path / "screen.mp4", seconds=4.0, size=(320, 180), fps=10)
    out = tmp_path / "out.mp4"
    proc = run_cli("render", speaker, screen, "-o", out)
    assert f"slept{suffix}: its clock jumps 90 s ahead at 0:02.0" in proc.stderr
    assert streams_of(out)["duration"] == pytest.approx(4.0, abs=0.15)  # not 94 s of a held frame
    flash, beep = _flash_and_beep(out)
    assert flash == pytest.approx(3.0, abs=0.05) and beep == pytest.approx(3.0, abs=0.05)
