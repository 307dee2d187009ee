"""What even loudness costs a render: the measuring passes, per minute of sound, beside ffmpeg.

Makes a recording with a speech-like soundtrack (voiced syllables and a little room noise, AAC
48 kHz stereo, a tiny video stream) and times, alternating in one run:

* ``ffmpeg ebur128``: the ffmpeg program measuring the same file (``-af ebur128=peak=true -f null``),
  the reference for what one measuring pass costs;
* ``plan_sound``: greenscreen's planning of the soundtrack before a render: decode, measure,
  choose the gain (one pass when a linear gain suffices, more when the limiter is needed);
* ``plan_sound + denoise``: the same with ``--denoise light`` (one more pass for the noise floor);
* ``limited``: a quiet recording with loud clicks, so it needs the true-peak limiter (measure,
  then re-measure through the limiter until the loudness lands on the target).

Usage::

    python benchmarks/loudness_cost.py [--minutes 1 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np

from greenscreen.io.audio import SAMPLE_RATE, AudioSource, AudioTrack
from greenscreen.io.loudness import SoundSettings, plan_sound


def write_recording(path: Path, minutes: float, peak: float, *, clicks: float = 0.0) -> Path:
    """A tiny video with ``minutes`` of speech-like stereo sound peaking at ``peak``, with a
    click of ``clicks`` (linear) every second: peaks far above the voice, as plosives give."""
    rng = np.random.default_rng(0)
    block = SAMPLE_RATE  # one second at a time: memory stays small for long recordings
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=1)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=SAMPLE_RATE)
        audio.layout = "stereo"
        picture = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="bgr24")
        for second in range(round(minutes * 60)):
            picture.pts = second
            container.mux(video.encode(picture))
            t = second + np.arange(block) / SAMPLE_RATE
            voice = sum(np.sin(2 * np.pi * 150 * k * t + k) / k for k in range(1, 8)) / 2.6
            envelope = np.clip(np.sin(2 * np.pi * 2 * t), 0, None) ** 2
            mono = peak * voice * envelope + rng.standard_normal(block) * 3e-4
            mono[SAMPLE_RATE // 3 : SAMPLE_RATE // 3 + 48] += clicks * np.hanning(48)
            frame = av.AudioFrame.from_ndarray(
                np.stack([mono, mono]).astype(np.float32), format="fltp", layout="stereo"
            )
            frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, second * block, Fraction(1, SAMPLE_RATE)
            container.mux(audio.encode(frame))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    return path


def ffmpeg_ebur128(path: Path) -> None:
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostats", "-i", str(path), "-map", "0:a:0",
         "-af", "ebur128=peak=true", "-f", "null", "-"],
        check=True, capture_output=True,
    )


def greenscreen_plan(path: Path, settings: SoundSettings, seconds: float) -> Callable[[], None]:
    def run() -> None:
        plan_sound(lambda: AudioTrack([AudioSource(path)]), 0, round(seconds * SAMPLE_RATE), settings)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            normal = write_recording(Path(tmp) / f"normal-{minutes}.mp4", minutes, peak=0.3)
            quiet = write_recording(Path(tmp) / f"quiet-{minutes}.mp4", minutes, peak=0.05, clicks=0.7)
            seconds = minutes * 60
            contenders: dict[str, Callable[[], None]] = {
                "ffmpeg ebur128": lambda p=normal: ffmpeg_ebur128(p),
                "plan_sound": greenscreen_plan(normal, SoundSettings(), seconds),
                "plan_sound + denoise": greenscreen_plan(normal, SoundSettings(denoise="light"), seconds),
                "limited (quiet, clicks)": greenscreen_plan(quiet, SoundSettings(), seconds),
            }
            times: dict[str, list[float]] = {name: [] for name in contenders}
            for _ in range(args.rounds):  # alternate, so a busy moment hits everyone alike
                for name, run in contenders.items():
                    start = time.perf_counter()
                    run()
                    times[name].append(time.perf_counter() - start)
            reference = statistics.median(times["ffmpeg ebur128"])
            print(f"== {minutes:g} min of sound, medians of {args.rounds} rounds ==")
            print(f"{'':24} {'wall s':>8} {'s per min':>10} {'x ffmpeg':>9}")
            for name, values in times.items():
                median = statistics.median(values)
                print(f"{name:24} {median:8.2f} {median / minutes:10.2f} {median / reference:9.2f}")


if __name__ == "__main__":
    main()
