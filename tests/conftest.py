"""Shared fixtures: small generated recordings (never committed) and helpers to inspect outputs."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pytest
from click.testing import CliRunner, Result

import synthetic
from greenscreen.errors import UNEXPECTED
from greenscreen.composite.layout import LayoutSettings, place_speaker


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A handful of small recordings covering the usual mismatches between the two sources."""
    d = tmp_path_factory.mktemp("media")
    return {
        "speaker": synthetic.write_speaker_clip(
            d / "speaker.mp4", size=(320, 180), fps=30.0, seconds=2.0, audio=True, seed=1
        ),
        "speaker_25_silent": synthetic.write_speaker_clip(
            d / "speaker 25 fps.mp4", size=(256, 192), fps=25.0, seconds=1.5, audio=False, seed=2
        ),
        "screen": synthetic.write_screen_clip(
            d / "screen.mp4", size=(640, 360), fps=30.0, seconds=2.0, audio=False, seed=3
        ),
        "screen_audio": synthetic.write_screen_clip(
            d / "screen audio.mkv", size=(480, 270), fps=24.0, seconds=2.5, audio=True, seed=4
        ),
        "screen_vfr": synthetic.write_screen_clip(
            d / "screen vfr.mp4", size=(640, 360), fps=30.0, seconds=2.0, vfr=True, seed=5
        ),
    }


def assert_no_unexpected_error(output: str, what: object = "") -> None:
    """Fail if the command line's last-resort handler printed its line (see
    ``greenscreen.errors.UNEXPECTED``): every bad input the suite tries must get a message of
    its own, not the catch-all."""
    if UNEXPECTED in output:
        raise AssertionError(
            f"greenscreen {what} reached the last-resort error handler; give this case its own "
            f"message:\n{output}"
        )


def run_cli(
    *args: str | Path, check: bool = True, unexpected_ok: bool = False, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the real ``greenscreen`` command line in a subprocess.

    Fails the test if the command reached the last-resort handler ("unexpected error"),
    unless ``unexpected_ok`` (for the tests of that handler itself).
    """
    proc = subprocess.run(
        [sys.executable, "-m", "greenscreen", *map(str, args)],
        capture_output=True,
        text=True,
        errors="backslashreplace",  # file names that are not UTF-8 are printed as they are
        timeout=timeout,
    )
    if not unexpected_ok:
        assert_no_unexpected_error(proc.stderr + proc.stdout, args)
    if check and proc.returncode != 0:
        raise AssertionError(f"greenscreen {args} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def signals_as_in_a_terminal() -> None:
    """``preexec_fn`` for a command the test stops with a signal, as a user at a terminal would.

    A CI job that runs in the background inherits SIGINT (and under nohup SIGHUP) ignored, and a
    Python started so keeps ignoring it: Ctrl-C would never reach the command under test.
    """
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)


@pytest.fixture
def allow_unexpected_error() -> None:
    """Request this in a test that reaches the last-resort handler on purpose."""


@pytest.fixture(autouse=True)
def _no_unexpected_errors(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs of the command line (click's CliRunner) fail the test if they reach the
    last-resort handler, as :func:`run_cli` does for subprocesses."""
    if "allow_unexpected_error" in request.fixturenames:
        return
    invoke = CliRunner.invoke

    def checked(self: CliRunner, *args: object, **kwargs: object) -> Result:
        result = invoke(self, *args, **kwargs)
        # click 8.2+: output holds stdout and stderr; older: stderr may be separate or absent.
        try:
            stderr = result.stderr
        except ValueError:
            stderr = ""
        assert_no_unexpected_error(result.output + stderr, args[1] if len(args) > 1 else "")
        return result

    monkeypatch.setattr(CliRunner, "invoke", checked)


def run_ffmpeg(*args: str | Path) -> None:
    """Run the ffmpeg binary that imageio-ffmpeg ships (quiet, overwriting outputs)."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", *map(str, args)],
                   check=True, capture_output=True)


def mean_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 pictures, in code values."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def pip_box(output: tuple[int, int], speaker: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(x, y, w, h)`` of the speaker's window in the default layout."""
    p = place_speaker(LayoutSettings(), output=output, speaker=speaker)
    return p.x, p.y, p.width, p.height


def streams_of(path: Path) -> dict[str, object]:
    """Describe the streams of a media file as PyAV sees them."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        info: dict[str, object] = {
            "video_codec": v.codec_context.name,
            "profile": v.codec_context.profile,
            "pix_fmt": v.codec_context.pix_fmt,
            "size": (v.codec_context.width, v.codec_context.height),
            "fps": v.average_rate,
            "frames": v.frames,
            "duration": float(v.duration * v.time_base) if v.duration else c.duration / 1e6,
            "audio_codec": c.streams.audio[0].codec_context.name if c.streams.audio else None,
            "audio_duration": (
                float(c.streams.audio[0].duration * c.streams.audio[0].time_base)
                if c.streams.audio
                else None
            ),
        }
    return info


def decode_frames(path: Path) -> list[tuple[float, np.ndarray]]:
    """All frames of a (small) video as ``(seconds, BGR)``."""
    with av.open(str(path)) as c:
        return [(float(f.time), f.to_ndarray(format="bgr24")) for f in c.decode(video=0)]


def audio_samples(path: Path) -> np.ndarray:
    """The decoded first audio stream as float32 ``(channels, n)``."""
    with av.open(str(path)) as c:
        chunks = [f.to_ndarray() for f in c.decode(audio=0)]
    return np.concatenate(chunks, axis=1).astype(np.float32)
