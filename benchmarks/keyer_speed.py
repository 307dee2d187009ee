"""Time ``Keyer.key`` at the picture-in-picture sizes, this checkout against another revision.

The frames are the synthetic speaker (seed 1, 2 s from t = 2 s) rendered at 1080p, coded with
libx264 (crf 23, 4:2:0) and decoded, then shrunk to the sizes a render keys at: 632x356 (1080p
output) and 424x238 (720p). Each revision runs in its own worker process, pinned to one core
(``taskset``, Linux) with OpenCV on one thread and glibc's allocator tuned as a render tunes it
(``pipeline.return_large_buffers_to_os``; without it each frame page-faults its freed buffers back
in, ~10 % of the time at 632x356); the workers take turns, one round of 60 frames at a time, so
both see the same load on a shared machine. Reported per size
and revision: the minimum and the median over the rounds of the mean ms per frame, of wall
time and of the worker's CPU time (which waiting for a busy core does not inflate).

Usage::

    python benchmarks/keyer_speed.py [--against REV] [--rounds N] [--cpu N]

``--against`` (default ``main``) is exported with ``git archive`` into a temporary folder.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the generated test media (synthetic.py) live with the tests
SIZES = ((632, 356), (424, 238))

WORKER = r"""
import sys, time
import numpy as np, cv2
cv2.setNumThreads(1)
from greenscreen import pipeline
if hasattr(pipeline, "return_large_buffers_to_os"):  # the allocator as a render tunes it
    pipeline.return_large_buffers_to_os()
from greenscreen.key import Keyer
frames = {int(k[1:]): v for k, v in np.load(sys.argv[1]).items()}
keyers = {w: Keyer() for w in frames}
for w, fr in frames.items():  # warm up: first frames, allocations, any compilation
    for f in fr:
        keyers[w].key(f)
print("ready", flush=True)
for line in sys.stdin:
    w = int(line)
    t0, c0 = time.perf_counter(), time.thread_time()
    for f in frames[w]:
        keyers[w].key(f)
    n = len(frames[w])
    print((time.perf_counter() - t0) / n * 1000, (time.thread_time() - c0) / n * 1000, flush=True)
"""


def make_frames(path: Path) -> None:
    """Write the benchmark frames (see the module docstring) to ``path`` (.npz)."""
    import av
    import cv2
    import numpy as np

    import synthetic

    pictures = [synthetic.speaker_frame(2.0 + i / 30, (1920, 1080), seed=1)[0] for i in range(60)]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=30, options={"crf": "23", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        for bgr in pictures:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(bgr, format="bgr24")))
        out.mux(stream.encode(None))
    buffer.seek(0)
    with av.open(buffer) as coded:
        decoded = [f.to_ndarray(format="bgr24") for f in coded.decode(video=0)]
    np.savez(path, **{f"w{w}": np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in decoded])
                      for w, h in SIZES})


def worker(source: Path, frames: Path, cpu: int | None) -> subprocess.Popen[str]:
    """A warm worker keying with the greenscreen package found in ``source``."""
    pin = ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []
    env = dict(os.environ, PYTHONPATH=str(source))
    proc = subprocess.Popen([*pin, sys.executable, "-c", WORKER, str(frames)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env, cwd=source)
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError(f"worker for {source} failed to start")
    return proc


def main() -> None:
    """Alternate rounds between the two revisions and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--against", default="main", help="git revision to compare with")
    ap.add_argument("--rounds", type=int, default=15, help="rounds per size and revision")
    ap.add_argument("--cpu", type=int, default=1, help="core to pin the workers to")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        frames = work / "frames.npz"
        make_frames(frames)
        old = work / "old"
        old.mkdir()
        archive = subprocess.run(["git", "archive", args.against, "greenscreen"], cwd=REPO, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        procs = {args.against: worker(old, frames, args.cpu), "this checkout": worker(REPO, frames, args.cpu)}
        times: dict[tuple[str, int], list[float]] = {(n, w): [] for n in procs for w, _ in SIZES}
        cpu: dict[tuple[str, int], list[float]] = {(n, w): [] for n in procs for w, _ in SIZES}
        try:
            for _ in range(args.rounds):
                for w, _ in SIZES:
                    for name, proc in procs.items():
                        proc.stdin.write(f"{w}\n")
                        proc.stdin.flush()
                        wall, used = (float(v) for v in proc.stdout.readline().split())
                        times[name, w].append(wall)
                        cpu[name, w].append(used)
        finally:
            for proc in procs.values():
                proc.stdin.close()
                proc.wait()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Keyer.key, ms per frame, one core (cpu {args.cpu}), {args.rounds} alternating rounds of 60 frames;"
          f" load average {load:.1f}")
    print(f"{'size':9s} | {'revision':14s} | {'wall min':>8s} {'median':>7s} | {'CPU min':>7s} {'median':>7s}"
          f" | {'cheaper (wall min, CPU min)':s}")
    for w, h in SIZES:
        for name in procs:
            t, c = times[name, w], cpu[name, w]
            ratio = (f"{min(times[args.against, w]) / min(t):.2f}x, {min(cpu[args.against, w]) / min(c):.2f}x"
                     if name != args.against else "")
            print(f"{f'{w}x{h}':9s} | {name:14s} | {min(t):8.2f} {statistics.median(t):7.2f} |"
                  f" {min(c):7.2f} {statistics.median(c):7.2f} | {ratio}")


if __name__ == "__main__":
    main()
