"""Batch throughput: the same folder of short tutorials rendered with ``--jobs 1`` and ``--jobs 2``.

Generates N tutorials (default 8) with FFmpeg test sources (a moving box on a green field with a
tone for the speaker, ``testsrc2`` for the screen), then runs ``greenscreen batch --force`` as a
subprocess once per ``--jobs`` value. Reports wall time, throughput (seconds of video per
second), the speed-up over the first ``--jobs`` value, and the peak memory of the whole process
tree (batch process + pool workers), sampled with psutil every 0.1 s. Peak RSS adds up every
process's resident memory (shared pages counted once per process, so an upper bound); peak PSS
splits shared pages between the processes that share them (Linux only). "cores busy" is the
CPU time of the tree over the wall time: with ``--jobs 1`` it shows how much of the machine one
render already uses (decode threads + x264), which bounds what more jobs can gain. On a machine
busy with other work, compare "cores busy" as well as the wall times.

Usage::

    python benchmarks/batch_throughput.py [--tutorials 8] [--seconds 5] [--jobs 1 2]
        [--screen 1280x720] [--speaker 640x360] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import psutil


def _ffmpeg(*args: str) -> None:
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", *args]
    subprocess.run(cmd, check=True)


def make_recordings(folder: Path, *, count: int, seconds: float, screen: str, speaker: str) -> None:
    """``count`` tutorials as ``tNN.speaker.mp4`` + ``tNN.screen.mp4``, encoded once and copied."""
    folder.mkdir(parents=True, exist_ok=True)
    sw, sh = (int(v) for v in speaker.split("x"))
    x264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    spk, scr = folder / "_speaker.mp4", folder / "_screen.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i",
        f"color=c=0x38a848:s={speaker}:r=30:d={seconds},noise=alls=6:allf=t,"
        f"drawbox=x='{sw // 3}+{sw // 8}*sin(t*2)':y={sh // 5}:w={sw // 3}:h={sh}:color=0xc08060:t=fill",
        "-f", "lavfi", "-i", f"sine=f=220:d={seconds}",
        *x264, "-c:a", "aac", "-shortest", str(spk),
    )
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=s={screen}:r=30:d={seconds}", *x264, str(scr))
    for i in range(count):
        shutil.copyfile(spk, folder / f"t{i:02d}.speaker.mp4")
        shutil.copyfile(scr, folder / f"t{i:02d}.screen.mp4")
    spk.unlink()
    scr.unlink()


def run_batch(recordings: Path, output: Path, jobs: int) -> tuple[float, int, int, float]:
    """Run the batch; return wall seconds, peak RSS and PSS bytes, and CPU seconds of the tree."""
    cmd = [sys.executable, "-m", "greenscreen", "batch", str(recordings), "-o", str(output),
           "--jobs", str(jobs), "--force", "-q"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    root = psutil.Process(proc.pid)
    peak_rss = peak_pss = 0
    cpu: dict[int, float] = {}  # last CPU time seen per process (exited ones keep their last value)
    while proc.poll() is None:
        rss = pss = 0
        try:
            for p in [root, *root.children(recursive=True)]:
                try:
                    info = p.memory_full_info()
                    times = p.cpu_times()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                cpu[p.pid] = times.user + times.system
                rss += info.rss
                pss += getattr(info, "pss", info.rss)
        except psutil.NoSuchProcess:
            break
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"batch --jobs {jobs} failed with exit code {proc.returncode}")
    return wall, peak_rss, peak_pss, sum(cpu.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tutorials", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--screen", default="1280x720")
    parser.add_argument("--speaker", default="640x360")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it.")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="gs-batch-bench-"))
    try:
        recordings = work / "recordings"
        if not recordings.exists():
            make_recordings(recordings, count=args.tutorials, seconds=args.seconds,
                            screen=args.screen, speaker=args.speaker)
        video = args.tutorials * args.seconds
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        print(f"{args.tutorials} tutorials x {args.seconds:g} s, screen {args.screen}, speaker "
              f"{args.speaker}, 30 fps; {cpus} CPUs; greenscreen batch --force")
        print(f"{'jobs':>4}  {'wall s':>7}  {'video s/s':>9}  {'speed-up':>8}  {'cores busy':>10}  "
              f"{'peak RSS MB':>11}  {'peak PSS MB':>11}")
        base = None
        for jobs in args.jobs:
            wall, rss, pss, cpu = run_batch(recordings, work / f"out-j{jobs}", jobs)
            base = base or wall
            print(f"{jobs:>4}  {wall:>7.1f}  {video / wall:>9.2f}  {base / wall:>7.2f}x  {cpu / wall:>10.2f}  "
                  f"{rss / 2**20:>11.0f}  {pss / 2**20:>11.0f}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
