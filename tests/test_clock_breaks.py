"""A recording whose clock jumps ahead (a laptop that slept, a recorder paused) is closed up in
its picture as in its sound, so the two stay together after the jump."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from conftest import run_cli, streams_of
from greenscreen.io.audio import iter_mono
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


def _joined_end_to_end(folder: Path) -> Path:
    """Two recordings joined as ``cat a.ts b.ts > joined.ts`` joins them: the second's clock
    starts again at 0. The first is dark, the second lighter, flashing (and beeping) 1 s in."""
    parts = []
    for name, level, flash in (("a", 60, None), ("b", 120, 1.0)):
        t = np.arange(2 * 48_000) / 48_000
        sound = (0.01 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
        if flash is not None:
            beep = (t >= flash) & (t < flash + 0.2)
            sound[beep] = (0.5 * np.sin(2 * np.pi * 1000 * t[beep])).astype(np.float32)

        def frame(i: int, level: int = level, flash: float | None = None if flash is None else flash) -> np.ndarray:
            return np.full((48, 64, 3), 255 if flash is not None and i == round(flash * 10) else level, np.uint8)

        mp4 = write_clip(folder / f"{name}.mp4", seconds=2.0, fps=10, frame=frame, audio=sound)
        ts = folder / f"{name}.ts"
        with av.open(str(mp4)) as src, av.open(str(ts), "w", format="mpegts") as dst:
            streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
            for packet in src.demux():
                if packet.dts is not None:
                    packet.stream = streams[packet.stream.index]
                    dst.mux(packet)
        parts.append(ts.read_bytes())
    joined = folder / "joined.ts"
    joined.write_bytes(b"".join(parts))
    return joined


def test_a_clock_that_starts_again_is_read_on(tmp_path: Path) -> None:
    info = probe(_joined_end_to_end(tmp_path))
    assert info.duration == pytest.approx(4.0, abs=0.05)  # the header's clock says 2 s
    assert len(info.breaks) == 1 and info.breaks[0][0] == pytest.approx(2.0, abs=0.01)
    times = [t for t, _ in read_frames(info.path)]
    assert len(times) == 40 and np.allclose(np.diff(times), 0.1, atol=1e-3)


def test_sound_dropouts_after_a_clock_break_are_still_filled(tmp_path: Path) -> None:
    # The dropout is measured on the clock as it goes on after the break.
    clip = write_break_clip(tmp_path / "slept.mkv", jump=60.0, sound_hole=(3.0, 3.5))
    holes: list[tuple[float, float]] = []
    blocks, rate = iter_mono(clip, holes=holes)
    samples = sum(len(b) for b in blocks)
    assert samples / rate == pytest.approx(4.0, abs=0.05)
    assert len(holes) == 1 and holes[0][1] == pytest.approx(0.5, abs=0.03)


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


def test_render_reads_on_after_a_clock_reset(tmp_path: Path) -> None:
    joined = _joined_end_to_end(tmp_path)
    screen = write_clip(tmp_path / "screen.mp4", seconds=4.0, size=(320, 180), fps=10)
    out = tmp_path / "out.mp4"
    proc = run_cli("render", joined, screen, "-o", out)
    assert "joined.ts: its clock goes back 2 s at 0:02.0" in proc.stderr
    flash, beep = _flash_and_beep(out)  # the second part's flash was never shown
    assert flash == pytest.approx(3.0, abs=0.05) and beep == pytest.approx(3.0, abs=0.05)


@pytest.mark.parametrize("joined", [True, False])
def test_preview_shows_the_frames_after_a_break(tmp_path: Path, joined: bool) -> None:
    from greenscreen.preview.source import VideoFrames

    clip = _joined_end_to_end(tmp_path) if joined else write_break_clip(tmp_path / "slept.mkv", jump=60.0)
    frames = VideoFrames(clip)
    assert len(frames) == 40 and np.allclose(np.diff(frames.times), 0.1, atol=1e-3)
    # In any order (the preview seeks): the flash is frame 30 and nowhere else.
    levels = {i: float(frames.bgr(i, (64, 48)).mean()) for i in (35, 30, 5, 29, 31, 30)}
    assert levels[30] > 200 and all(v < 150 for i, v in levels.items() if i != 30)
    assert frames.index_at(3.0) == 30


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_a_still_screen_with_its_sound_running_is_no_break(tmp_path: Path, suffix: str) -> None:
    """A variable-frame-rate screen recorder writes no frames while the screen stands still, and
    its sound runs on: a 40 s still was closed up as a break, and the picture ran 40 s ahead of
    the sound after it."""
    clip = write_break_clip(tmp_path / f"still{suffix}", jump=40.0, sound="runs")
    info = probe(clip)
    assert info.breaks == () and info.duration == pytest.approx(44.0, abs=0.15)
    times = [t for t, _ in read_frames(clip)]
    assert len(times) == 40 and times[20] == pytest.approx(42.0, abs=0.01)  # the still held


@pytest.mark.parametrize(("jump", "closed"), [(60.0, False), (900.0, True)])
def test_without_sound_only_a_long_jump_is_a_break(tmp_path: Path, jump: float, closed: bool) -> None:
    # Nothing tells a minute's still screen from a pause; a quarter of an hour is a pause.
    info = probe(write_break_clip(tmp_path / "silent.mkv", jump=jump, sound="none"))
    assert bool(info.breaks) == closed
    assert info.duration == pytest.approx(4.0 if closed else 4.0 + jump, abs=0.15)


def test_b_frames_at_a_low_frame_rate_are_no_reset(tmp_path: Path) -> None:
    """At 1 fps, B-frames come up to several seconds before later frames in the file: read as
    clocks that start again, a 60 s recording became 96 s with 15 warnings."""
    import av
    from fractions import Fraction

    clip = tmp_path / "slides.mkv"
    with av.open(str(clip), "w") as out:
        video = out.add_stream("libx264", rate=1, options={"preset": "medium", "bf": "3"})
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        for i in range(40):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (i * 37) % 256, np.uint8), format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 1)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    with av.open(str(clip)) as c:
        stamps = [p.pts for p in c.demux(video=0) if p.pts is not None]
    assert any(b < a - 1 for a, b in zip(stamps, stamps[1:]))  # the file does step back
    info = probe(clip)
    assert info.breaks == () and info.duration == pytest.approx(40.0, abs=0.5)
    assert [round(t) for t, _ in read_frames(clip)] == list(range(40))
