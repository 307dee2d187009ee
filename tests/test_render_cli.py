"""End-to-end tests of ``greenscreen render`` through the real CLI on generated recordings."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import imageio_ffmpeg
import numpy as np
import pytest

import cards
from conftest import audio_samples, decode_frames, mean_diff, pip_box, run_cli, signals_as_in_a_terminal, streams_of
import synthetic
from greenscreen.composite.layout import LayoutSettings, place_speaker

REPO = Path(__file__).resolve().parents[1]


def _outside(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = box
    mask = np.ones(frame.shape[:2], bool)
    mask[max(y - 2, 0) : y + h + 2, max(x - 2, 0) : x + w + 2] = False
    return frame[mask]


def _inside(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = box
    return frame[y : y + h, x : x + w]


def _screen_at(screen: list[tuple[float, np.ndarray]], t: float, fps: float) -> np.ndarray:
    """The screen frame the output shows at time ``t``: the newest at or before it."""
    shown = screen[0][1]
    for ts, frame in screen:
        if ts <= t + 0.5 / fps:
            shown = frame
    return shown


def _greenish(frame: np.ndarray) -> np.ndarray:
    f = frame.astype(np.int16)
    b, g, r = f[..., 0], f[..., 1], f[..., 2]
    return (g > r + 35) & (g > b + 35)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_renders_bundled_samples_into_a_web_ready_clip(tmp_path: Path) -> None:
    speaker, screen = REPO / "samples" / "speaker.mp4", REPO / "samples" / "screen.mp4"
    out = tmp_path / "tutorial.mp4"
    before = (_sha(speaker), _sha(screen))
    run_cli("render", speaker, screen, "-o", out, "-q")
    assert (_sha(speaker), _sha(screen)) == before, "sources must never change"

    info, src = streams_of(out), streams_of(screen)
    assert info["video_codec"] == "h264" and info["profile"] == "High"
    assert info["pix_fmt"] == "yuv420p"
    assert info["size"] == src["size"]
    assert info["fps"] == src["fps"]
    assert abs(info["duration"] - max(src["duration"], streams_of(speaker)["duration"])) < 0.1
    assert info["audio_codec"] == "aac"
    assert abs(info["audio_duration"] - info["duration"]) < 0.1
    head = out.read_bytes()[:4096]
    assert b"moov" in head, "faststart: the index must come before the media data"
    assert np.abs(audio_samples(out)).max() > 0.05, "the speaker's voice must be heard"

    out_frames, screen_frames = decode_frames(out), decode_frames(screen)
    fps = float(info["fps"])
    box = pip_box(info["size"], streams_of(speaker)["size"])
    # The sample's speaker steps in after the first second of empty sheet.
    for t, frame in out_frames[75::40]:
        shown = _screen_at(screen_frames, t, fps)
        assert mean_diff(_outside(frame, box), _outside(shown, box)) < 3.0
        pip, under = _inside(frame, box), _inside(shown, box)
        assert mean_diff(pip, under) > 8.0, "the speaker must be visible in the corner"
        new_green = _greenish(pip) & ~_greenish(under)
        assert new_green.mean() < 0.01, f"green sheet left in the PiP at {t:.2f} s"


def test_mismatched_rate_size_duration_and_missing_audio(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    proc = run_cli("render", media["speaker_25_silent"], media["screen_audio"], "-o", out, "-q")
    assert "has no audio" in proc.stderr
    info = streams_of(out)
    assert info["size"] == (480, 270) and info["fps"] == 24
    assert abs(info["duration"] - 2.5) < 0.06
    assert info["audio_codec"] == "aac"
    assert np.abs(audio_samples(out)).max() > 0.05, "falls back to the screen's sound"
    frames, screen = decode_frames(out), decode_frames(media["screen_audio"])
    box = pip_box((480, 270), (256, 192))
    t, during = frames[12]
    assert mean_diff(_inside(during, box), _inside(_screen_at(screen, t, 24), box)) > 8.0
    t, after = frames[-3]
    assert t > 1.6
    assert mean_diff(_inside(after, box), _inside(_screen_at(screen, t, 24), box)) < 3.0, (
        "after the speaker's recording ends the speaker is hidden"
    )


def test_offset_and_longer_speaker_holds_last_screen_frame(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    run_cli("render", media["speaker"], media["screen"], "-o", out, "-q", "--offset", "1.0")
    info = streams_of(out)
    assert abs(info["duration"] - 3.0) < 0.06, "runs until the shifted speaker ends"
    frames, screen = decode_frames(out), decode_frames(media["screen"])
    box = pip_box((640, 360), (320, 180))
    t, early = frames[10]
    assert mean_diff(_inside(early, box), _inside(_screen_at(screen, t, 30), box)) < 3.0, (
        "speaker hidden before its offset"
    )
    t, late = frames[-5]
    assert t > 2.5
    assert mean_diff(_outside(late, box), _outside(screen[-1][1], box)) < 3.0, "last screen frame held"
    assert mean_diff(_inside(late, box), _inside(screen[-1][1], box)) > 8.0, "speaker still shown"


def test_variable_frame_rate_screen_plays_at_the_right_speed(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    run_cli("render", media["speaker"], media["screen_vfr"], "-o", out, "-q")
    info = streams_of(out)
    assert abs(info["duration"] - 2.0) < 0.1
    assert info["fps"] == 30, "a VFR recording renders at a standard rate that keeps its motion"
    screen = decode_frames(media["screen_vfr"])
    gaps = np.diff([t for t, _ in screen])
    assert gaps.max() > 1.5 * gaps.min(), "fixture must really be variable frame rate"
    fps = float(info["fps"])
    box = pip_box(info["size"], (320, 180))
    for t, frame in decode_frames(out)[::7]:
        assert mean_diff(_outside(frame, box), _outside(_screen_at(screen, t, fps), box)) < 3.0, (
            f"output at {t:.2f} s must show the screen frame of that moment"
        )


def test_size_fps_layout_and_crop_options(tmp_path: Path) -> None:
    """--crop cuts the webcam frame before it is placed, --corner/--speaker-size place what is
    left, --size/--fps set the output: checked on the output's pixels. The webcam card has a
    red bar in the 60 pixels cropped on the left, a blue bar in the 20 cropped on the right, and
    a grey rectangle at x 100-160, y 40-100 of its 320x180 frame; the screen is flat bluish."""
    speaker = cards.write_clip(
        tmp_path / "marked.mp4", cards.marked_speaker((320, 180), (100, 40, 160, 100), grey=150), fps=30
    )
    screen_colour = (100, 144, 128)
    screen = cards.write_clip(tmp_path / "screen.mp4", cards.flat((640, 360), screen_colour), fps=30)
    out = tmp_path / "small.mp4"
    run_cli(
        "render", speaker, screen, "-o", out, "-q",
        "--size", "320x180", "--fps", "15", "--corner", "top-left", "--speaker-size", "0.5",
        "--crop", "60,0,20,0", "--title", "Erklärvideo",
    )
    info = streams_of(out)
    assert info["size"] == (320, 180) and info["fps"] == 15
    assert abs(info["duration"] - 2.0) < 0.1
    with av.open(str(out)) as c:
        assert c.metadata.get("title") == "Erklärvideo"
    # What is left of the webcam (240x180) is shown 90 high (half of 180) in the top-left
    # corner, 5 pixels (3 % of 180) from the edges: a 120x90 window at (5, 5), at half scale,
    # so the grey rectangle lands at x 25-55, y 25-55.
    frames = cards.yuv(out)
    assert len(frames) == 30
    for y, u, v in frames[::5]:
        # x264 rings up to ~6 code values along the rectangle's sharp edges.
        grey = np.abs(y.astype(int) - 150) <= 15
        ys, xs = np.nonzero(grey)
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (25, 25, 55, 55)
        assert np.abs(y[26:54, 26:54].astype(int) - 150).max() <= 8, "the grey, as recorded"
        # Everything else is the screen: the sheet is keyed away and both bars are cropped off
        # (the red one would tint V, the blue one U, at the window's left or right edge).
        screen = np.ones_like(grey)
        screen[23:57, 23:57] = False
        assert np.abs(y[screen].astype(int) - screen_colour[0]).max() <= 8
        chroma = screen[::2, ::2]
        for plane, want in ((u, screen_colour[1]), (v, screen_colour[2])):
            assert np.abs(plane[chroma].astype(int) - want).max() <= 8


def _stains_in_output(size: tuple[int, int], crop: tuple[int, int, int, int], output: tuple[int, int]) -> np.ndarray:
    """Where the stains of a stained card of ``size``, cropped by ``crop`` (left, top, right,
    bottom), lie in the output's default picture-in-picture window: a bool mask of the output."""
    left, top, right, bottom = crop
    w, h = size[0] - left - right, size[1] - top - bottom
    p = place_speaker(LayoutSettings(), output=output, speaker=(w, h))
    mask = np.zeros((output[1], output[0]), bool)
    for stain in cards.stain_mask(size):
        cut = stain[top : top + h, left : left + w].astype(np.float32)
        scaled = cv2.resize(cut, (p.width, p.height), interpolation=cv2.INTER_AREA)
        mask[p.y : p.y + p.height, p.x : p.x + p.width] |= cv2.erode(
            (scaled > 0.99).astype(np.uint8), np.ones((5, 5), np.uint8)
        ) > 0
    return mask


