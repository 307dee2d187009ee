"""How fast does ``greenscreen render`` run, next to ffmpeg alone and the other ways to do it?

Generates its inputs (a noisy speaker on a green bedsheet with a voice, a UI-like screen
recording; 30 fps; ``--short-seconds`` long, looped by stream copy to the headline length
``--seconds``, 60 s: a tutorial, not a clip), then times, alternating in one run so that
changing machine load hits all alike:

* ``greenscreen``: the real command line, default preset (full-quality keyer);
* ``LIMIT``: ffmpeg alone decoding both recordings, scaling the speaker to its picture-in-picture
  size and overlaying it, no keying at all. A pipeline that decodes and encodes the same streams
  cannot beat it by much: it is the yardstick;
* ``ffmpeg-chromakey``: ffmpeg's ``chromakey`` + ``despill`` on the scaled speaker, then overlay;
* ``moviepy``: moviepy 2 (``MaskColor`` + ``CompositeVideoClip`` + ``write_videofile``).

Optional extras: ``--edit`` (an edit: title and outro cards, three segments with a crossfade
and a slide, a lower third, two redactions and a cut, beside the plain picture-in-picture
render; compare them per output frame, the ``fps`` column), ``--layouts`` (side-by-side and
full, where the speaker is large),
``--small-file`` (the small-file preset), ``--no-key`` (diagnostic: the same pipeline with the
keyer replaced by a fixed matte, to see what keying costs).

All encode H.264 with libx264 ``-preset veryfast -crf 23`` + AAC 128 kbit/s. For each it prints
the median wall time, the ratio to the LIMIT's, CPU seconds of the whole process tree, the peak
memory (RSS of the process tree, sampled with psutil) and the output bitrate, so speed is never
bought with bloated files. The headline is the 60-second tutorial; the short clip follows, and
from the two the fixed cost of a render (start-up to first frame: interpreter, imports, opening
the files) is split from the cost per frame.

``--startup`` instead times a one-second render cold (no compiled ``.pyc`` anywhere, as after
an install that did not compile them or into a read-only folder) and warm. ``--preview``
instead measures the preview's frame rate (composite view, playing, window drawing left out) on
the 1080p pair.

``--instructions`` instead counts the instructions each contender executes (valgrind's
callgrind; needs ``valgrind`` installed) on two short cuts of the clips, and splits them into
a fixed part and a part per frame, as the timed runs are split. Counted, not timed: the
figures are the same on a busy and on a quiet machine (to within about 1 %: how x264's and the
decoders' threads interleave moves their work a little), so they show a change to the
per-frame work that the timed rounds' scatter on a shared machine hides. They leave out what counting cannot see: how fast the instructions run (memory
traffic, cache misses, a second core's contention) and waiting.

``--profile`` instead shows where one render's CPU time goes (per thread and stage) next to the
LIMIT's. ``--memory`` instead renders a 1-minute and a 10-minute 1080p tutorial (inputs made by looping
the generated clips, stream copy) and compares their peak memory: it must stay flat.

Examples::

    python benchmarks/render_speed.py
    python benchmarks/render_speed.py --seconds 20 --short-seconds 5 --reps 2 --sizes 720
    python benchmarks/render_speed.py --startup
    python benchmarks/render_speed.py --preview
    python benchmarks/render_speed.py --layouts --small-file --no-moviepy
    python benchmarks/render_speed.py --memory
    python benchmarks/render_speed.py --profile
    python benchmarks/render_speed.py --instructions --sizes 720 --no-key
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the generated test media (synthetic.py)

from greenscreen.composite.layout import LayoutSettings, place_speaker

FPS = 30
ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high", "-pix_fmt", "yuv420p"]
AUDIO = ["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"]
MOVIEPY_SCRIPT = """
import sys
from moviepy import CompositeVideoClip, VideoFileClip, vfx
speaker, screen, out, w, h, x, y, r, g, b = sys.argv[1:]
scr = VideoFileClip(screen, audio=False)
spk = VideoFileClip(speaker)
pip = (
    spk.resized(new_size=(int(w), int(h)))
    .with_effects([vfx.MaskColor(color=(int(r), int(g), int(b)), threshold=60, stiffness=4)])
    .with_position((int(x), int(y)))
)
clip = CompositeVideoClip([scr, pip], size=scr.size).with_duration(scr.duration)
clip = clip.with_audio(spk.audio)
clip.write_videofile(
    out, fps=30, codec="libx264", preset="veryfast", audio_codec="aac", audio_bitrate="128k",
    ffmpeg_params=["-crf", "23", "-profile:v", "high", "-pix_fmt", "yuv420p"], logger=None,
)
for c in (clip, pip, spk, scr):
    c.close()
