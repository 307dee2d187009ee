"""How long ``greenscreen check`` and ``greenscreen sync`` take on a long 1080p pair.

Builds (once, in the work folder) a speaker and a screen recording of ``--minutes`` minutes at
1080p: ten seconds of the generated speaker / screen picture looped by stream copy, each with
its own soundtrack of the same generated speech heard through a different "microphone" (level,
EQ, noise), the speaker's 3.2 s late and drifting by 300 ppm. Then runs both commands as a user
would (a subprocess each, so start-up is included), ``--rounds`` times, and prints the median
wall time and what sync found against the truth.

Usage::

    python benchmarks/check_sync.py [--minutes 10] [--rounds 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from recordings import burst_sound, heard_by  # noqa: E402  (test-media helpers)
from render_speed import ffmpeg, loop_clip, make_inputs  # noqa: E402

OFFSET, DRIFT_PPM = 3.2, 300.0
"""The truth sync should find."""


def with_sound(video: Path, sound_rate: int, samples, dst: Path) -> Path:
    """``video`` (stream copy) with ``samples`` (mono float32 at ``sound_rate``) as AAC."""
    if dst.exists():
        return dst
    raw = dst.with_suffix(".f32")
    raw.write_bytes(samples.astype("<f4").tobytes())
    tmp = dst.with_suffix(".partial.mp4")
    subprocess.run(
        [ffmpeg(), "-loglevel", "error", "-y", "-i", str(video), "-f", "f32le", "-ar", str(sound_rate),
         "-ac", "1", "-i", str(raw), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac",
         "-ar", "48000", "-shortest", str(tmp)],
        check=True,
    )
    raw.unlink()
    tmp.replace(dst)
    return dst


def make_pair(work: Path, minutes: float) -> tuple[Path, Path]:
    seconds = minutes * 60
    speaker10, screen10 = make_inputs(work, 1080, 10.0)
    speaker_v = loop_clip(speaker10, work / f"speaker_loop_{minutes:g}min.mp4", seconds)
    screen_v = loop_clip(screen10, work / f"screen_loop_{minutes:g}min.mp4", seconds)
    speaker = work / f"speaker_{minutes:g}min_synced.mp4"
    screen = work / f"screen_{minutes:g}min_synced.mp4"
    if not (speaker.exists() and screen.exists()):
        t0 = time.perf_counter()
        air = burst_sound(seconds * 1.001 + 30, seed=11)
        lead = 10.0
        with_sound(screen_v, 16000, heard_by(air, seconds, rate=16000, offset=lead, gain=0.3, eq="bright",
                                             noise_dbfs=-45, seed=1), screen)
        with_sound(speaker_v, 16000, heard_by(air, seconds, rate=16000, offset=lead + OFFSET,
                                              drift_ppm=DRIFT_PPM, eq="dull", noise_dbfs=-55, seed=2), speaker)
        print(f"  made the {minutes:g}-minute pair in {time.perf_counter() - t0:.0f} s", flush=True)
    return speaker, screen


def timed(command: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{command} failed:\n{proc.stderr}")
    return wall, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Work folder to keep (and reuse) the recordings in.")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="greenscreen-check-sync-"))
    work.mkdir(parents=True, exist_ok=True)
    speaker, screen = make_pair(work, args.minutes)
    gs = [sys.executable, "-m", "greenscreen"]
    check_times, sync_times = [], []
    found = {}
    for _ in range(args.rounds):
        wall, _out = timed(gs + ["check", str(speaker), str(screen), "--json", "-o", str(work / "report.png")])
        check_times.append(wall)
        wall, out = timed(gs + ["sync", str(speaker), str(screen), "--json"])
        sync_times.append(wall)
        found = json.loads(out)
    print(f"{args.minutes:g}-minute 1080p pair, {args.rounds} rounds, "
          "median wall time (subprocess, start-up included):")
    print(f"  check  {statistics.median(check_times):6.2f} s   (all: {', '.join(f'{t:.2f}' for t in check_times)})")
    print(f"  sync   {statistics.median(sync_times):6.2f} s   (all: {', '.join(f'{t:.2f}' for t in sync_times)})")
    end = args.minutes * 60
    end_error = (found["offset"] + end * (1 + found["drift_ppm"] * 1e-6)) - (OFFSET + end * (1 + DRIFT_PPM * 1e-6))
    print(f"  sync found offset {found['offset']:+.4f} s (truth {OFFSET:+.4f}), drift {found['drift_ppm']:+.1f} ppm "
          f"(truth {DRIFT_PPM:+.1f}), confidence {found['confidence']:.2f}; "
          f"error at the end {end_error * 1000:+.1f} ms")


if __name__ == "__main__":
    main()