def test_plate_lets_the_keyer_clear_stains_on_the_sheet(tmp_path: Path) -> None:
    """--plate: a stained sheet (a dull yellowish and a dark patch) leaves both stains over the
    screen without a clean plate; with a clip of the empty stained sheet they are keyed away,
    while the speaker stays. The plate is cropped like the webcam (--crop), or it would not
    line up with the stains."""
    size, crop = (192, 108), (16, 0, 0, 8)
    speaker = cards.write_clip(tmp_path / "speaker.mp4", cards.timecode_speaker(size, stained=True), fps=20, seconds=1.0)
    plate = cards.write_clip(tmp_path / "plate.mp4", cards.empty_sheet(size, stained=True), fps=20, seconds=0.5)
    screen_colour = (180, 144, 128)  # far from the sheet and its stains
    screen = cards.write_clip(tmp_path / "screen.mp4", cards.flat((320, 180), screen_colour), fps=20, seconds=1.0)
    stains = _stains_in_output(size, crop, (320, 180))
    assert stains.sum() > 100
    options = ("-q", "--crop", ",".join(map(str, crop)))
    without, with_plate = tmp_path / "without.mp4", tmp_path / "with.mp4"
    run_cli("render", speaker, screen, "-o", without, *options)
    proc = run_cli("render", speaker, screen, "-o", with_plate, *options, "--plate", plate)
    assert "warning" not in proc.stderr, "a stained empty sheet is a plate"
    for wrong, said in ((screen, "is only 0% green sheet"), (speaker, "is the speaker in it?")):
        # The screen recording, or the speaker recording itself, given as the plate: said so.
        proc = run_cli("render", speaker, screen, "-o", tmp_path / "wrong.mp4", *options, "--plate", wrong)
        assert f"warning: the plate {wrong.name} " in proc.stderr and said in proc.stderr, proc.stderr
    p = place_speaker(LayoutSettings(), output=(320, 180), speaker=(size[0] - 16, size[1] - 8))
    middle = np.s_[p.y + p.height // 2 - 3 : p.y + p.height // 2 + 3, p.x + p.width // 2 - 3 : p.x + p.width // 2 + 3]
    for i, ((y0, _, _), (y1, _, _)) in enumerate(zip(cards.yuv(without), cards.yuv(with_plate))):
        assert np.abs(y0[stains].astype(int) - screen_colour[0]).mean() > 10, f"frame {i}: stains show without a plate"
        assert np.abs(y1[stains].astype(int) - screen_colour[0]).max() <= 4, f"frame {i}: stains keyed with the plate"
        for y in (y0, y1):
            assert cards.index_of(y[middle].mean()) == i, f"frame {i}: the speaker's square"


def test_light_wrap_changes_only_the_speakers_edge(media: dict[str, Path], tmp_path: Path) -> None:
    """--light-wrap mixes the screen's light into the rim of the keyed speaker: the rest of the
    picture stays as it was (up to coding noise)."""
    plain, wrapped = tmp_path / "plain.mp4", tmp_path / "wrapped.mp4"
    run_cli("render", media["speaker"], media["screen"], "-o", plain, "-q")
    run_cli("render", media["speaker"], media["screen"], "-o", wrapped, "-q",
            "--light-wrap", "1", "--light-wrap-size", "12")
    box = pip_box((640, 360), (320, 180))
    a, b = decode_frames(plain)[30][1], decode_frames(wrapped)[30][1]
    assert mean_diff(_outside(a, box), _outside(b, box)) < 0.5
    inside_a, inside_b = _inside(a, box), _inside(b, box)
    changed = np.abs(inside_a.astype(np.int16) - inside_b).max(axis=2) > 12
    assert changed.mean() > 0.01
    # Where it changed is the speaker's rim: next to the sheet the keyer removed, which shows
    # the screen unchanged in both renders.
    same = np.abs(inside_a.astype(np.int16) - inside_b).max(axis=2) <= 3
    near_same = cv2.dilate(same.astype(np.uint8), np.ones((31, 31), np.uint8)) > 0
    assert near_same[changed].mean() > 0.95


def test_audio_choice_mix_and_silent(media: dict[str, Path], tmp_path: Path) -> None:
    mixed = tmp_path / "mix.mp4"
    run_cli("render", media["speaker"], media["screen_audio"], "-o", mixed, "-q", "--audio", "mix")
    speaker_only = tmp_path / "speaker.mp4"
    run_cli("render", media["speaker"], media["screen_audio"], "-o", speaker_only, "-q")
    a_mix, a_spk = audio_samples(mixed), audio_samples(speaker_only)
    n = min(a_mix.shape[1], a_spk.shape[1])
    assert np.abs(a_mix[:, :n] - a_spk[:, :n]).mean() > 0.005, "mix adds the screen's sound"
    silent = tmp_path / "silent.mp4"
    proc = run_cli("render", media["speaker_25_silent"], media["screen"], "-o", silent, "-q")
    assert "silent" in proc.stderr
    info = streams_of(silent)
    assert info["audio_codec"] == "aac", "a silent soundtrack keeps players and editors happy"
    assert np.abs(audio_samples(silent)).max() < 1e-3


def test_paths_with_spaces_and_umlauts(media: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "Büro Ordner"
    folder.mkdir()
    speaker = folder / "Erklärvideo Büro 1.mp4"
    shutil.copy(media["speaker"], speaker)
    out = folder / "Erklärvideo fertig.mp4"
    run_cli("render", speaker, media["screen"], "-o", out, "-q")
    assert streams_of(out)["video_codec"] == "h264"


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory, media: dict[str, Path]) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    for name in ("zero frames.mp4", "zero frames.mkv"):
        subprocess.run(
            [ffmpeg, "-loglevel", "error", "-f", "lavfi", "-i", "color=s=64x64", "-frames:v", "0",
             "-c:v", "libx264", str(d / name)],
            check=True,
        )
    return {
        "missing": d / "does not exist.mp4",
        "not_video": synthetic.write_not_a_video(d / "notes.mp4"),
        "corrupt": synthetic.write_corrupt_copy(media["screen"], d / "corrupt.mp4"),
        "zero": d / "zero frames.mp4",
        "zero_mkv": d / "zero frames.mkv",
        "folder": d,
    }


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ("missing", "file not found"),
        ("not_video", "not a readable video"),
        ("corrupt", "corrupt"),
        ("zero", "no video frames"),
        ("zero_mkv", "no video frames"),
        ("folder", "is a folder"),
    ],
)
def test_bad_input_gives_one_clear_line(
    which: str, expected: str, bad_files: dict[str, Path], media: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"an earlier render")
    proc = run_cli("render", media["speaker"], bad_files[which], "-o", out, "-q", check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and expected in lines[0]
    assert bad_files[which].name in lines[0]
    assert "Traceback" not in proc.stderr
    assert out.read_bytes() == b"an earlier render", "a failed render leaves the old output alone"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"], "no temporary files left"


def test_output_errors(media: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "speaker.mp4"
    shutil.copy(media["speaker"], copy)
    digest = _sha(copy)
    proc = run_cli("render", copy, media["screen"], "-o", copy, check=False)
    assert proc.returncode == 1 and "overwrite an input" in proc.stderr
    assert _sha(copy) == digest
    proc = run_cli("render", copy, media["screen"], "-o", tmp_path / "nope" / "x.mp4", check=False)
    assert proc.returncode == 1 and "output folder does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to any folder")
def test_unwritable_output_folder(media: dict[str, Path], tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        proc = run_cli("render", media["speaker"], media["screen"], "-o", locked / "x.mp4", check=False)
    finally:
        locked.chmod(0o700)
    assert proc.returncode == 1 and "not writable" in proc.stderr


def test_debug_shows_traceback(media: dict[str, Path], tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "greenscreen", "--debug", "render", "missing.mp4", str(media["screen"]),
         "-o", str(tmp_path / "x.mp4")],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_replaces_existing_output_on_success(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"old")
    run_cli("render", media["speaker"], media["screen"], "-o", out, "-q")
    assert streams_of(out)["video_codec"] == "h264"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_stopped_render_leaves_no_partial_output(tmp_path: Path, sig: int) -> None:
    # Ctrl-C, `kill PID` and a closed terminal all stop the render the same orderly way.
    # Long enough that the render is still running when the interrupt comes, however fast the
    # machine (a 12 s clip sometimes finished first on a loaded machine: the planning passes
    # before the first frame take a varying share of the time).
    speaker = synthetic.write_speaker_clip(tmp_path / "s.mp4", size=(320, 180), seconds=40.0, seed=7, preset="ultrafast")
    screen = synthetic.write_screen_clip(tmp_path / "c.mp4", size=(640, 360), seconds=40.0, seed=8)
    out = tmp_path / "out.mp4"
    proc = subprocess.Popen(
        # x264's slowest preset: the encode itself takes minutes, so the stop always comes mid-render.
        [sys.executable, "-m", "greenscreen", "render", str(speaker), str(screen), "-o", str(out), "-q",
         "--encoder-preset", "veryslow"],
        stderr=subprocess.PIPE, text=True, preexec_fn=signals_as_in_a_terminal,
    )
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".out.") for p in tmp_path.iterdir()):
        assert time.monotonic() < deadline and proc.poll() is None, "render never started writing"
        time.sleep(0.05)
    time.sleep(0.2)
    assert proc.poll() is None, "the render ended before it could be stopped"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    # Dead of the signal after cleaning up, so a shell loop stops too (the shell reports 128 + sig:
    # 130 for Ctrl-C, 143 for kill, 129 for a closed terminal).
    assert proc.returncode == -sig, err
    assert "interrupted" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mp4", "s.mp4"]