"""


NO_KEY_SCRIPT = """
import sys
import numpy as np
from greenscreen.key import Keyer, KeyResult
from greenscreen.pipeline import render

def key(self, frame):  # diagnostic stand-in: a fixed soft matte, no keying work
    return KeyResult(frame, np.full(frame.shape[:2], 0.5, np.float32))

Keyer.key = key
render(sys.argv[1], sys.argv[2], sys.argv[3])
"""


PROFILE_SCRIPT = """
import collections, json, sys, time
from greenscreen import pipeline
from greenscreen.compositor import Compositor
from greenscreen.io import prefetch, writer
from greenscreen.io.audio import AudioTrack
from greenscreen.key import Keyer

cpu = collections.Counter()

def timed(owner, name, label):
    inner = getattr(owner, name)
    def wrapper(*args, **kwargs):
        t = time.thread_time()
        try:
            return inner(*args, **kwargs)
        finally:
            cpu[label] += time.thread_time() - t
    setattr(owner, name, wrapper)

run = prefetch.Prefetch._run
def lane(self):
    t = time.thread_time()
    try:
        run(self)
    finally:
        cpu["lane " + self._thread.name] += time.thread_time() - t
prefetch.Prefetch._run = lane
timed(Keyer, "key", "  of which Keyer.key (speaker-key lane)")
timed(Compositor, "compose_i420", "main: composite (copy + blend)")
timed(writer.VideoWriter, "write_frame", "main: x264 encode call")
timed(writer.VideoWriter, "mux_audio", "main: mux the sound")
timed(writer.VideoWriter, "encode_audio", "  of which AAC encode (audio lane)")
timed(AudioTrack, "read", "  of which audio decode + mix, both passes")
timed(pipeline, "plan_sound", "  of which loudness pass (audio lane)")
wall, process, main = time.perf_counter(), time.process_time(), time.thread_time()
pipeline.render(sys.argv[1], sys.argv[2], sys.argv[3])
cpu["main thread, all"] = time.thread_time() - main
cpu["process, all threads"] = time.process_time() - process
cpu["wall"] = time.perf_counter() - wall
print(json.dumps(cpu))
"""


def ffmpeg() -> str:
    """The ffmpeg binary that ships with imageio-ffmpeg (never a system ffmpeg)."""
    return imageio_ffmpeg.get_ffmpeg_exe()


# ---------------------------------------------------------------------------------------------
# Inputs


def make_inputs(work: Path, height: int, seconds: float, generated: float | None = None) -> tuple[Path, Path]:
    """The speaker and screen recordings for one size, generated once and then reused; when
    ``generated`` is shorter than ``seconds``, that much is generated and looped."""
    if generated is not None and generated < seconds:
        speaker, screen = make_inputs(work, height, generated)
        return (loop_clip(speaker, work / f"speaker_{height}p_{seconds:g}s_looped.mp4", seconds),
                loop_clip(screen, work / f"screen_{height}p_{seconds:g}s_looped.mp4", seconds))
    size = (height * 16 // 9 + (height * 16 // 9) % 2, height)
    speaker = work / f"speaker_{height}p_{seconds:g}s.mp4"
    screen = work / f"screen_{height}p_{seconds:g}s.mp4"
    for path, kind in ((speaker, "speaker"), (screen, "screen")):
        if not path.exists():
            t0 = time.perf_counter()
            tmp = path.with_suffix(".partial.mp4")
            _generate(kind, tmp, size, seconds)
            tmp.replace(path)
            print(f"  generated {path.name} in {time.perf_counter() - t0:.0f} s", flush=True)
    return speaker, screen


def _generate(kind: str, path: Path, size: tuple[int, int], seconds: float) -> None:
    try:
        import synthetic
    except ImportError:  # an older checkout: ffmpeg's test sources are a fair stand-in
        _generate_lavfi(kind, path, size, seconds)
        return
    if kind == "speaker":
        synthetic.write_speaker_clip(path, size=size, fps=FPS, seconds=seconds, audio=True, seed=1)
    else:
        synthetic.write_screen_clip(path, size=size, fps=FPS, seconds=seconds, seed=2)


def _generate_lavfi(kind: str, path: Path, size: tuple[int, int], seconds: float) -> None:
    w, h = size
    if kind == "speaker":
        video = (
            f"color=c=0x3c9a46:s={w}x{h}:r={FPS}:d={seconds},format=yuv420p,"
            f"drawbox=x='{w * 0.36}+{w * 0.1}*sin(t)':y={h * 0.28}:w={w * 0.27}:h={h * 0.72}:color=0x705a50:t=fill,"
            f"drawbox=x='{w * 0.43}+{w * 0.1}*sin(t)':y={h * 0.11}:w={w * 0.15}:h={h * 0.24}:color=0xc09080:t=fill,"
            "noise=alls=6:allf=t"
        )
        extra = ["-f", "lavfi", "-i", f"sine=f=220:r=48000:d={seconds}", *AUDIO]
    else:
        video = f"testsrc2=s={w}x{h}:r={FPS}:d={seconds}"
        extra = []
    _run_quiet([ffmpeg(), "-y", "-f", "lavfi", "-i", video, *extra, *ENCODE, "-shortest", str(path)])


def loop_clip(src: Path, dst: Path, seconds: float) -> Path:
    """``src`` repeated to ``seconds`` by stream copy (instant, any length)."""
    if not dst.exists():
        tmp = dst.with_suffix(".partial.mp4")
        _run_quiet([ffmpeg(), "-y", "-stream_loop", "-1", "-i", str(src), "-t", f"{seconds:g}",
                    "-c", "copy", str(tmp)])
        tmp.replace(dst)
    return dst


def edit_file(work: Path, tag: str, seconds: float, size: tuple[int, int]) -> Path:
    """An edit for a ``seconds`` long pair at output ``size``: title and outro cards, three
    segments (the speaker full-frame, then picture-in-picture sliding in, a screen-only demo,
    back with a crossfade), a lower third, two redactions and a cut, spread over the clip."""
    w, h = size

    def at(share: float) -> str:
        return f"{share * seconds:.2f}"

    text = f"""[cards]
