"""``greenscreen batch``: pairing, settings validation, resumability, failure isolation, Dask.

The recordings are tiny clips made once per session with FFmpeg's test sources (a box on a green
field for the speaker, ``testsrc`` for the screen) and copied into a fresh folder per test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from click.testing import CliRunner

from conftest import run_ffmpeg, signals_as_in_a_terminal
from greenscreen.batch import BatchConfigError, find_tutorials, plan_batch
from greenscreen.cli import main
from greenscreen.errors import GreenscreenError

SECONDS = 1.2


@pytest.fixture(scope="session")
def batch_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One speaker and one screen clip in several containers, plus a truncated (corrupt) copy."""
    d = tmp_path_factory.mktemp("batch_clips")
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    run_ffmpeg(
        "-f", "lavfi", "-i",
        f"color=c=0x30b040:s=160x120:r=25:d={SECONDS},"
        "drawbox=x='40+20*sin(t*4)':y=30:w=60:h=90:color=0xc08060:t=fill",
        "-f", "lavfi", "-i", f"sine=f=440:d={SECONDS}",
        *x264, "-c:a", "aac", "-shortest", str(d / "speaker.mp4"),
    )
    run_ffmpeg("-f", "lavfi", "-i", f"testsrc=s=320x180:r=25:d={SECONDS}", *x264, str(d / "screen.mkv"))
    run_ffmpeg("-f", "lavfi", "-i", "color=c=0x30b040:s=160x120:r=25:d=0.5", *x264, str(d / "plate.mp4"))
    run_ffmpeg("-i", str(d / "speaker.mp4"), "-c", "copy", str(d / "speaker.mov"))
    run_ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=s=320x180:r=25:d={SECONDS}",
        "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "300k", str(d / "screen.webm"),
    )
    data = (d / "speaker.mp4").read_bytes()
    (d / "corrupt.mp4").write_bytes(data[: len(data) // 3])  # moov atom is at the end: unreadable
    return {p.stem + p.suffix: p for p in d.iterdir()}


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


@pytest.fixture
def recordings(tmp_path: Path, batch_clips: dict[str, Path]) -> Path:
    """alpha (flat, upper-case .MKV), beta (sub-folder, mov + webm), gamma (flat, with a
    batch.toml override), broken (corrupt speaker), lonely (unpaired) and notes.txt."""
    rec = tmp_path / "recordings"
    _copy(batch_clips["speaker.mp4"], rec / "alpha.speaker.mp4")
    _copy(batch_clips["screen.mkv"], rec / "alpha.screen.MKV")
    _copy(batch_clips["speaker.mov"], rec / "beta" / "Speaker.mov")
    _copy(batch_clips["screen.webm"], rec / "beta" / "screen.webm")
    _copy(batch_clips["speaker.mp4"], rec / "gamma.speaker.mp4")
    _copy(batch_clips["screen.mkv"], rec / "gamma.screen.mkv")
    _copy(batch_clips["corrupt.mp4"], rec / "broken.speaker.mp4")
    _copy(batch_clips["screen.mkv"], rec / "broken.screen.mkv")
    _copy(batch_clips["screen.mkv"], rec / "lonely.screen.mkv")
    (rec / "notes.txt").write_text("remember to re-record gamma\n")
    (rec / "batch.toml").write_text(
        '[tutorials.gamma]\ntitle = "Gamma: the override"\ntrim = [0.2, 1.0]\nlayout = "circle"\n'
    )
    return rec


def run_cli(*args: str | Path) -> tuple[int, str]:
    """Run ``greenscreen`` in-process; return exit code and everything it printed."""
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def video_info(path: Path) -> dict[str, object]:
    """Codec names, frame count and duration of a rendered file (decoding every frame)."""
    with av.open(str(path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        frames = sum(1 for _ in c.decode(v))
        return {
            "video": v.codec_context.name,
            "audio": a.codec_context.name,
            "size": (v.width, v.height),
            "frames": frames,
            "duration": float(v.duration * v.time_base),
            "title": c.metadata.get("title", ""),
        }


def report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def statuses(out: Path) -> dict[str, str]:
    return {t["name"]: t["status"] for t in report(out)["tutorials"]}


# ---------------------------------------------------------------------------------------------
# Pairing and validation (no rendering)
# ---------------------------------------------------------------------------------------------


def test_pairing_rule_flat_and_subfolders(recordings: Path) -> None:
    found = find_tutorials(recordings)
    by_name = {t.name: t for t in found.tutorials}
    assert set(by_name) == {"alpha", "beta", "broken", "gamma", "lonely"}
    assert by_name["alpha"].screen == recordings / "alpha.screen.MKV"
    assert by_name["beta"].speaker == recordings / "beta" / "Speaker.mov"
    assert by_name["lonely"].problem() == "no speaker recording"
    assert [u.path.name for u in found.unrecognised] == ["notes.txt"]
    assert found.batch_file == recordings / "batch.toml"


def test_pairing_reports_ambiguous_and_stray_files(tmp_path: Path) -> None:
    for name in ("a.speaker.mp4", "a.speaker.mkv", "a.screen.mp4", "b.speaker.mp4", "b.screen.mp4",
                 "b/speaker.mp4", "b/screen.mp4", "c/speaker.mp4", "c/screen.mp4", "c/extra.mp4",
                 "talk.mp4", ".hidden.speaker.mp4", "orphan.toml"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    found = find_tutorials(tmp_path)
    by_name = {t.name: t for t in found.tutorials}
    assert "more than one speaker" in by_name["a"].problem()
    assert "both as b.* files and as a b/ folder" in by_name["b"].problem()
    assert by_name["c"].complete
    assert {u.path.name for u in found.unrecognised} == {"extra.mp4", "talk.mp4", "orphan.toml"}


def test_names_in_either_unicode_form_are_one_tutorial(tmp_path: Path) -> None:
    """macOS writes "ü" as u + combining diaeresis (NFD), Windows and Linux as one character
    (NFC): a pair copied from both, and a batch.toml typed on either, belong together."""
    import unicodedata

    nfc, nfd = unicodedata.normalize("NFC", "Grüße"), unicodedata.normalize("NFD", "Grüße")
    assert nfc != nfd
    for name in (f"{nfd}.speaker.mp4", f"{nfc}.screen.mp4", f"{nfd}.de.srt", f"{nfc}.toml",
                 "Bäder/speaker.mp4", unicodedata.normalize("NFD", "Bäder") + ".screen.mp4"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"" if name.endswith(".toml") else b"\0")  # an empty recording is a failed upload
    found = find_tutorials(tmp_path)
    by_name = {t.name: t for t in found.tutorials}
    assert set(by_name) == {nfc, "Bäder"} and not found.unrecognised
    assert by_name[nfc].complete and by_name[nfc].get("captions") == tmp_path / f"{nfd}.de.srt"
    assert by_name[nfc].settings_file == tmp_path / f"{nfc}.toml"
    assert "both as" in by_name["Bäder"].problem(), "flat and folder of one name clash whatever the form"

    # The table typed in the other form is no typo: it reaches the tutorial.
    (tmp_path / "Bäder").rename(tmp_path / "Bad")
    (tmp_path / "batch.toml").write_text(f'[tutorials."{nfd}".encode]\ncrf = 30\n', encoding="utf-8")
    (tmp_path / f"{nfc}.toml").unlink()
    plan = plan_batch(tmp_path, tmp_path / "out")
    (entry,) = [e for e in plan.entries if e.name == nfc]
    assert entry.action == "render" and entry.job.settings.encode.crf == 30
    # The same table twice, once in each form, is one too many.
    (tmp_path / "batch.toml").write_text(
        f'[tutorials."{nfd}".encode]\ncrf = 30\n[tutorials."{nfc}".encode]\ncrf = 20\n', encoding="utf-8")
    with pytest.raises(BatchConfigError, match="a second table"):
        plan_batch(tmp_path, tmp_path / "out")


def test_bad_settings_are_all_reported_before_rendering(recordings: Path, tmp_path: Path) -> None:
    (recordings / "batch.toml").write_text(
        'preset = "no-such-preset"\n'
        "[layout]\ncorner = \"middle\"\n"
        "[tutorials.alpha]\nofset = 2\n"
        "[tutorials.gama]\ntitle = \"typo\"\n"
    )
    (recordings / "beta" / "settings.toml").write_text("[key]\ntolerance = 5\n")
    (recordings / "gamma.toml").write_text("trim = [3, 1]\n")
    out = tmp_path / "out"
    code, text = run_cli("batch", recordings, "-o", out)
    assert code == 2
    for expected in (  # one line per problem: file, line, table and key, what is allowed
        "batch.toml: line 1: unknown preset 'no-such-preset'",
        "batch.toml: line 3: [layout] 'corner' must be one of",
        "batch.toml: line 5: [tutorials.alpha] unknown key 'ofset' (did you mean 'offset'?)",
        "batch.toml: line 6: [tutorials.gama] no tutorial named 'gama' in the folder (did you mean 'gamma'?)",
        "settings.toml: line 2: [key] 'tolerance' must be between 0 and 1, got 5",
        "gamma.toml: line 1: trim end 1 s is not after start 3 s",
    ):
        assert f"{recordings}{os.sep}" in text and expected in text, text
    assert len(text.splitlines()) == 7
    assert not out.exists()  # nothing was rendered, not even the folder made
    # A bad trim is only known once the layers are combined; still before rendering.
    (recordings / "batch.toml").unlink()
    (recordings / "beta" / "settings.toml").unlink()
    with pytest.raises(BatchConfigError, match="trim end 1 s is not after start 3 s"):
        plan_batch(recordings, out)


def test_presets_combine_and_a_broken_preset_is_reported_in_its_file(recordings: Path, tmp_path: Path) -> None:
    (recordings / "batch.toml").write_text(
        'preset = "dim-room"\n[tutorials.alpha]\npreset = ["dim-room", "side-by-side"]\n'
    )
    plan = plan_batch(recordings, tmp_path / "out")
    jobs = {e.name: e.job for e in plan.entries if e.job is not None}
    assert jobs["alpha"].settings.layout.layout == "side-by-side"
    assert jobs["alpha"].settings.key.tolerance == 0.15 == jobs["beta"].settings.key.tolerance
    assert jobs["beta"].settings.layout.layout == "pip"
    # --preset replaces the folder's preset, not a tutorial's own.
    plan = plan_batch(recordings, tmp_path / "out", preset=("side-by-side",))
    jobs = {e.name: e.job for e in plan.entries if e.job is not None}
    assert jobs["beta"].settings.layout.layout == "side-by-side"
    assert jobs["beta"].settings.key.tolerance == 0.1  # dim-room no longer applies
    assert jobs["alpha"].settings.key.tolerance == 0.15

    bad = tmp_path / "bad.toml"
    bad.write_text("[layout]\ncorner = 5\n")
    (recordings / "gamma.toml").write_text(f'preset = "{bad}"\n')
    with pytest.raises(BatchConfigError) as info:
        plan_batch(recordings, tmp_path / "out")
    (problem,) = info.value.problems
    assert problem.file == bad and "corner" in problem.reason


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    code, text = run_cli("batch", tmp_path / "missing", "-o", tmp_path / "out")
    assert code == 2
    (tmp_path / "rec").mkdir()
    code, text = run_cli("batch", tmp_path / "rec", "-o", tmp_path / "rec")
    assert code == 2 and "separate folder" in text
    # The same folder spelled otherwise: through "..", or a link to it.
    (tmp_path / "link").symlink_to(tmp_path / "rec")
    for spelled in (tmp_path / "rec" / ".." / "rec", tmp_path / "link"):
        code, text = run_cli("batch", tmp_path / "rec", "-o", spelled)
        assert code == 2 and "separate folder" in text, spelled
    code, text = run_cli("batch", tmp_path / "rec", "-o", tmp_path / "out", "--scheduler", "nonsense")
    assert code == 2 and "tcp://HOST:PORT" in text


def test_scheduler_without_dask_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    from greenscreen.batch.runner import dask_executor

    with pytest.raises(GreenscreenError, match=r"pip install 'greenscreen\[cluster\]'"):
        with dask_executor("tcp://127.0.0.1:1"):
            pass


def test_unreachable_scheduler_is_one_line_error() -> None:
    pytest.importorskip("distributed")
    from greenscreen.batch.runner import dask_executor

    with pytest.raises(GreenscreenError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:1 "):
        with dask_executor("tcp://127.0.0.1:1", wait_seconds=1):
            pass


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def test_batch_renders_isolates_failure_and_resumes(recordings: Path, tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    code, text = run_cli("batch", recordings, "-o", out, "--dry-run")
    assert code == 0 and not out.exists()
    assert "would render  alpha" in text and "unpaired      lonely" in text and "notes.txt" in text

    code, text = run_cli("batch", recordings, "-o", out, "--jobs", "2")
    assert code == 1, text  # broken failed, the rest rendered
    assert statuses(out) == {"alpha": "rendered", "beta": "rendered", "broken": "failed", "gamma": "rendered"}
    rep = report(out)
    broken = next(t for t in rep["tutorials"] if t["name"] == "broken")
    assert "broken.speaker.mp4" in broken["reason"]
    assert broken["inputs"]["speaker"] == str(recordings / "broken.speaker.mp4")
    assert [u["name"] for u in rep["unpaired"]] == ["lonely"]
    assert rep["unrecognised"][0]["path"].endswith("notes.txt")
    assert sorted(p.name for p in out.glob("*.mp4")) == ["alpha.mp4", "beta.mp4", "gamma.mp4"]
    assert not list(out.glob("*partial*")) and not list(out.glob("*.progress"))

    alpha = video_info(out / "alpha.mp4")
    assert alpha["video"] == "h264" and alpha["audio"] == "aac" and alpha["size"] == (320, 180)
    assert abs(alpha["duration"] - SECONDS) < 0.1 and alpha["title"] == "alpha"
    assert abs(video_info(out / "beta.mp4")["duration"] - SECONDS) < 0.1
    gamma = video_info(out / "gamma.mp4")  # the per-tutorial override: trim and title
    assert abs(gamma["duration"] - 0.8) < 0.1 and gamma["title"] == "Gamma: the override"
    assert "FAILED" in text and "broken" in text and "rendered      alpha" in text

    # Rerun: everything up to date is skipped; without the broken pair the exit code is 0.
    (recordings / "broken.speaker.mp4").unlink()
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")}
    code, text = run_cli("batch", recordings, "-o", out)
    assert code == 0, text
    assert statuses(out) == {"alpha": "skipped", "beta": "skipped", "gamma": "skipped"}
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")} == mtimes

    # A changed override re-renders that tutorial only; a replaced recording re-renders its own.
    (recordings / "batch.toml").write_text('[tutorials.gamma]\ntitle = "Gamma, retitled"\n')
    _copy(recordings / "gamma.screen.mkv", recordings / "beta" / "screen.webm")
    code, text = run_cli("batch", recordings, "-o", out, "--dry-run")
    text = " ".join(text.split())  # column widths depend on the names
    assert "would render beta recording changed (screen)" in text
    assert "would render gamma settings changed" in text and "skip alpha up to date" in text
    code, text = run_cli("batch", recordings, "-o", out)
    assert code == 0, text
    assert statuses(out) == {"alpha": "skipped", "beta": "rendered", "gamma": "rendered"}
    assert video_info(out / "gamma.mp4")["title"] == "Gamma, retitled"

    # A folder-wide preset that changes a setting re-renders everything; --force re-renders all.
    preset = tmp_path / "smaller.toml"
    preset.write_text("[encode]\ncrf = 30\n")
    code, text = run_cli("batch", recordings, "-o", out, "--dry-run", "--preset", preset)
    assert " ".join(text.split()).count("settings changed") == 3, text
    code, text = run_cli("batch", recordings, "-o", out, "--force", "-q")
    assert code == 0 and set(statuses(out).values()) == {"rendered"}


def test_killed_batch_leaves_no_partial_output_and_rerun_completes(
    batch_clips: dict[str, Path], tmp_path: Path
) -> None:
    rec, out = tmp_path / "rec", tmp_path / "out"
    names = [f"t{i}" for i in range(4)]
    for name in names:
        _copy(batch_clips["speaker.mp4"], rec / f"{name}.speaker.mp4")
        _copy(batch_clips["screen.mkv"], rec / f"{name}.screen.mkv")
    cmd = [sys.executable, "-m", "greenscreen", "batch", str(rec), "-o", str(out), "--jobs", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Kill it while the second tutorial is being written: one done, one half-written.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if list(out.glob("t0.mp4")) and list(out.glob(".t1.*partial*")):
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the batch finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    time.sleep(1.0)  # the worker notices its parent died (PDEATHSIG) and exits
    finals = sorted(p.name for p in out.glob("*.mp4"))
    assert "t0.mp4" in finals and len(finals) < len(names)
    for name in finals:  # whatever is at a final path is a complete video
        assert abs(video_info(out / name)["duration"] - SECONDS) < 0.1

    code, text = run_cli("batch", rec, "-o", out, "--jobs", "2")
    assert code == 0, text
    st = statuses(out)
    # t1 was half-written when the batch died; on a loaded machine its worker may still finish
    # it in the instant before the parent's death reaches it: then it is complete and skipped.
    assert st["t0"] == "skipped" and st["t1"] == ("skipped" if "t1.mp4" in finals else "rendered")
    assert sorted(p.name for p in out.glob("*.mp4")) == [f"{n}.mp4" for n in names]
    assert not [p for p in out.iterdir() if "partial" in p.name or p.name.endswith(".progress")]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_batch_stops_cleanly(batch_clips: dict[str, Path], tmp_path: Path, sig: int) -> None:
    rec, out = tmp_path / "rec", tmp_path / "out"
    for name in ("i0", "i1"):
        _copy(batch_clips["speaker.mp4"], rec / f"{name}.speaker.mp4")
        _copy(batch_clips["screen.mkv"], rec / f"{name}.screen.mkv")
    cmd = [sys.executable, "-m", "greenscreen", "batch", str(rec), "-o", str(out), "--jobs", "1"]
    # A session of its own: SIGINT goes to the whole process group, as Ctrl-C in a terminal does.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, preexec_fn=signals_as_in_a_terminal)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(out.glob(".i0.*.partial.mp4")):
            time.sleep(0.01)
        os.killpg(proc.pid, sig) if sig == signal.SIGINT else proc.send_signal(sig)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -sig, output  # died of it after the report: the shell shows 128 + sig
    assert "run the same command again" in output
    assert report(out)["interrupted"] is True
    # On a loaded machine i0 (a short clip) may finish in the instant before the stop reaches
    # its worker; then it is complete and reported so. Never a partial file, never a finished
    # tutorial reported as interrupted.
    status = statuses(out)
    assert status["i1"] == "interrupted"
    left = sorted(p.name for p in out.iterdir())
    if status["i0"] == "interrupted":
        assert left == [".greenscreen-batch.lock", "report.json"]
    else:
        assert status["i0"] == "rendered"
        assert left == [".greenscreen-batch.lock", ".i0.mp4.json", "i0.mp4", "report.json"]


def test_killed_worker_is_retried(batch_clips: dict[str, Path], tmp_path: Path) -> None:
    rec, out = tmp_path / "rec", tmp_path / "out"
    for name in ("w0", "w1"):
        _copy(batch_clips["speaker.mp4"], rec / f"{name}.speaker.mp4")
        _copy(batch_clips["screen.mkv"], rec / f"{name}.screen.mkv")
    cmd = [sys.executable, "-m", "greenscreen", "batch", str(rec), "-o", str(out), "--jobs", "2", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        progress = out / ".w0.mp4.progress"
        deadline = time.monotonic() + 60
        pid = None
        while time.monotonic() < deadline and pid is None:
            try:
                pid = json.loads(progress.read_text())["pid"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.01)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert statuses(out) == {"w0": "rendered", "w1": "rendered"}
    w0, w1 = report(out)["tutorials"]
    # Beside the note that the screen recordings, without sound, could not be synced:
    unsynced = "not synced by sound (the screen recording has no sound); the speaker starts at 0 s, set its offset in batch.toml"
    assert [n for n in w0["notes"] if not n.startswith(unsynced)] == [
        "the worker process rendering it died 1 time(s); retried"]
    # Its worker was only stopped with the broken pool: not its fault.
    assert [n for n in w1["notes"] if not n.startswith(unsynced)] == []
    assert not [p for p in out.iterdir() if "partial" in p.name or p.name.endswith(".progress")]


def test_library_api_with_plate_clip(batch_clips: dict[str, Path], tmp_path: Path) -> None:
    from greenscreen.batch import run_plan

    # A name with a space and an umlaut; the output folder inside the recordings folder.
    rec = tmp_path / "rec"
    out = rec / "rendered"
    tut = rec / "Schritt für Schritt"
    _copy(batch_clips["speaker.mp4"], tut / "speaker.mp4")
    _copy(batch_clips["screen.mkv"], tut / "screen.mkv")
    _copy(batch_clips["plate.mp4"], tut / "PLATE.MP4")
    plan = plan_batch(rec, out)
    (entry,) = plan.entries
    assert entry.action == "render" and entry.job.plate == tut / "PLATE.MP4"
    events = []
    result = run_plan(plan, jobs=1, on_event=events.append)
    assert result.exit_code == 0 and result.outcomes[0].status == "rendered"
    assert type(events[-1]).__name__ == "JobFinished"
    assert video_info(out / "Schritt für Schritt.mp4")["title"] == "Schritt für Schritt"
    # The output folder is not mistaken for a tutorial folder full of unrecognised files ...
    again = plan_batch(rec, out)
    assert again.unrecognised == [] and again.entries[0].action == "skip"
    # ... and the plate is part of the fingerprint: replacing it re-renders.
    _copy(batch_clips["speaker.mp4"], tut / "PLATE.MP4")
    assert plan_batch(rec, out).entries[0].reason == "recording changed (plate)"


# ---------------------------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------------------------


def test_dask_cluster_renders_the_same(batch_clips: dict[str, Path], tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    rec = tmp_path / "rec"
    for name in ("d0", "d1", "d2"):
        _copy(batch_clips["speaker.mp4"], rec / f"{name}.speaker.mp4")
        _copy(batch_clips["screen.mkv"], rec / f"{name}.screen.mkv")
    (rec / "d2.toml").write_text('layout = "side-by-side"\n')
    local_out, dask_out = tmp_path / "local", tmp_path / "dask"
    code, text = run_cli("batch", rec, "-o", local_out, "--jobs", "2", "-q")
    assert code == 0, text
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        code, text = run_cli("batch", rec, "-o", dask_out, "--scheduler", cluster.scheduler_address, "-q")
        assert code == 0, text
        rep = report(dask_out)
        assert rep["executor"].startswith("dask ") and statuses(dask_out) == {
            "d0": "rendered", "d1": "rendered", "d2": "rendered"
        }
        # Fingerprints are interchangeable: a local rerun into the Dask output skips everything.
        code, text = run_cli("batch", rec, "-o", dask_out, "-q")
        assert code == 0 and set(statuses(dask_out).values()) == {"skipped"}
    for name in ("d0.mp4", "d1.mp4", "d2.mp4"):
        assert video_info(local_out / name) == video_info(dask_out / name)


def test_stopped_dask_batch_stops_the_renders_on_the_cluster(batch_clips: dict[str, Path], tmp_path: Path) -> None:
    """Ctrl-C reached only the batch: the render on the cluster went on writing into the output
    folder after the batch had reported it interrupted and let go of its lock. Now the batch
    puts the job's stop mark beside the output and waits for the render to unwind."""
    distributed = pytest.importorskip("distributed")
    rec, out = tmp_path / "rec", tmp_path / "out"
    rec.mkdir()
    for role, clip in (("speaker", "speaker.mp4"), ("screen", "screen.mkv")):  # 40 s, by stream copy
        run_ffmpeg("-stream_loop", "-1", "-i", str(batch_clips[clip]), "-t", "40", "-c", "copy",
                   str(rec / f"c0.{role}{Path(clip).suffix}"))
    (rec / "batch.toml").write_text('[encode]\npreset = "veryslow"\n')  # minutes of encoding
    with distributed.LocalCluster(
        n_workers=1, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        proc = subprocess.Popen(
            [sys.executable, "-m", "greenscreen", "batch", str(rec), "-o", str(out), "--scheduler",
             cluster.scheduler_address], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, preexec_fn=signals_as_in_a_terminal,
        )
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not list(out.glob(".c0.*.partial.mp4")):
                assert proc.poll() is None, proc.communicate()[0]
                time.sleep(0.05)
            assert list(out.glob(".c0.*.partial.mp4")), "the render on the cluster never started writing"
            os.killpg(proc.pid, signal.SIGINT)  # the batch's group only: the cluster is elsewhere
            output, _ = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == -signal.SIGINT, output
        assert statuses(out) == {"c0": "interrupted"} and report(out)["interrupted"] is True
        time.sleep(2.0)  # a render still running would go on writing meanwhile
        left = sorted(p.name for p in out.iterdir())
        assert left == [".greenscreen-batch.lock", "report.json"], left


def test_two_recordings_folders_never_share_an_output_folder(batch_clips: dict[str, Path], tmp_path: Path) -> None:
    """Two departments' folders batched into one output folder: the second replaced the first's
    tutorials of the same name (and its report) on every run, as "recording changed"."""
    a, b, out = tmp_path / "recA", tmp_path / "recB", tmp_path / "out"
    _copy(batch_clips["speaker.mp4"], a / "intro.speaker.mp4")
    _copy(batch_clips["screen.mkv"], a / "intro.screen.mkv")
    _copy(batch_clips["speaker.mov"], b / "intro.speaker.mov")
    _copy(batch_clips["screen.mkv"], b / "intro.screen.mkv")
    code, text = run_cli("batch", a, "-o", out, "-q")
    assert code == 0, text
    first = (out / "intro.mp4").stat().st_mtime_ns
    for extra in ([], ["--dry-run"]):
        code, text = run_cli("batch", b, "-o", out, *extra)
        assert code == 2 and "holds the tutorials of another recordings folder" in text and str(a) in text, text
    assert (out / "intro.mp4").stat().st_mtime_ns == first and report(out)["folder"] == str(a)
    # The same recordings moved to a new place keep their outputs: nothing to render.
    a.rename(tmp_path / "recA moved")
    code, text = run_cli("batch", tmp_path / "recA moved", "-o", out, "-q")
    assert code == 0 and statuses(out) == {"intro": "skipped"}, text


def test_report_is_strict_json_with_names_that_are_not_utf8(batch_clips: dict[str, Path], tmp_path: Path) -> None:
    """A tutorial named in Latin-1 (an old ZIP, a Samba share) renders; its name went into
    report.json as a lone surrogate ("\\udcfc"), which strict JSON readers refuse."""
    rec, out = tmp_path / "rec", tmp_path / "out"
    name = os.fsdecode(b"B\xfcro")
    _copy(batch_clips["speaker.mp4"], rec / f"{name}.speaker.mp4")
    _copy(batch_clips["screen.mkv"], rec / f"{name}.screen.mkv")
    code, text = run_cli("batch", rec, "-o", out, "-q")
    assert code == 0, text
    raw = (out / "report.json").read_bytes().decode("utf-8")  # strict
    assert "\\udc" not in raw and "B\ufffdro" in json.loads(raw)["tutorials"][0]["name"]
    assert (out / f"{name}.mp4").exists()


def test_dry_run_names_an_empty_recording(tmp_path: Path, batch_clips: dict[str, Path]) -> None:
    """An upload that broke off leaves a 0-byte file: the dry run said "would render", the run
    then failed it."""
    rec = tmp_path / "rec"
    _copy(batch_clips["screen.mkv"], rec / "kurs.screen.mkv")
    (rec / "kurs.speaker.mp4").write_bytes(b"")
    code, text = run_cli("batch", rec, "-o", tmp_path / "out", "--dry-run")
    assert code == 0 and "would fail  kurs  kurs.speaker.mp4: file is empty (0 bytes)" in text, text
    assert "0 to render" in text and "1 cannot be rendered" in text


def test_a_report_that_cannot_be_written_still_gets_its_summary(
    recordings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full output disk: the batch ended in 'unexpected error (OSError: No space left on
    device)' from writing report.json, without its summary (all a cron mail would hold)."""
    import errno

    from greenscreen.batch.runner import BatchReport

    def full(self: BatchReport) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(BatchReport, "write", full)
    out = tmp_path / "rendered"
    code, text = run_cli("batch", recordings, "-o", out, "--jobs", "2")
    assert code == 1
    assert "rendered      alpha" in text and "FAILED" in text  # the summary, then the error
    assert text.rstrip().splitlines()[-1] == (
        f"error: {out / 'report.json'}: cannot write the report (No space left on device)")


def test_pairing_names_empty_and_nested_folders(tmp_path: Path) -> None:
    """An empty folder (a leftover ``~$tmp``) was not listed at all, and a folder holding only
    a deeper tutorial folder was called "inside a tutorial folder" although it holds none."""
    (tmp_path / "~$tmp").mkdir()
    for name in ("nested/deeper/kurs/speaker.mp4", "nested/deeper/kurs/screen.mp4", "ok/speaker.mp4",
                 "ok/screen.mp4", "ok/old/speaker.mp4"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    found = find_tutorials(tmp_path)
    assert [t.name for t in found.tutorials] == ["ok"]
    why = {u.path.relative_to(tmp_path).as_posix(): u.reason for u in found.unrecognised}
    assert why["~$tmp"] == "empty folder"
    assert why["nested/deeper"].startswith("folders are searched one level deep")
    assert why["ok/old"].startswith("folders are searched one level deep")
    assert set(why) == {"~$tmp", "nested/deeper", "ok/old"}


def test_recordings_in_any_recorder_format_pair_up(tmp_path: Path) -> None:
    """A USB webcam's AVI, a camcorder's MTS, a FireWire DV capture, an old OBS FLV: render
    takes them, and batch called them "not a recording"."""
    for name in ("a.speaker.avi", "a.screen.flv", "b/speaker.MTS", "b/screen.mp4", "c.speaker.dv", "c.screen.wmv",
                 "notes.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"\0")
    found = find_tutorials(tmp_path)
    assert [t.name for t in found.tutorials if t.complete] == ["a", "b", "c"]
    assert [u.path.name for u in found.unrecognised] == ["notes.txt"]