def test_quiet_and_module_entry_point(media: dict[str, Path], tmp_path: Path) -> None:
    proc = run_cli("render", media["speaker"], media["screen"], "-o", tmp_path / "o.mp4", "-q")
    # No progress bar: only the note that the screen recording, without sound, could not be synced.
    assert proc.stderr == ("note: not synced by sound (the screen recording has no sound); the speaker starts at "
                           "0 s, set --offset to line them up\n")
    assert "render" in run_cli("--help").stdout


@pytest.mark.parametrize("name", ["tutorial.mkv", "tutorial.webm", "tutorial"])
def test_output_named_for_another_container_is_refused(media: dict[str, Path], tmp_path: Path, name: str) -> None:
    # The file is MP4 whatever it is called; a player that goes by the name would fail on it.
    proc = run_cli("render", media["speaker"], media["screen"], "-o", tmp_path / name, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and "name it .mp4" in proc.stderr and proc.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option", [
    ["--cut", "nan-1"], ["--cut", "1-inf"], ["--segment", "0-nan=full"], ["--redact", "0,0,10,10@nan-1"],
    ["--lower-third", "x@0-nan"], ["--offset", "nan"], ["--light-wrap", "nan"], ["--speaker-size", "inf"],
])
def test_not_a_number_is_a_usage_error(media: dict[str, Path], tmp_path: Path, option: list[str]) -> None:
    """``nan`` and ``inf`` read as floats: in times they gave "unexpected error" after the sound
    sync, or were taken silently (a redaction from nan); in a range they passed the check."""
    proc = run_cli("render", media["speaker"], media["screen"], "-o", tmp_path / "o.mp4", *option, check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("error: Invalid value for") and not (tmp_path / "o.mp4").exists()


def test_not_a_number_in_an_edit_file_is_listed_with_its_line(media: dict[str, Path], tmp_path: Path) -> None:
    edit = tmp_path / "edit.toml"
    edit.write_text('[[cut]]\nfrom = 1.0\nto = inf\n\n[[chapter]]\nat = nan\ntitle = "x"\n\n'
                    '[[lower_third]]\nname = "A"\nfrom = 0\nto = inf\n', encoding="utf-8")
    proc = run_cli("render", media["speaker"], media["screen"], "-o", tmp_path / "o.mp4", "--edit", edit, check=False)
    assert proc.returncode == 1, proc.stderr  # a bad file, as any edit file mistake
    assert "line 1: [[cut]] 'to' must be seconds" in proc.stderr and "line 5: [[chapter]] 'at'" in proc.stderr
    assert "line 9: [[lower_third]] 'to'" in proc.stderr and "unexpected" not in proc.stderr
    proc = run_cli("sync", media["speaker"], media["screen"], "--max-offset", "nan", check=False)
    assert proc.returncode == 2 and "is not a number" in proc.stderr


def test_swapped_recordings_are_a_warning(media: dict[str, Path], tmp_path: Path) -> None:
    """The screen recording given first: the webcam filled the picture and the screen was
    "keyed" into a corner, with no word said. Nothing is refused (it renders as asked)."""
    proc = run_cli("render", media["screen"], media["speaker"], "-o", tmp_path / "o.mp4", "-q")
    assert "are the two swapped?" in proc.stderr and media["screen"].name in proc.stderr
    proc = run_cli("render", media["speaker"], media["screen"], "-o", tmp_path / "o.mp4", "-q")
    assert "swapped" not in proc.stderr and "warning" not in proc.stderr
    # The blue-screen preset on a green sheet keyed the speaker away instead of the sheet.
    proc = run_cli("render", media["speaker"], media["screen"], "-o", tmp_path / "o.mp4", "-q", "-p", "blue-screen")
    assert "shows a green sheet, but the backdrop is set to blue" in proc.stderr, proc.stderr


def test_runs_with_its_error_stream_closed(media: dict[str, Path], tmp_path: Path) -> None:
    """Started with stderr closed (``2>&-``, as some service managers and cron setups do),
    render and batch exited 1 at their first progress line and rendered nothing, silently."""
    def close_stderr() -> None:
        os.close(2)

    def close_both() -> None:
        os.close(1)
        os.close(2)

    out = tmp_path / "o.mp4"
    for closing in (close_stderr, close_both):
        proc = subprocess.run([sys.executable, "-m", "greenscreen", "render", str(media["speaker"]),
                               str(media["screen"]), "-o", str(out)], preexec_fn=closing)
        assert proc.returncode == 0 and out.stat().st_size > 0
        out.unlink()
    rec = tmp_path / "rec"
    rec.mkdir()
    shutil.copy(media["speaker"], rec / "t.speaker.mp4")
    shutil.copy(media["screen"], rec / "t.screen.mp4")
    proc = subprocess.run([sys.executable, "-m", "greenscreen", "batch", str(rec), "-o", str(tmp_path / "out")],
                          preexec_fn=close_stderr, stdout=subprocess.PIPE)
    assert proc.returncode == 0 and (tmp_path / "out" / "t.mp4").stat().st_size > 0


@pytest.mark.parametrize("background", ["red", "", "#12345"])
def test_a_background_that_is_no_colour_says_what_a_colour_is(
    media: dict[str, Path], tmp_path: Path, background: str
) -> None:
    """``--background red`` said "red: file not found" and ``''`` "is a folder": a colour was meant."""
    proc = run_cli("render", media["speaker"], media["screen"], "-o", tmp_path / "o.mp4", "--layout", "full",
                   "--background", background, check=False)
    assert proc.returncode == 2 and 'is neither a colour "#rrggbb", an image file nor "screen"' in proc.stderr
    assert proc.stderr.count("\n") == 1 and not (tmp_path / "o.mp4").exists()


def test_odd_requests_that_render_get_a_warning(media: dict[str, Path], tmp_path: Path) -> None:
    """The same file as speaker and screen, and a picture too wide for any browser's decoder,
    rendered without a word."""
    proc = run_cli("render", media["speaker"], media["speaker"], "-o", tmp_path / "same.mp4", "-q", "--offset", "0")
    assert "speaker.mp4 is given as both the speaker and the screen recording" in proc.stderr
    from greenscreen.pipeline import too_large_to_play

    assert too_large_to_play((10000, 112)) and not too_large_to_play((3840, 2160)) and too_large_to_play((4096, 4096))
    # An offset of more than an hour: a webcam started late into a long lecture.
    from greenscreen.config import TimelineSettings

    assert TimelineSettings(offset=7100.0).offset == 7100.0