title = "Passwort ändern"
outro = "Fragen? IT-Hilfe"
seconds = 2

[[segment]]
from = 0
to = {at(0.15)}
layout = "full"

[[segment]]
from = {at(0.6)}
to = {at(0.8)}
layout = "screen"
transition = "slide"

[[segment]]
from = {at(0.8)}
to = {at(1.0)}
layout = "pip"
window = "rounded"
transition = "crossfade"

[[cut]]
from = {at(0.4)}
to = {at(0.42)}

[[lower_third]]
name = "Maria Muster"
role = "IT-Service"
from = {at(0.2)}
to = {at(0.3)}

[[redact]]
box = [{w // 20}, {h // 10}, {w // 4}, {h // 20}]
from = {at(0.1)}
to = {at(0.5)}

[[redact]]
box = [{w // 2}, {h // 2}, {w // 5}, {h // 25}]
"""
    path = work / f"edit_{tag}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def key_colour(speaker: Path) -> tuple[int, int, int]:
    """The sheet's RGB colour: the median of the first frame's border, for the ffmpeg and moviepy
    keyers, which need to be told (greenscreen measures it itself)."""
    with av.open(str(speaker)) as c:
        rgb = next(c.decode(video=0)).to_ndarray(format="rgb24")
    b = max(4, rgb.shape[0] // 40)
    ring = np.concatenate([rgb[:b].reshape(-1, 3), rgb[:, :b].reshape(-1, 3), rgb[:, -b:].reshape(-1, 3)])
    return tuple(int(v) for v in np.median(ring, axis=0))  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# Contenders


@dataclass
class Contender:
    """One way to make the tutorial: a name and the command that writes ``out``."""

    name: str
    command: list[str]
    out: Path
    reps: int | None = None
    """At most this many runs (moviepy is slow); None = every round."""


def contenders(
    speaker: Path,
    screen: Path,
    work: Path,
    tag: str,
    *,
    layouts: bool,
    small_file: bool,
    no_key: bool,
    moviepy: bool,
    moviepy_reps: int,
    edit: Path | None = None,
) -> list[Contender]:
    with av.open(str(screen)) as c:
        sw, sh = c.streams.video[0].width, c.streams.video[0].height
    with av.open(str(speaker)) as c:
        kw, kh = c.streams.video[0].width, c.streams.video[0].height
    p = place_speaker(LayoutSettings(), output=(sw, sh), speaker=(kw, kh))
    r, g, b = key_colour(speaker)
    hexcol = f"0x{r:02x}{g:02x}{b:02x}"

    def out(name: str) -> Path:
        return work / f"out_{tag}_{name}.mp4"

    def gs(name: str, *extra: str) -> Contender:
        o = out(name)
        return Contender(name, [sys.executable, "-m", "greenscreen", "render", str(speaker), str(screen),
                                "-o", str(o), "-q", *extra], o)

    def ff(name: str, speaker_chain: str) -> Contender:
        o = out(name)
        graph = f"[1:v]{speaker_chain}[s];[0:v][s]overlay=x={p.x}:y={p.y}[v]"
        return Contender(name, [ffmpeg(), "-y", "-loglevel", "error", "-i", str(screen), "-i", str(speaker),
                                "-filter_complex", graph, "-map", "[v]", "-map", "1:a", *ENCODE, *AUDIO,
                                "-movflags", "+faststart", str(o)], o)

    items = [
        ff("LIMIT", f"scale={p.width}:{p.height}"),
        gs("greenscreen"),
        ff("ffmpeg-chromakey",
           f"scale={p.width}:{p.height},chromakey=color={hexcol}:similarity=0.15:blend=0.1,despill=type=green"),
    ]
    if edit is not None:
        items.append(gs("gs-edit", "--edit", str(edit)))
    if layouts:
        items += [gs("gs-side-by-side", "--layout", "side-by-side"), gs("gs-full", "--layout", "full")]
    if small_file:
        items.append(gs("gs-small-file", "-p", "small-file"))
    if no_key:
        o = out("gs-no-key")
        items.append(Contender("gs-no-key", [sys.executable, "-c", NO_KEY_SCRIPT, str(speaker), str(screen), str(o)], o))
    if moviepy:
        o = out("moviepy")
        items.append(Contender("moviepy", [sys.executable, "-c", MOVIEPY_SCRIPT, str(speaker), str(screen), str(o),
                                           str(p.width), str(p.height), str(p.x), str(p.y), str(r), str(g), str(b)],
                               o, reps=moviepy_reps))
    return items


# ---------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Run:
    wall: float
    cpu: float
    peak_rss: int
    bitrate: float
    """Output video+audio bits per second."""
    frames: int


@dataclass
class Result:
    name: str
    runs: list[Run] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)


def measure(command: list[str], out: Path) -> Run:
    """Run ``command``, sampling the RSS of its whole process tree; return time, CPU and memory."""
    out.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()
    sampler = threading.Thread(target=_sample_rss, args=(proc.pid, peak, done), daemon=True)
    sampler.start()
    _, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"{shlex.join(command)} failed ({proc.returncode}):\n{tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    bitrate, frames = output_stats(out)
    return Run(wall=wall, cpu=cpu, peak_rss=peak[0], bitrate=bitrate, frames=frames)


def _sample_rss(pid: int, peak: list[int], done: threading.Event, interval: float = 0.05) -> None:
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not done.is_set():
        total = 0
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        peak[0] = max(peak[0], total)
        done.wait(interval)


def output_stats(path: Path) -> tuple[float, int]:
    """``(bits per second, video frames)`` of an output file."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        duration = float(v.duration * v.time_base) if v.duration else c.duration / av.time_base
        frames = v.frames
    return path.stat().st_size * 8 / max(duration, 1e-6), frames


def _run_quiet(command: list[str]) -> None:
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"{shlex.join(command)} failed ({proc.returncode}):\n{tail}")


# ---------------------------------------------------------------------------------------------
# Reports


def speed_table(title: str, results: list[Result], seconds: float) -> str:
    limit = next(r for r in results if r.name == "LIMIT")
    lw, lc = limit.median("wall"), limit.median("cpu")
    lines = [
        title,
        f"{'':18s} {'runs':>4s} {'wall s':>7s} {'x LIMIT':>8s} {'fps':>6s} {'x realtime':>10s} "
        f"{'CPU s':>7s} {'CPU x':>6s} {'peak MB':>8s} {'kbit/s':>7s} {'frames':>6s}",
    ]
    for r in results:
        if not r.runs:
            continue
        wall, cpu = r.median("wall"), r.median("cpu")
        frames = r.runs[0].frames
        lines.append(
            f"{r.name:18s} {len(r.runs):4d} {wall:7.2f} {wall / lw:8.2f} {frames / wall:6.1f} "
            f"{seconds / wall:10.2f} {cpu:7.2f} {cpu / lc:6.2f} {max(x.peak_rss for x in r.runs) / 2**20:8.0f} "
            f"{r.median('bitrate') / 1000:7.0f} {frames:6d}"
        )
    plain, edit = (next((r for r in results if r.name == name and r.runs), None) for name in ("greenscreen", "gs-edit"))
    if plain is not None and edit is not None:
        per_frame = (edit.median("wall") / edit.runs[0].frames) / (plain.median("wall") / plain.runs[0].frames)
        lines.append(f"  gs-edit per output frame: {per_frame * 100:.0f} % of greenscreen's wall time "
                     "(target: within 110 %)")
    lines.append(
        "  all walls (s): "
        + "; ".join(f"{r.name} " + " ".join(f"{x.wall:.1f}" for x in r.runs) for r in results if r.runs)
    )
    return "\n".join(lines)


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.platform()}, {os.cpu_count()} cores, load average {load}; Python "
        f"{platform.python_version()}, PyAV {av.__version__}, ffmpeg {imageio_ffmpeg.get_ffmpeg_version()}"
    )


# ---------------------------------------------------------------------------------------------
# Modes


def run_speed(args: argparse.Namespace, work: Path) -> None:
    lengths = [args.seconds] + ([args.short_seconds] if 0 < args.short_seconds < args.seconds else [])
    for height in args.sizes:
        medians: dict[float, list[Result]] = {}
        for seconds in lengths:
            speaker, screen = make_inputs(work, height, seconds, args.short_seconds)
            tag = f"{height}p_{seconds:g}s"
            with av.open(str(screen)) as c:
                size = (c.streams.video[0].width, c.streams.video[0].height)
            items = contenders(speaker, screen, work, tag, layouts=args.layouts,
                               small_file=args.small_file, no_key=args.no_key, moviepy=not args.no_moviepy,
                               moviepy_reps=args.moviepy_reps,
                               edit=edit_file(work, tag, seconds, size) if args.edit else None)
            results = {c.name: Result(c.name) for c in items}
            kind = "tutorial" if seconds == args.seconds else "short clip"
            print(f"\n{height}p, {seconds:g} s ({kind}), {args.reps} rounds (order rotates each round)", flush=True)
            for rep in range(args.reps):
                k = rep % len(items)
                for c in items[k:] + items[:k]:
                    if c.reps is not None and len(results[c.name].runs) >= c.reps:
                        continue
                    run = measure(c.command, c.out)
                    results[c.name].runs.append(run)
                    print(f"  round {rep + 1}: {c.name:18s} {run.wall:6.2f} s wall, {run.cpu:6.2f} s CPU, "
                          f"{run.peak_rss / 2**20:5.0f} MB, {run.bitrate / 1000:5.0f} kbit/s", flush=True)
            print()
            print(speed_table(f"== {height}p, {seconds:g} s {kind}: medians ==", list(results.values()), seconds))
            print(f"  load now: {', '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
            medians[seconds] = list(results.values())
        if len(medians) == 2:
            print(fixed_cost_table(height, *medians.values()), flush=True)


def fixed_cost_table(height: int, long: list[Result], short: list[Result]) -> str:
    """Each contender's time split into a fixed cost per render (start-up to first frame) and
    a cost per frame: a straight line through the long and the short run, once through the
    fastest walls (least disturbed by other load) and once through the median CPU seconds.
    On a busy machine the split is only as good as the two runs agree; ``--startup`` measures
    the fixed cost directly."""
    lines = [f"== {height}p: fixed cost per render and cost per frame (line through both lengths) ==",
             f"{'':18s} {'fixed s':>8s} {'ms/frame':>9s} {'x LIMIT':>8s} | {'fixed CPU s':>11s} {'CPU ms/frame':>12s}"
             f" {'x LIMIT':>8s}"]
    rows = []
    for a in long:
        b = next((r for r in short if r.name == a.name), None)
        if b is None or not a.runs or not b.runs or a.runs[0].frames == b.runs[0].frames:
            continue
        n_long, n_short = a.runs[0].frames, b.runs[0].frames
        walls = min(x.wall for x in a.runs), min(x.wall for x in b.runs)
        cpus = a.median("cpu"), b.median("cpu")
        split = []
        for t_long, t_short in (walls, cpus):
            slope = (t_long - t_short) / (n_long - n_short)
            split += [t_short - slope * n_short, slope]
        rows.append((a.name, *split))
    limit = next((r for r in rows if r[0] == "LIMIT"), None)
    for name, fixed, slope, cfixed, cslope in rows:
        ratio = slope / limit[2] if limit else float("nan")
        cratio = cslope / limit[4] if limit else float("nan")
        lines.append(f"{name:18s} {fixed:8.2f} {slope * 1000:9.2f} {ratio:8.2f} | {cfixed:11.2f} "
                     f"{cslope * 1000:12.2f} {cratio:8.2f}")
    return "\n".join(lines)


STARTUP_RUNS = 3


def run_startup(args: argparse.Namespace, work: Path) -> None:
    """Wall time of a one-second render (start-up dominates): cold, with an empty bytecode
    cache folder (every module of greenscreen and its dependencies compiled from source, as on
    the first run after an install that left no ``.pyc``), then warm."""
    for height in args.sizes:
        speaker, screen = make_inputs(work, height, args.short_seconds)
        out = work / f"out_{height}p_startup.mp4"
        command = [sys.executable, "-m", "greenscreen", "render", str(speaker), str(screen), "-o", str(out), "-q",
                   "--end", "1"]
        warm_cache = os.environ["PYTHONPYCACHEPREFIX"]
        with tempfile.TemporaryDirectory() as cache:
            os.environ["PYTHONPYCACHEPREFIX"] = cache
            try:
                cold = measure(command, out)
            finally:
                os.environ["PYTHONPYCACHEPREFIX"] = warm_cache
        warm = [measure(command, out) for _ in range(STARTUP_RUNS)]
        print(f"{height}p, 1 s render ({cold.frames} frames): cold {cold.wall:.2f} s, warm "
              f"{statistics.median(r.wall for r in warm):.2f} s (median of {STARTUP_RUNS}; "
              f"{' '.join(f'{r.wall:.2f}' for r in warm)})", flush=True)


def run_preview(args: argparse.Namespace, work: Path) -> None:
    """Frames per second the preview composes while playing the 1080p pair (composite view;
    the window's own drawing, imshow, left out)."""
    from greenscreen.config import RenderSettings
    from greenscreen.preview.source import PreviewSource
    from greenscreen.preview.state import PreviewState

    speaker, screen = make_inputs(work, 1080, args.short_seconds)
    source = PreviewSource.open(speaker, screen, RenderSettings())
    try:
        state = PreviewState(source)
        state.display()  # first frame: opening, indexing
        frames = min(150, state.frame_count - 1)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(frames):
            state.index += 1  # what tick() does while playing, without waiting for the clock
            state.display()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        source.close()
    print(f"preview, 1080p pair, composite view, {frames} frames: {frames / wall:.1f} fps "
          f"({wall / frames * 1000:.1f} ms a frame wall, {cpu / frames * 1000:.1f} ms CPU, all threads)")


def run_memory(args: argparse.Namespace, work: Path) -> None:
    speaker, screen = make_inputs(work, 1080, args.short_seconds)
    what = " with the --edit edit" if args.edit else ""
    print(f"\nmemory: 1080p{what}, inputs looped from the {args.short_seconds:g} s clips", flush=True)
    peaks: dict[float, Run] = {}
    for minutes in args.memory_minutes:
        secs = minutes * 60
        spk = loop_clip(speaker, work / f"speaker_1080p_{minutes:g}min.mp4", secs)
        scr = loop_clip(screen, work / f"screen_1080p_{minutes:g}min.mp4", secs)
        out = work / f"out_memory_{minutes:g}min.mp4"
        extra = ["--edit", str(edit_file(work, f"memory_{minutes:g}min", secs, (1920, 1080)))] if args.edit else []
        run = measure([sys.executable, "-m", "greenscreen", "render", str(spk), str(scr), "-o", str(out), "-q",
                       *extra], out)
        peaks[minutes] = run
        print(f"  {minutes:g} min: peak RSS {run.peak_rss / 2**20:.0f} MB, {run.wall:.0f} s wall "
              f"({secs / run.wall:.2f}x real time), {run.cpu:.0f} s CPU, {run.frames} frames, "
              f"{run.bitrate / 1000:.0f} kbit/s", flush=True)
    first, last = peaks[args.memory_minutes[0]], peaks[args.memory_minutes[-1]]
    growth = last.peak_rss / first.peak_rss - 1
    verdict = "flat" if abs(growth) <= 0.10 and last.peak_rss <= 600 * 2**20 else "NOT flat / over 600 MB"
    print(f"  peak memory {args.memory_minutes[-1]:g} min vs {args.memory_minutes[0]:g} min: "
          f"{growth * 100:+.1f}% ({verdict}; limits: within 10%, at most 600 MB)")


def run_profile(args: argparse.Namespace, work: Path) -> None:
    """Where greenscreen's CPU time goes, per thread and stage, next to the LIMIT's total."""
    for height in args.sizes:
        speaker, screen = make_inputs(work, height, args.seconds, args.short_seconds)
        limit = next(c for c in contenders(speaker, screen, work, f"{height}p", layouts=False, small_file=False,
                                           no_key=False, moviepy=False, moviepy_reps=0) if c.name == "LIMIT")
        limit_run = measure(limit.command, limit.out)
        out = work / f"out_{height}p_profile.mp4"
        proc = subprocess.run([sys.executable, "-c", PROFILE_SCRIPT, str(speaker), str(screen), str(out)],
                              check=True, capture_output=True, text=True)
        cpu = json.loads(proc.stdout.strip().splitlines()[-1])
        frames = output_stats(out)[1]
        known = sum(v for k, v in cpu.items() if k.startswith("lane ")) + cpu["main thread, all"]
        print(f"\n{height}p, {args.seconds:g} s, {frames} frames: CPU seconds (ms per output frame)")
        print(f"  LIMIT (ffmpeg, whole process)      {limit_run.cpu:6.2f} s  {limit_run.wall:5.2f} s wall")
        print(f"  greenscreen, whole process         {cpu['process, all threads']:6.2f} s  {cpu['wall']:5.2f} s wall "
              "(in-process, without interpreter start-up)")
        rows = [(k, v) for k, v in cpu.items() if k.startswith(("lane ", "main", "  of"))]
        rows.append(("x264, decoder and OpenCV worker threads", cpu["process, all threads"] - known))
        for name, secs in rows:
            if name in ("main thread, all",):
                continue
            print(f"    {name:40s} {secs:6.2f} s  ({secs / frames * 1000:5.2f} ms)")
        print(f"    {'main thread, all':40s} {cpu['main thread, all']:6.2f} s")


#: Lengths in seconds of the two cuts --instructions counts: the difference of the two is the
#: cost of the frames between, the rest the fixed cost (start-up, opening, flushing).
INSTRUCTION_CUTS = (2.0, 6.0)


def run_instructions(args: argparse.Namespace, work: Path) -> None:
    """Instructions executed by the LIMIT and greenscreen (and gs-no-key with ``--no-key``),
    counted by callgrind on two cuts of the short clips: fixed and per frame, and both
    projected onto the headline length."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        sys.exit("render_speed: --instructions needs valgrind (Debian: apt-get install valgrind)")
    names = ("LIMIT", "greenscreen", "gs-no-key")
    for height in args.sizes:
        speaker, screen = make_inputs(work, height, args.short_seconds)
        counts: dict[str, list[tuple[int, int]]] = {}
        for seconds in INSTRUCTION_CUTS:
            spk = loop_clip(speaker, work / f"speaker_{height}p_{seconds:g}s_cut.mp4", seconds)
            scr = loop_clip(screen, work / f"screen_{height}p_{seconds:g}s_cut.mp4", seconds)
            for c in contenders(spk, scr, work, f"{height}p_{seconds:g}s_counted", layouts=False,
                                small_file=False, no_key=args.no_key, moviepy=False, moviepy_reps=0):
                if c.name in names:
                    counts.setdefault(c.name, []).append((instructions(valgrind, c.command), output_stats(c.out)[1]))
        headline = round(args.seconds * FPS)
        rows = []
        for name in names:
            if name not in counts:
                continue
            (short, n_short), (long, n_long) = counts[name]
            per_frame = (long - short) / (n_long - n_short)
            rows.append((name, short - per_frame * n_short, per_frame))
        _, limit_fixed, limit_frame = rows[0]
        print(f"\n{height}p: instructions counted by callgrind on {INSTRUCTION_CUTS[0]:g} s and "
              f"{INSTRUCTION_CUTS[1]:g} s cuts (not timed: the same on a busy machine)")
        print(f"{'':18s} {'fixed (G)':>10s} {'per frame (M)':>14s} {'x LIMIT':>8s} | "
              f"{f'{args.seconds:g} s tutorial (G)':>22s} {'x LIMIT':>8s}")
        for name, fixed, per_frame in rows:
            total = fixed + per_frame * headline
            print(f"{name:18s} {fixed / 1e9:10.2f} {per_frame / 1e6:14.1f} {per_frame / limit_frame:8.2f} | "
                  f"{total / 1e9:22.1f} {total / (limit_fixed + limit_frame * headline):8.2f}", flush=True)


def instructions(valgrind: str, command: list[str]) -> int:
    """Instructions ``command`` executes, all threads (callgrind runs them one at a time)."""
    proc = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
                          capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"{shlex.join(command)} failed under valgrind ({proc.returncode}):\n{tail}")
    return int(found.group(1))


def warm_bytecode(work: Path) -> None:
    """Let every greenscreen run find its modules compiled, as after ``pip install .`` (which
    compiles them): an editable install has no ``.pyc`` of its own, and where
    ``PYTHONDONTWRITEBYTECODE`` is set (as on this project's shared machines) every timed run
    compiled the whole package afresh, about 0.1-0.2 s of each render's fixed cost. The bytecode
    goes to a folder of the benchmark's own, not into the checkout; ``--startup`` still times a
    cold start with an empty one."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    _run_quiet([sys.executable, "-c", "import greenscreen.cli, greenscreen.pipeline, greenscreen.preview.state"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="headline length (a tutorial), looped")
    parser.add_argument("--short-seconds", type=float, default=10.0,
                        help="length of the generated clips, also timed as the short clip (0: not timed)")
    parser.add_argument("--reps", type=int, default=3, help="rounds; each round runs every contender once")
    parser.add_argument("--sizes", default="1080,720", help="output heights, comma-separated")
    parser.add_argument("--layouts", action="store_true", help="also time --layout side-by-side and full")
    parser.add_argument("--edit", action="store_true",
                        help="also time an edit (cards, 3 segments, lower third, 2 redactions, a cut); "
                        "with --memory, render that edit")
    parser.add_argument("--small-file", action="store_true", help="also time the small-file preset")
    parser.add_argument("--no-key", action="store_true",
                        help="diagnostic: also time the render pipeline with keying replaced by a fixed "
                        "matte, to split the cost between the keyer and decode/composite/encode")
    parser.add_argument("--no-moviepy", action="store_true", help="leave out moviepy (about 14x the LIMIT)")
    parser.add_argument("--moviepy-reps", type=int, default=1, help="moviepy runs per size (it is slow)")
    parser.add_argument("--memory", action="store_true", help="measure peak memory of long renders instead")
    parser.add_argument("--profile", action="store_true",
                        help="instead: CPU seconds per thread and stage of one render, beside the LIMIT's")
    parser.add_argument("--memory-minutes", default="1,10", help="tutorial lengths for --memory")
    parser.add_argument("--startup", action="store_true", help="instead: cold and warm start of a 1 s render")
    parser.add_argument("--instructions", action="store_true",
                        help="instead: instructions counted by valgrind, fixed and per frame (not timed)")
    parser.add_argument("--preview", action="store_true", help="instead: the preview's frame rate, 1080p pair")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "greenscreen-render-speed",
                        help="folder for inputs (kept and reused) and outputs")
    args = parser.parse_args()
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s]
    args.memory_minutes = [float(s) for s in str(args.memory_minutes).split(",") if s]
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"render_speed: {machine()}")
    print(f"work folder {args.work}; encoder for all: {' '.join(ENCODE)} {' '.join(AUDIO)}", flush=True)
    warm_bytecode(args.work)
    if args.memory:
        run_memory(args, args.work)
    elif args.startup:
        run_startup(args, args.work)
    elif args.preview:
        run_preview(args, args.work)
    elif args.profile:
        run_profile(args, args.work)
    elif args.instructions:
        run_instructions(args, args.work)
    else:
        run_speed(args, args.work)


if __name__ == "__main__":
    main()
