"""Odd files and odd paths (issue 15): special files, long names and link loops, degenerate
pictures, messages that must not mislead, and one line for every error.

All media is generated here; special files (named pipes, device nodes, link loops) are made in
each test's own folder. The system's /dev/null is never written to: a null device node of our
own (made with mknod, as root) stands in for it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from conftest import assert_no_unexpected_error, decode_frames, mean_diff, run_cli, run_ffmpeg, streams_of
import synthetic
from greenscreen.config import RenderSettings
from greenscreen.errors import MediaError
from greenscreen.io.atomic import TEMP_RANDOM, side_file, temp_affixes
from greenscreen.io.files import name_bytes
from greenscreen.io.probe import probe
from greenscreen.key import Keyer, KeySettings

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="making device nodes needs root")
#: Seconds after which a command that should refuse a special file at once counts as hung.
HANG = 60


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small speaker (with sound) and screen recording, 2 s at 25 fps."""
    d = tmp_path_factory.mktemp("odd media")
    return {
        "speaker": synthetic.write_speaker_clip(
            d / "speaker.mp4", size=(128, 72), fps=25.0, seconds=2.0, audio=True, seed=21
        ),
        "screen": synthetic.write_screen_clip(
            d / "screen.mp4", size=(192, 108), fps=25.0, seconds=2.0, audio=False, seed=22
        ),
        # With sound on both sides, render lines them up by sound first (greenscreen sync).
        "screen with sound": synthetic.write_screen_clip(
            d / "screen with sound.mp4", size=(192, 108), fps=25.0, seconds=2.0, audio=True, seed=23
        ),
    }


def make_odd(kind: str, path: Path) -> Path:
    """Make a hostile input of ``kind`` at ``path``."""
    if kind == "named pipe":
        os.mkfifo(path)
    elif kind == "device":
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 5))  # a zero device: endless bytes
    elif kind == "link loop":
        other = path.with_name(f"{path.stem} (other){path.suffix}")
        os.symlink(other.name, path)
        os.symlink(path.name, other)
    elif kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("meeting notes, not a video\n", encoding="utf-8")
    elif kind == "audio only":
        run_ffmpeg("-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", path)
    elif kind == "audio with cover":  # a voice memo with its app's picture: not a recording
        run_ffmpeg("-f", "lavfi", "-i", "sine=d=1", "-f", "lavfi", "-i", "color=s=64x64:d=1", "-map", "0",
                   "-map", "1", "-c:a", "aac", "-c:v", "mjpeg", "-disposition:v", "attached_pic", path)
    else:
        raise ValueError(kind)
    return path


EXPECTED = {
    "named pipe": "is a named pipe (FIFO), not a regular file",
    "device": "is a character device, not a regular file",
    "link loop": "is a symlink loop",
    "folder": "is a folder",
    "empty": "file is empty (0 bytes)",
    "text": "not a readable video file",
    "audio only": "has no video stream, only audio",
    "audio with cover": "has no video stream, only audio (and a cover picture)",
}


def one_error_line(proc, code: int, *expected: str) -> str:
    """The single stderr line of a failed command, checked for the house rules."""
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in proc.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def kind_of(path: Path) -> int:
    return stat.S_IFMT(os.lstat(path).st_mode)


# --- special files as inputs -------------------------------------------------------------------


@pytest.mark.parametrize("kind", [k for k in EXPECTED if k != "device" or IS_ROOT])
def test_odd_recording_gives_one_line_and_leaves_everything_alone(
    kind: str, clips: dict[str, Path], tmp_path: Path
) -> None:
    odd = make_odd(kind, tmp_path / f"odd {kind}.mp4")
    before = kind_of(odd)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"an earlier render")
    proc = run_cli("render", odd, clips["screen"], "-o", out, "-q", check=False, timeout=HANG)
    one_error_line(proc, 1, odd.name, EXPECTED[kind])
    assert out.read_bytes() == b"an earlier render"
    assert kind_of(odd) == before, "the odd file is left as it was"
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


@pytest.mark.parametrize("kind", ["named pipe", "link loop"] + (["device"] if IS_ROOT else []))
@pytest.mark.parametrize("role", ["screen", "plate", "logo", "card-image"])
def test_special_file_as_screen_or_plate_does_not_hang(
    kind: str, role: str, clips: dict[str, Path], tmp_path: Path
) -> None:
    odd = make_odd(kind, tmp_path / f"{role}.mp4")
    screen = odd if role == "screen" else clips["screen"]
    extra = [] if role == "screen" else [f"--{role}", odd, "--title-card", "Titel"]
    proc = run_cli("render", clips["speaker"], screen, "-o", tmp_path / "o.mp4", "-q", *extra,
                   check=False, timeout=HANG)
    one_error_line(proc, 1, odd.name, EXPECTED[kind])


@pytest.mark.parametrize("kind", ["named pipe", "link loop", "empty", "text"] + (["device"] if IS_ROOT else []))
def test_key_refuses_odd_input_in_one_line(kind: str, tmp_path: Path) -> None:
    odd = make_odd(kind, tmp_path / f"odd {kind}.mp4")
    proc = run_cli("key", odd, "-o", tmp_path / "k.webm", "-q", check=False, timeout=HANG)
    one_error_line(proc, 1, odd.name, EXPECTED[kind])
    image = make_odd(kind, tmp_path / f"odd {kind}.png") if kind != "text" else None
    if image is not None:
        proc = run_cli("key", image, "-o", tmp_path / "k.png", "-q", check=False, timeout=HANG)
        one_error_line(proc, 1, image.name)


def test_file_names_with_control_characters_stay_on_one_line(clips: dict[str, Path], tmp_path: Path) -> None:
    odd = make_odd("text", tmp_path / "two\nlines\tand a tab.mp4")
    proc = run_cli("render", odd, clips["screen"], "-o", tmp_path / "o.mp4", "-q", check=False)
    one_error_line(proc, 1, "two\\nlines\\tand a tab.mp4: not a readable video file")


def test_preview_refuses_a_named_pipe_without_waiting(clips: dict[str, Path], tmp_path: Path) -> None:
    """The preview opens its recordings through the same checks (its window is not needed)."""
    from greenscreen.preview.source import PreviewSource

    fifo = make_odd("named pipe", tmp_path / "speaker.mp4")
    raised: list[BaseException] = []

    def open_it() -> None:
        try:
            PreviewSource.open(fifo, clips["screen"], RenderSettings()).close()
        except BaseException as exc:  # noqa: BLE001 (handed to the test thread)
            raised.append(exc)

    worker = threading.Thread(target=open_it, daemon=True)
    worker.start()
    worker.join(HANG)
    assert not worker.is_alive(), "opening a named pipe hung"
    assert len(raised) == 1 and isinstance(raised[0], MediaError)
    assert "named pipe" in str(raised[0]) and "speaker.mp4" in str(raised[0])


def test_preset_that_is_a_named_pipe(clips: dict[str, Path], tmp_path: Path) -> None:
    fifo = make_odd("named pipe", tmp_path / "mine.toml")
    proc = run_cli("render", clips["speaker"], clips["screen"], "-o", tmp_path / "o.mp4", "-p", fifo,
                   check=False, timeout=HANG)
    one_error_line(proc, 2, "mine.toml", "named pipe")


@pytest.mark.parametrize("kind", ["named pipe", "link loop", "folder", "broken link", "not UTF-8"])
def test_odd_file_in_the_user_preset_folder(kind: str, clips: dict[str, Path], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "config" / "greenscreen" / "presets"
    folder.mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = folder / "mine.toml"
    if kind == "broken link":
        os.symlink("nowhere.toml", path)
    elif kind == "not UTF-8":
        path.write_bytes(b"\xff\xfe[key]\n")
    else:
        make_odd(kind, path)
    expected = {"named pipe": "named pipe", "link loop": "symlink loop", "folder": "is a folder",
                "broken link": "is a broken link", "not UTF-8": "not UTF-8 text"}[kind]
    listed = run_cli("presets", "list", timeout=HANG)
    assert "mine " in listed.stdout and "unreadable" in listed.stdout
    proc = run_cli("presets", "show", "mine", check=False, timeout=HANG)
    one_error_line(proc, 2, "mine.toml", expected)
    assert proc.stdout == ""
    proc = run_cli("render", clips["speaker"], clips["screen"], "-o", tmp_path / "o.mp4", "-p", "mine",
                   check=False, timeout=HANG)
    one_error_line(proc, 2, "mine.toml", expected)


def test_preset_saved_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    """Windows editors start UTF-8 files with a BOM, which TOML itself does not allow."""
    from greenscreen.presets import load_preset

    path = tmp_path / "notepad.toml"
    path.write_bytes('\ufeffdescription = "Küche"\n[key]\ntolerance = 0.21\n'.encode("utf-8"))
    assert load_preset(path).key.tolerance == 0.21
    proc = run_cli("presets", "validate", path)
    assert proc.stdout.strip() == f"{path}: ok"


# --- odd outputs --------------------------------------------------------------------------------


@pytest.fixture
def null_device(tmp_path: Path) -> Path:
    """A null device node of our own: the same device as /dev/null, in the test's folder."""
    if not IS_ROOT:
        pytest.skip("making a device node needs root")
    folder = tmp_path / "dev"
    folder.mkdir()
    node = folder / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.stat(os.devnull).st_rdev)
    return node


def assert_still_null(node: Path) -> None:
    st = os.lstat(node)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.stat(os.devnull).st_rdev
    assert [p.name for p in node.parent.iterdir()] == ["null"], "nothing written beside it"


def test_render_to_the_null_device_renders_and_keeps_the_device(
    null_device: Path, clips: dict[str, Path]
) -> None:
    captions = null_device.parent.parent / "talk.srt"
    captions.write_text("1\n00:00:00,000 --> 00:00:01,500\nHallo\n", encoding="utf-8")
    # With captions and a poster, whose files would go beside the output: into the device too.
    proc = run_cli("render", clips["speaker"], clips["screen"], "-o", null_device, "--captions", captions,
                   "--poster", "true", timeout=HANG)
    assert f"rendered 192x108, 25 fps, 2.0 s into {null_device} (discarded)" in proc.stderr
    assert ".vtt" not in proc.stderr
    assert_still_null(null_device)


@pytest.mark.parametrize(("source", "form"), [("video", ""), ("video", ".webm"), ("image", ""), ("image", ".png")])
def test_key_to_the_null_device_keeps_the_device(
    source: str, form: str, null_device: Path, clips: dict[str, Path], tmp_path: Path
) -> None:
    if source == "image":
        src = tmp_path / "photo.png"
        cv2.imwrite(str(src), decode_frames(clips["speaker"])[0][1])
    else:
        src = clips["speaker"]
    target = null_device
    if form:  # a link named like the format, pointing at the device
        target = tmp_path / f"null{form}"
        os.symlink(null_device, target)
    run_cli("key", src, "-o", target, "-q", timeout=HANG)
    assert_still_null(null_device)


@pytest.mark.parametrize("kind", ["named pipe", "link loop"] + (["device"] if IS_ROOT else []))
def test_odd_output_is_refused_and_left_alone(kind: str, clips: dict[str, Path], tmp_path: Path) -> None:
    odd = make_odd(kind, tmp_path / "out.mp4")
    before = kind_of(odd)
    proc = run_cli("render", clips["speaker"], clips["screen"], "-o", odd, "-q", check=False, timeout=HANG)
    expected = {"named pipe": "output is a named pipe", "link loop": "output is a symlink loop",
                "device": "output is a character device"}[kind]
    one_error_line(proc, 1, "out.mp4", expected)
    assert kind_of(odd) == before
    proc = run_cli("key", clips["speaker"], "-o", odd, "-q", check=False, timeout=HANG)
    one_error_line(proc, 1, "out.mp4", expected)
    assert kind_of(odd) == before


def test_output_where_no_file_can_be_created(clips: dict[str, Path], tmp_path: Path) -> None:
    """A folder that looks writable (root may write anywhere) but takes no new files: /proc."""
    if not Path("/proc/self").is_dir():
        pytest.skip("needs Linux's /proc")
    proc = run_cli("render", clips["speaker"], clips["screen"], "-o", "/proc/greenscreen-test.mp4", "-q",
                   check=False)
    one_error_line(proc, 1, "/proc", "cannot create a file in the output folder")


def test_batch_into_a_folder_that_takes_no_files(clips: dict[str, Path], tmp_path: Path) -> None:
    if not Path("/proc/self/fdinfo").is_dir():
        pytest.skip("needs Linux's /proc")
    rec = tmp_path / "rec"
    rec.mkdir()
    shutil.copy(clips["speaker"], rec / "a.speaker.mp4")
    shutil.copy(clips["screen"], rec / "a.screen.mp4")
    proc = run_cli("batch", rec, "-o", "/proc/self/fdinfo", "-q", check=False)
    one_error_line(proc, 2, "/proc/self/fdinfo", "cannot write in the output folder")


@pytest.fixture
def full_disk(tmp_path: Path):
    """A 16 KB file system of our own (a tmpfs; needs root and mount permission)."""
    folder = tmp_path / "full"
    folder.mkdir()
    if not IS_ROOT or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(folder)],
                                     capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small file system here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("args", [("render", "speaker", "screen", "out.mp4"), ("key", "speaker", "k.webm"),
                                  ("key", "speaker", "frames")])
def test_full_disk_is_one_line_and_leaves_nothing(
    args: tuple[str, ...], full_disk: Path, clips: dict[str, Path]
) -> None:
    command, *inputs, out = args
    proc = run_cli(command, *(clips[i] for i in inputs), "-o", full_disk / out, "-q", check=False)
    one_error_line(proc, 1, out, "cannot write the output (No space left on device)")
    assert list(full_disk.iterdir()) == [], "the temporary output is removed"


def test_output_paths_that_are_inputs_folders_or_missing(clips: dict[str, Path], tmp_path: Path) -> None:
    speaker = tmp_path / "speaker.mp4"
    shutil.copy(clips["speaker"], speaker)
    digest = speaker.read_bytes()
    os.link(speaker, tmp_path / "hard link.mp4")
    os.symlink(speaker.name, tmp_path / "soft link.mp4")
    for out in (speaker, tmp_path / "hard link.mp4", tmp_path / "soft link.mp4"):
        proc = run_cli("render", speaker, clips["screen"], "-o", out, "-q", check=False)
        one_error_line(proc, 1, "output would overwrite an input recording")
    assert speaker.read_bytes() == digest
    one_error_line(run_cli("render", speaker, clips["screen"], "-o", tmp_path, "-q", check=False), 1,
                   "output path is a folder")
    one_error_line(run_cli("render", speaker, clips["screen"], "-o", tmp_path / "no" / "o.mp4", "-q",
                           check=False), 1, "output folder does not exist")


def test_output_never_overwrites_the_plate_or_the_captions(clips: dict[str, Path], tmp_path: Path) -> None:
    plate = tmp_path / "plate.mp4"
    shutil.copy(clips["speaker"], plate)
    captions = tmp_path / "talk.srt"
    captions.write_text("1\n00:00:00,000 --> 00:00:01,000\nHallo\n", encoding="utf-8")
    before = plate.read_bytes(), captions.read_bytes()
    for args in (
        ("render", clips["speaker"], clips["screen"], "-o", plate, "--plate", plate),
        ("render", clips["speaker"], clips["screen"], "-o", captions, "--captions", captions),
        ("key", clips["speaker"], "-o", plate, "--plate", plate),
    ):
        one_error_line(run_cli(*args, "-q", check=False), 1, "output would overwrite an input recording")
    assert (plate.read_bytes(), captions.read_bytes()) == before


@pytest.mark.parametrize(("name", "extra", "what"), [
    ("talk.jpg", ("--poster", "true"), "poster"),
    ("talk.vtt", ("--captions", "CAPTIONS"), "captions"),
])
def test_poster_or_captions_never_replace_the_output(
    name: str, extra: tuple[str, ...], what: str, clips: dict[str, Path], tmp_path: Path
) -> None:
    captions = tmp_path / "talk.srt"
    captions.write_text("1\n00:00:00,000 --> 00:00:01,000\nHallo\n", encoding="utf-8")
    extra = tuple(str(captions) if a == "CAPTIONS" else a for a in extra)
    proc = run_cli("render", clips["speaker"], clips["screen"], "-o", tmp_path / name, "-q", *extra, check=False)
    one_error_line(proc, 1, f"the {what} would be written to {name}, the output itself")
    assert not (tmp_path / name).exists()


def test_key_never_turns_a_file_into_a_folder_of_frames(clips: dict[str, Path], tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"  # not .webm/.mov, so a video would key into a folder of PNGs
    notes.write_text("keep me", encoding="utf-8")
    proc = run_cli("key", clips["speaker"], "-o", notes, "-q", check=False)
    one_error_line(proc, 1, "notes.txt: is a file")
    assert notes.read_text(encoding="utf-8") == "keep me"


def test_plate_that_shows_the_speaker_keys_without_nan() -> None:
    """The speaker recording given as --plate by mistake: the "sheet" is no sheet where they are."""
    frame, _ = synthetic.speaker_frame(0.5, (160, 90), seed=3)
    keyer = Keyer(plate=frame)
    with np.errstate(invalid="raise", divide="raise"):
        for _ in range(3):
            result = keyer.key(frame)
    assert np.isfinite(result.alpha).all()
    assert 0.0 <= result.alpha.min() and result.alpha.max() <= 1.0


# --- long names and loops -----------------------------------------------------------------------


def test_temporary_names_stay_within_the_name_limit(tmp_path: Path) -> None:
    long_a, long_b = "ä" * 124 + "a", "ä" * 124 + "b"  # 249 bytes each
    prefixes = []
    for stem in (long_a, long_b):
        prefix, suffix = temp_affixes(tmp_path, stem, ".partial.mp4")
        assert name_bytes(prefix) + TEMP_RANDOM + name_bytes(suffix) <= 255
        assert prefix.startswith(".ää") and suffix == ".partial.mp4"
        prefixes.append(prefix)
    assert prefixes[0] != prefixes[1], "names that differ only at the end keep different temp names"
    assert temp_affixes(tmp_path, "intro", ".partial.mp4") == (".intro.", ".partial.mp4")
    side = side_file(tmp_path / f"{long_a}.mp4", ".json")
    assert name_bytes(side.name) <= 255 and side.parent == tmp_path


def test_250_byte_output_name_renders(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / ("Erklärvideo" + "ä" * 117 + ".mp4")
    assert name_bytes(out.name) == 250
    run_cli("render", clips["speaker"], clips["screen"], "-o", out, "-q")
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
    info = streams_of(out)
    assert info["video_codec"] == "h264" and info["size"] == (192, 108) and info["frames"] == 50
    png = tmp_path / ("ö" * 123 + ".png")
    assert name_bytes(png.name) == 250
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), decode_frames(clips["speaker"])[0][1])
    run_cli("key", photo, "-o", png, "-q")
    assert cv2.imread(str(png), cv2.IMREAD_UNCHANGED).shape == (72, 128, 4)


def test_over_long_output_name_is_refused(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / ("ä" * 126 + ".mp4")  # 256 bytes
    proc = run_cli("render", clips["speaker"], clips["screen"], "-o", out, "-q", check=False)
    one_error_line(proc, 1, "file name is too long (256 bytes")


# --- degenerate pictures ------------------------------------------------------------------------

SHEET = (0x4A, 0xA8, 0x2F)  # BGR of a green sheet
SKIN = (90, 120, 200)


@pytest.mark.parametrize("size", [(1, 1), (1, 6), (6, 1), (2, 2), (3, 4), (7, 9)])
def test_keyer_keys_tiny_pictures(size: tuple[int, int]) -> None:
    h, w = size
    frame = np.empty((h, w, 3), np.uint8)
    frame[:] = SHEET
    skin = (slice(h // 2, h // 2 + 1), slice(w // 2, w // 2 + 1))
    frame[skin] = SKIN
    keyer = Keyer(KeySettings(key_color="#2fa84a"))
    for _ in range(3):  # the keyer keeps state from frame to frame
        result = keyer.key(frame)
    assert result.alpha.shape == (h, w) and result.foreground.shape == (h, w, 3)
    assert result.alpha[skin].min() > 0.9, "the speaker's pixel is kept"
    if h * w > 1:
        sheet = np.ones((h, w), bool)
        sheet[skin] = False
        # At 1-2 pixels the skin pixel's soft edge reaches its neighbours; the rest is sheet.
        assert np.median(result.alpha[sheet]) < 0.1
    # An opaque pixel keeps its colour (give or take the despill's limit on bounce light).
    assert np.abs(result.foreground[h // 2, w // 2].astype(int) - SKIN).max() <= 3


@pytest.mark.parametrize("colour", [SHEET, SKIN])
def test_check_judges_a_one_pixel_image(colour: tuple[int, int, int], tmp_path: Path) -> None:
    image = np.empty((1, 1, 3), np.uint8)
    image[:] = colour
    src = tmp_path / "dot.png"
    cv2.imwrite(str(src), image)
    proc = run_cli("check", src, timeout=HANG)
    assert "Overall:" in proc.stdout and (tmp_path / "dot.check.png").is_file()


@pytest.mark.parametrize("size", [(1, 1), (2, 2)])
def test_key_command_keys_a_tiny_image(size: tuple[int, int], tmp_path: Path) -> None:
    image = np.empty((*size, 3), np.uint8)
    image[:] = SKIN
    src = tmp_path / "tiny.png"
    cv2.imwrite(str(src), image)
    out = tmp_path / "keyed.png"
    run_cli("key", src, "-o", out, "-q", "--key-color", "#2fa84a")
    rgba = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (*size, 4)
    assert (rgba[..., 3] > 240).all() and (rgba[..., :3] == SKIN).all()


@pytest.fixture(scope="module")
def tiny_screens(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("tiny screens")
    out = {}
    for size, pix in [("1x1", "yuv444p"), ("2x2", "yuv420p"), ("16x16", "yuv420p"), ("16x16", "yuv444p"),
                      ("17x9", "yuv444p"), ("33x21", "yuv444p")]:
        path = d / f"screen {size} {pix}.mp4"
        run_ffmpeg("-f", "lavfi", "-i", f"testsrc=s={size}:r=25:d=1", "-pix_fmt", pix, "-c:v", "libx264", path)
        out[f"{size} {pix}"] = path
    return out


@pytest.mark.parametrize(("screen", "size"), [
    ("2x2 yuv420p", (2, 2)), ("16x16 yuv420p", (16, 16)), ("16x16 yuv444p", (16, 16)),
    ("17x9 yuv444p", (16, 8)), ("33x21 yuv444p", (32, 20)),
])
def test_tiny_and_odd_sized_screen_recordings_render(
    screen: str, size: tuple[int, int], tiny_screens: dict[str, Path], clips: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    proc = run_cli("render", clips["speaker"], tiny_screens[screen], "-o", out, "-q", "--offset", "0")
    assert proc.stderr == ""  # no warning
    info = streams_of(out)
    assert info["size"] == size and info["frames"] == 50  # the 2 s speaker outlasts the 1 s screen
    if min(size) >= 16:
        # Top-left, away from the bottom-right speaker: the screen recording's own pixels.
        # In luma: a 4:4:4 test pattern's one-pixel colour detail does not survive 4:2:0.
        first = cv2.cvtColor(decode_frames(out)[0][1], cv2.COLOR_BGR2GRAY)
        screen0 = cv2.cvtColor(decode_frames(tiny_screens[screen])[0][1], cv2.COLOR_BGR2GRAY)
        h, w = size[1] // 2, size[0] // 2
        assert mean_diff(first[:h, :w], screen0[:h, :w]) < 12


def test_one_pixel_screen_recording_is_refused_with_the_minimum(
    tiny_screens: dict[str, Path], clips: dict[str, Path], tmp_path: Path
) -> None:
    proc = run_cli("render", clips["speaker"], tiny_screens["1x1 yuv444p"], "-o", tmp_path / "o.mp4", "-q",
                   check=False)
    one_error_line(proc, 1, "screen 1x1", "smallest output is 2x2")
    proc = run_cli("render", clips["speaker"], clips["screen"], "-o", tmp_path / "o.mp4", "--size", "1x1",
                   check=False)
    one_error_line(proc, 2, "output size 1x1", "smallest output is 2x2")


def test_side_by_side_needs_room_for_both_sides(
    tiny_screens: dict[str, Path], clips: dict[str, Path], tmp_path: Path
) -> None:
    proc = run_cli("render", clips["speaker"], tiny_screens["2x2 yuv420p"], "-o", tmp_path / "o.mp4",
                   "--layout", "side-by-side", check=False)
    one_error_line(proc, 2, "side-by-side layout needs an output at least 4 pixels wide", "2x2")
    out = tmp_path / "ok.mp4"
    run_cli("render", clips["speaker"], tiny_screens["16x16 yuv420p"], "-o", out, "-q", "--layout", "side-by-side")
    assert streams_of(out)["size"] == (16, 16)


@pytest.mark.parametrize("suffix", [".webm", ".mov"])
def test_key_a_one_pixel_video_with_alpha(suffix: str, tiny_screens: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / f"keyed{suffix}"
    run_cli("key", tiny_screens["1x1 yuv444p"], "-o", out, "-q")
    info = streams_of(out)
    assert info["size"] == (2, 2), "the pixel repeated to the codec's smallest picture"
    assert len(decode_frames(out)) == 25


# --- messages that mislead ----------------------------------------------------------------------


@pytest.mark.parametrize("container", ["mp4", "mkv"])
def test_half_truncated_recording_is_called_truncated(
    container: str, clips: dict[str, Path], tmp_path: Path
) -> None:
    whole = clips["speaker"]
    if container == "mkv":
        whole = tmp_path / "speaker.mkv"
        run_ffmpeg("-i", clips["speaker"], "-c", "copy", whole)
    cut = synthetic.write_corrupt_copy(whole, tmp_path / f"cut off.{container}", mode="truncate")
    with pytest.raises(MediaError, match=r"video is truncated: frames stop at \d\.\d s of 2\.0 s"):
        probe(cut)
    for screen in (clips["screen"], clips["screen with sound"]):  # without and with sync by sound
        proc = run_cli("render", cut, screen, "-o", tmp_path / "o.mp4", "-q", check=False)
        line = one_error_line(proc, 1, "cut off", "video is truncated: frames stop at")
        assert "audio" not in line and "sound" not in line
    proc = run_cli("sync", cut, clips["screen with sound"], check=False)
    one_error_line(proc, 1, "cut off", "video is truncated: frames stop at")
    assert probe(whole).duration == pytest.approx(2.0, abs=0.05), "a whole file passes the check"


def test_a_long_matroska_cut_off_before_its_index_is_called_truncated(tmp_path: Path) -> None:
    """Matroska keeps its seek index at the end: a copy cut off half-way has none, and its
    demuxer answers every seek from the start, so data was "found" at any time asked for."""
    whole = tmp_path / "long.mkv"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc=s=160x90:r=25:d=20", "-c:v", "libx264", "-g", "50", whole)
    cut = synthetic.write_corrupt_copy(whole, tmp_path / "long cut.mkv", mode="truncate")
    with pytest.raises(MediaError, match=r"video is truncated: frames stop at \d+\.\d s of 20\.0 s"):
        probe(cut)
    assert probe(whole).duration == pytest.approx(20.0, abs=0.05)


@pytest.mark.parametrize("container", ["mkv", "mp4", "ts"])
def test_a_recording_whose_timestamps_start_late_is_as_long_as_its_frames(
    container: str, clips: dict[str, Path], tmp_path: Path
) -> None:
    """A live recording joined late or a file moved with -itsoffset starts its timestamps at
    5 s: Matroska's stated end (5 + 2 s) was taken for its length, then for a truncated one."""
    late = tmp_path / f"late.{container}"
    run_ffmpeg("-itsoffset", "5", "-i", clips["speaker"], "-c", "copy", late)
    assert probe(late).duration == pytest.approx(2.0, abs=0.05)
    out = tmp_path / "o.mp4"
    run_cli("render", late, clips["screen"], "-o", out, "-q")
    assert streams_of(out)["duration"] == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize("container", ["mkv", "mp4"])
def test_sound_longer_than_the_picture_is_not_truncation(container: str, tmp_path: Path) -> None:
    """Matroska gives no video length of its own, only the file's (here its sound's)."""
    path = tmp_path / f"long sound.{container}"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc=s=160x90:r=25:d=2", "-f", "lavfi", "-i", "sine=d=8",
               "-map", "0", "-map", "1", "-c:v", "libx264", "-c:a", "aac", path)
    assert probe(path).duration > 1.9


def test_impossible_crop_names_the_numbers_not_an_object(clips: dict[str, Path], tmp_path: Path) -> None:
    proc = run_cli("render", clips["speaker"], clips["screen"], "-o", tmp_path / "o.mp4", "--crop",
                   "70,0,70,0", check=False)
    line = one_error_line(proc, 2, "speaker.mp4", "leaves 0x72 of the 128x72 picture", "at least 2x2")
    assert "Crop(" not in line
    # key says the same, for a video and for an image
    proc = run_cli("key", clips["speaker"], "-o", tmp_path / "k.webm", "--crop", "70,0,70,0", check=False)
    assert one_error_line(proc, 2, "speaker.mp4", "leaves 0x72").split(": ", 2)[2] == line.split(": ", 2)[2]
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), decode_frames(clips["speaker"])[0][1])
    proc = run_cli("key", photo, "-o", tmp_path / "k.png", "--crop", "0,40,0,40", check=False)
    one_error_line(proc, 2, "photo.png", "leaves 128x0 of the 128x72 picture")
    proc = run_cli("check", clips["speaker"], "--crop", "70,0,70,0", check=False)
    assert one_error_line(proc, 2, "speaker.mp4").split(": ", 2)[2] == line.split(": ", 2)[2]


def test_offset_that_hides_the_speaker_warns_and_renders_the_screen(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "o.mp4"
    proc = run_cli("render", clips["speaker"], clips["screen"], "-o", out, "-q", "--offset", "-5")
    lines = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("warning: the speaker is never on screen"), proc.stderr
    assert "offset of -5 s" in lines[0]
    rendered = decode_frames(out)
    screen = decode_frames(clips["screen"])
    assert len(rendered) == len(screen) == 50
    # No speaker anywhere: every frame is the screen recording's, the corner included.
    x, y = 192 * 2 // 3, 108 * 2 // 3
    worst = max(mean_diff(a[y:, x:], b[y:, x:]) for (_, a), (_, b) in zip(rendered, screen))
    assert worst < 4


def test_offset_past_the_screen_recording_warns(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    proc = run_cli("render", clips["speaker"], clips["screen"], "-o", out, "-q", "--offset", "3")
    lines = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("warning: the speaker starts after the screen recording")
    assert streams_of(out)["duration"] == pytest.approx(5.0, abs=0.1)
    plain = run_cli("render", clips["speaker"], clips["screen"], "-o", tmp_path / "p.mp4", "-q", "--offset", "1")
    assert "warning" not in plain.stderr, "an offset that keeps the two overlapping says nothing"


# --- one line for every error -------------------------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    (("render", "a.mp4", "b.mp4", "-o", "x.mp4", "--speaker-size", "0"), "Invalid value for '--speaker-size'"),
    (("render", "a.mp4"), "Missing argument 'SCREEN'"),
    (("rendr", "a.mp4"), "No such command 'rendr'"),
    (("key", "a.mp4", "-o", "x.png", "--bogus"), "No such option '--bogus'"),
    (("presets", "validate"), "Missing argument 'FILES...'"),
])
def test_usage_errors_are_one_line_too(args: tuple[str, ...], expected: str) -> None:
    proc = run_cli(*args, check=False)
    line = one_error_line(proc, 2, expected)
    assert line.endswith("--help')") and "Usage:" not in proc.stderr


def test_unexpected_errors_end_in_one_line(
    allow_unexpected_error: None, monkeypatch: pytest.MonkeyPatch, clips: dict[str, Path], tmp_path: Path
) -> None:
    from greenscreen.cli import main

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line of a long story")

    monkeypatch.setattr("greenscreen.cli.render.render", broken)
    args = ["render", str(clips["speaker"]), str(clips["screen"]), "-o", str(tmp_path / "o.mp4"), "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "error: unexpected error (RuntimeError: boom); run with --debug for details"
    ]
    with pytest.raises(AssertionError, match="last-resort"):
        assert_no_unexpected_error(result.output)  # what fails any other test that gets here
    debug = CliRunner().invoke(main, ["--debug", *args])
    assert isinstance(debug.exception, RuntimeError), "--debug lets the traceback through"


def test_batch_worker_reports_an_unexpected_error_in_one_line(
    monkeypatch: pytest.MonkeyPatch, clips: dict[str, Path], tmp_path: Path
) -> None:
    from greenscreen.batch import plan_batch
    from greenscreen.batch.worker import render_job

    rec = tmp_path / "rec"
    rec.mkdir()
    shutil.copy(clips["speaker"], rec / "intro.speaker.mp4")
    shutil.copy(clips["screen"], rec / "intro.screen.mp4")
    plan = plan_batch(rec, tmp_path / "out")
    (tmp_path / "out").mkdir()

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("first line\nsecond line")

    monkeypatch.setattr("greenscreen.pipeline.render", broken)
    outcome = render_job(plan.entries[0].job)
    assert outcome.status == "failed"
    assert outcome.reason == "unexpected error (ValueError: first line); run with --debug for details"
    assert "Traceback" in outcome.detail


# --- batch folders with odd files ---------------------------------------------------------------


def test_batch_lists_odd_files_and_renders_the_rest(clips: dict[str, Path], tmp_path: Path) -> None:
    rec = tmp_path / "recordings"
    rec.mkdir()
    long_name = "ü" * 118  # 236 bytes: NAME.speaker.mp4 is 248, its side files need cutting
    names = ["good", long_name] + (["bad\udcff"] if os.name == "posix" else [])
    for name in names:
        shutil.copy(clips["speaker"], rec / f"{name}.speaker.mp4")
        shutil.copy(clips["screen"], rec / f"{name}.screen.mp4")
    make_odd("named pipe", rec / "pipe.speaker.mp4")
    shutil.copy(clips["screen"], rec / "pipe.screen.mp4")
    make_odd("link loop", rec / "loop.speaker.mp4")
    make_odd("named pipe", rec / "batch.toml")
    (rec / "sub").mkdir()
    make_odd("named pipe", rec / "sub" / "speaker.mp4")
    shutil.copy(clips["screen"], rec / "sub" / "screen.mp4")
    out = tmp_path / "rendered"

    proc = run_cli("batch", rec, "-o", out, "-q", "-j", "2", timeout=300)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["summary"]["rendered"] == len(names) and report["summary"]["failed"] == 0
    odd = {Path(u["path"]).relative_to(rec).as_posix(): u["reason"] for u in report["unrecognised"]}
    assert "named pipe" in odd["pipe.speaker.mp4"] and "named pipe" in odd["batch.toml"]
    assert "named pipe" in odd["sub/speaker.mp4"]
    assert "symlink loop" in odd["loop.speaker.mp4"] and "symlink loop" in odd["loop.speaker (other).mp4"]
    assert {u["name"] for u in report["unpaired"]} >= {"pipe", "sub"}
    for name in names:
        assert streams_of(out / f"{name}.mp4")["frames"] == 50
    assert "unrecognised" in proc.stdout
    for entry in out.iterdir():
        assert name_bytes(entry.name) <= 255

    again = run_cli("batch", rec, "-o", out, "-q", timeout=300)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["summary"]["skipped"] == len(names), again.stdout  # fingerprints of long names found
    assert kind_of(rec / "pipe.speaker.mp4") == stat.S_IFIFO


def test_a_folder_given_as_an_image_says_what_was_expected(clips: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "Hintergründe"
    folder.mkdir()
    proc = run_cli("render", clips["speaker"], clips["screen"], "-o", tmp_path / "o.mp4", "--title-card", "T",
                   "--card-image", folder, check=False)
    one_error_line(proc, 1, folder.name, "is a folder, expected an image")


def _unseekable_mkv(source: Path, out: Path) -> Path:
    """``source``'s video remuxed to Matroska with its timestamps moved 2 s below zero: the
    demuxer then hands out packets without timestamps and refuses to seek (EPERM), as files
    written with ``-itsoffset -2 -avoid_negative_ts disabled`` do."""
    import av

    with av.open(str(source)) as src, av.open(str(out), "w", options={"avoid_negative_ts": "disabled"}) as dst:
        video = src.streams.video[0]
        stream = dst.add_stream_from_template(video)
        shift = int(2 / video.time_base)
        for packet in src.demux(video):
            if packet.dts is None:
                continue
            packet.pts, packet.dts, packet.stream = packet.pts - shift, packet.dts - shift, stream
            dst.mux(packet)
    return out


def test_a_recording_that_cannot_seek_is_read_from_its_start(tmp_path: Path) -> None:
    """check and the preview seek to the moments they look at; a file that cannot seek was an
    unexpected error in check while render read it fine."""
    from greenscreen.preview.source import VideoFrames

    clip = synthetic.write_speaker_clip(tmp_path / "s.mp4", size=(160, 96), seconds=1.0, seed=2)
    mkv = _unseekable_mkv(clip, tmp_path / "s.mkv")
    frames, seekable = VideoFrames(mkv), VideoFrames(clip)
    try:
        assert len(frames) == len(seekable) == 30
        for index in (29, 3, 28, 10):
            assert np.array_equal(frames.bgr(index, None), seekable.bgr(index, None)), index
    finally:
        frames.close()
        seekable.close()
    proc = run_cli("check", mkv, "--no-sheet", "--lang", "en")
    assert "Overall:" in proc.stdout


def test_the_default_sound_track_of_several_is_used(clips: dict[str, Path], tmp_path: Path) -> None:
    """A multi-track recording (OBS, a phone's) whose first track is silent and whose voice is
    the track marked default: the voice was ignored and the tutorial came out silent."""
    from conftest import audio_samples

    two = tmp_path / "two tracks.mkv"
    run_ffmpeg("-i", clips["speaker"], "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-map", "0:v",
               "-map", "1:a", "-map", "0:a", "-c:v", "copy", "-c:a", "aac", "-shortest",
               "-disposition:a:0", "0", "-disposition:a:1", "default", two)
    out = tmp_path / "o.mp4"
    run_cli("render", two, clips["screen"], "-o", out, "-q")
    voice = audio_samples(clips["speaker"])
    got = audio_samples(out)
    assert np.sqrt(np.mean(voice**2)) > 0.01
    assert np.sqrt(np.mean(got**2)) > 0.5 * np.sqrt(np.mean(voice**2)), "the voice, not the silent track"


def test_a_screen_recording_with_a_few_dropped_frames_keeps_its_rate(clips: dict[str, Path], tmp_path: Path) -> None:
    """A recorder under load drops a frame now and then, its timestamps staying on the 30 fps
    grid: 1 in 25 gone made the output 28.8 fps, skipping and repeating frames all through.
    The output runs at 30 fps and each output frame shows its own source frame (the one
    before where a frame is missing)."""
    import av
    from fractions import Fraction

    screen = tmp_path / "dropped.mp4"
    dropped = {i for i in range(60) if i % 25 == 24}
    with av.open(str(screen), "w") as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 192, 108, "yuv420p"
        video.time_base = Fraction(1, 30)
        video.options = {"preset": "ultrafast", "crf": "10"}
        for i in range(60):
            if i in dropped:
                continue
            picture = np.full((108, 192, 3), 30 + 3 * i, np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    assert probe(screen).output_fps == 30
    out = tmp_path / "o.mp4"
    run_cli("render", clips["speaker"], screen, "-o", out, "-q", "--offset", "0")
    frames = decode_frames(out)
    assert streams_of(out)["fps"] == 30 and len(frames) == 60
    kept = [i for i in range(60) if i not in dropped]
    source = dict(zip(kept, (float(p[:20, :20].mean()) for _, p in decode_frames(screen)), strict=True))
    for i, (_, picture) in enumerate(frames):
        shown = i - 1 if i in dropped else i
        assert abs(float(picture[:20, :20].mean()) - source[shown]) < 0.5, (i, picture[:20, :20].mean())


def test_a_wrong_output_is_reported_before_the_sound_is_read(clips: dict[str, Path], tmp_path: Path) -> None:
    """With sound on both sides render lines the recordings up first; a mistyped output folder
    came out after that (seconds on a long recording) and under a sync warning."""
    for out in (tmp_path / "no such folder" / "o.mp4", tmp_path / "o.mkv", clips["speaker"]):
        proc = run_cli("render", clips["speaker"], clips["screen with sound"], "-o", out, check=False)
        assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
        assert proc.stderr.startswith("error: ") and "sync" not in proc.stderr


def test_anamorphic_recordings_are_shown_with_square_pixels(clips: dict[str, Path], tmp_path: Path) -> None:
    """Pixels stored narrower than they are shown (a sample aspect ratio of 4:3, 144x108 shown
    as 192x108): the screen came out 144x108 and 4:3, the speaker squeezed."""
    speaker, screen = tmp_path / "speaker.mp4", tmp_path / "screen.mp4"
    run_ffmpeg("-i", clips["speaker"], "-vf", "scale=96:72,setsar=4/3", "-c:v", "libx264", "-c:a", "copy", speaker)
    run_ffmpeg("-i", clips["screen"], "-vf", "scale=144:108,setsar=4/3", "-c:v", "libx264", screen)
    assert (probe(speaker).width, probe(speaker).height) == (128, 72)
    assert (probe(screen).width, probe(screen).height) == (192, 108)
    out = tmp_path / "o.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--offset", "0")
    assert streams_of(out)["size"] == (192, 108)
    shown, square = decode_frames(out)[10][1], decode_frames(clips["screen"])[10][1]
    assert mean_diff(shown[:40, :80], square[:40, :80]) < 8, "the screen as it is shown, not stretched"


def test_notes_name_a_file_that_is_not_utf8_as_errors_do(clips: dict[str, Path], tmp_path: Path) -> None:
    """Errors print such a name's odd byte as \\xef; notes printed the raw surrogate (\\udcef)."""
    speaker = tmp_path / os.fsdecode(b"st\xefll.mp4")
    shutil.copy(clips["speaker"], speaker)
    proc = run_cli("render", speaker, clips["screen"], "-o", tmp_path / "o.mp4", "-q", "--audio", "screen")
    assert "using the sound of st\\xefll.mp4" in proc.stderr and "\\udc" not in proc.stderr


def _interlaced_clip(path: Path, frames: int = 20) -> Path:
    """A camcorder-style clip flagged interlaced (top field first): a dark bar moving 8 px per
    field over a light wall, its odd lines 1/60 s after its even ones."""
    import av
    from fractions import Fraction

    def picture(t: float) -> np.ndarray:
        img = np.full((144, 192, 3), 200, np.uint8)
        x = int(20 + 480 * t)
        img[:, x : x + 24] = 40
        return img

    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 192, 144, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "12", "x264-params": "interlaced=1:tff=1"}
        for i in range(frames):
            even, odd = picture(i / 30), picture(i / 30 + 1 / 60)
            even[1::2] = odd[1::2]
            frame = av.VideoFrame.from_ndarray(even, format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    return path


def _comb(gray: np.ndarray) -> float:
    """How far each line is from the mean of its neighbours: high where fields disagree."""
    y = gray.astype(np.float32)
    return float(np.abs(y[1:-1] - (y[:-2] + y[2:]) / 2).mean())


def test_interlaced_footage_is_deinterlaced(tmp_path: Path) -> None:
    """Camcorder and capture-card footage (1080i) was keyed with both fields woven together:
    every moving edge combed line by line into the output, and the matte followed the comb.
    The preview and check showed it so too."""
    import av

    from greenscreen.io.reader import read_frames

    clip = _interlaced_clip(tmp_path / "camcorder.mp4")
    with av.open(str(clip)) as c:
        woven = [f.to_ndarray(format="gray") for f in c.decode(video=0)]
    read = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for _, f in read_frames(clip)]
    assert len(read) == len(woven) == 20
    assert np.mean([_comb(f) for f in woven[2:]]) > 4 * np.mean([_comb(f) for f in read[2:]])
    # The preview and check read the frames by index, seeking: deinterlaced as the render reads
    # them (they showed the comb).
    from greenscreen.preview.source import VideoFrames

    frames = VideoFrames(clip)
    try:
        for i in (9, 3, 6):  # a seek back, then forward (the bar crosses the picture by frame 10)
            shown = frames.frame(i).to_ndarray(format="gray")
            assert _comb(shown) < _comb(woven[i]) / 4, i
            assert np.abs(shown.astype(int) - read[i]).mean() < 2.0, i
    finally:
        frames.close()
    # A progressive recording passes through untouched: the decoder's own frames.
    from greenscreen.io.reader import progressive

    webcam = synthetic.write_speaker_clip(tmp_path / "webcam.mp4", size=(128, 72), seconds=0.3, seed=4)
    with av.open(str(webcam)) as c:
        decoded = list(c.decode(video=0))
        assert [id(f) for f in progressive(iter(decoded), c.streams.video[0])] == [id(f) for f in decoded]


def test_a_wmv_recording_is_as_long_as_its_frames(clips: dict[str, Path], tmp_path: Path) -> None:
    """Windows Media (ASF) counts its duration from 0 with the first frame at its preroll: a 3 s
    speaker recording came out as a 3.067 s tutorial, one frame held too long."""
    wmv = tmp_path / "webcam.wmv"
    run_ffmpeg("-i", str(clips["speaker"]), "-c:v", "wmv2", "-c:a", "wmav2", str(wmv))
    source = probe(clips["speaker"])
    assert probe(wmv).duration == pytest.approx(source.duration, abs=0.002)
    out = tmp_path / "o.mp4"
    run_cli("render", wmv, clips["screen"], "-o", out, "-q", "--offset", "0")
    assert streams_of(out)["frames"] == round(source.duration * source.fps) == 50


def test_ctrl_c_in_the_preview_does_not_claim_nothing_was_written(
    monkeypatch: pytest.MonkeyPatch, clips: dict[str, Path]
) -> None:
    """A preset saved with 's' before Ctrl-C is kept: "no output was written" would be wrong."""
    from greenscreen.cli import main

    def interrupted(state: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("greenscreen.preview.window.check_display", lambda: None)
    monkeypatch.setattr("greenscreen.preview.window.run", interrupted)
    result = CliRunner().invoke(main, ["preview", str(clips["speaker"]), str(clips["screen"]), "--offset", "0"])
    assert result.exit_code == 130
    assert result.output.splitlines() == ["interrupted: the preview was closed; presets saved with 's' are kept"]


def _resizing_speaker(path: Path) -> Path:
    """A webcam recording that drops from 320x180 to 160x90 after 1 s, as a browser or video-call
    recorder does under load: two MPEG-TS parts of the same speaker, one after the other."""
    frames = iter(range(60))
    return _reshaping_clip(path, ((320, 180), (160, 90)),
                           lambda size: synthetic.speaker_frame(next(frames) / 30, size, seed=2)[0])


def test_a_crop_follows_a_recording_that_changes_its_size(tmp_path: Path) -> None:
    """--crop is given in pixels of the picture as it starts; after the recording dropped to a
    lower resolution the same pixels were cut from the smaller picture: the speaker zoomed in,
    head cut off, or an unexpected error halfway when the crop left nothing."""
    from greenscreen.io.reader import Crop, read_frames
    from greenscreen.preview.source import VideoFrames

    clip = _resizing_speaker(tmp_path / "webrtc.ts")
    crop = Crop(80, 20, 80, 0)
    frames = [f for _, f in read_frames(clip, crop=crop, size=(160, 160))]
    assert len(frames) == 60
    # The same picture either side of the change, up to the lower resolution's detail.
    assert mean_diff(frames[29], frames[30]) < 6
    seen = VideoFrames(clip)
    try:
        assert mean_diff(seen.bgr(45, (160, 160), crop), frames[45]) < 1
    finally:
        seen.close()
    # A crop that leaves 2 of the first picture's columns would leave 1 of the half-size one:
    # it leaves 2 (an error halfway through the render threw the work away).
    assert Crop(160, 0, 158, 10).scaled((320, 180), (160, 90)) == Crop(79, 0, 79, 5)
    out = tmp_path / "o.mp4"
    screen = synthetic.write_screen_clip(tmp_path / "screen.mp4", size=(320, 180), fps=30.0, seconds=2.0, seed=1)
    run_cli("render", clip, screen, "-o", out, "-q", "--offset", "0", "--crop", "160,0,158,0")
    assert streams_of(out)["frames"] == 60
    # check samples it at one size too (it failed in numpy, with or without a crop).
    for crop_args in ((), ("--crop", "80,20,80,0")):
        proc = run_cli("check", clip, "--json", *crop_args)
        assert json.loads(proc.stdout)["samples"] > 1


def _reshaping_clip(path: Path, sizes: tuple[tuple[int, int], ...], picture: Callable[[tuple[int, int]], np.ndarray]) -> Path:
    """A recording whose picture changes size after each second, ``picture(size)`` in each
    part: MPEG-TS parts one after the other, its clock running on (a browser recorder)."""
    import av
    from fractions import Fraction

    parts = []
    for k, size in enumerate(sizes):
        part = path.with_name(f"{path.stem}.{k}.ts")
        with av.open(str(part), "w", format="mpegts") as out:
            video = out.add_stream("libx264", rate=30)
            video.width, video.height, video.pix_fmt = *size, "yuv420p"
            video.options = {"preset": "ultrafast", "crf": "18"}
            for i in range(30 * k, 30 * k + 30):
                frame = av.VideoFrame.from_ndarray(picture(size), format="bgr24")
                frame.pts, frame.time_base = i * 3000, Fraction(1, 90000)
                out.mux(video.encode(frame))
            out.mux(video.encode(None))
        parts.append(part.read_bytes())
    path.write_bytes(b"".join(parts))
    return path


def _disc(size: tuple[int, int]) -> np.ndarray:
    """A sheet-green picture with a grey disc of radius 40 px in its middle (the same scene
    whatever the picture's size: a narrower picture is the middle of a wider one)."""
    w, h = size
    picture = np.full((h, w, 3), (60, 170, 70), np.uint8)
    cv2.circle(picture, (w // 2, h // 2), 40, (150, 150, 150), -1)
    return picture


def _disc_box(bgr: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box (x, y, w, h) of the grey disc in a picture."""
    grey = (np.abs(bgr.astype(int) - 150).max(axis=2) < 30).astype(np.uint8)
    return cv2.boundingRect(grey)


def test_a_recording_that_changes_its_shape_keeps_its_proportions(tmp_path: Path) -> None:
    """A webcam picture going from 16:9 to 4:3 midway (a browser recorder falling back) was
    stretched into the 16:9 box: the speaker jumped to 1.3x their size. It is fitted now: the
    speaker keeps their size, the sheet's edge fills the sides (it keys as sheet), and a screen
    recording gets black bars."""
    from greenscreen.io.reader import read_frames
    from greenscreen.preview.source import VideoFrames

    clip = _reshaping_clip(tmp_path / "webrtc.ts", ((320, 180), (240, 180)), _disc)
    frames = [f for _, f in read_frames(clip, size=(160, 90))]
    before, after = _disc_box(frames[15]), _disc_box(frames[45])
    assert abs(after[2] - before[2]) <= 2 and abs(after[3] - before[3]) <= 2  # round, same size
    assert abs(after[0] - before[0]) <= 2  # still in the middle
    assert np.abs(frames[45][:, :8].astype(int) - (60, 170, 70)).max() < 25  # sheet at the sides
    screen = [f for _, f in read_frames(clip, size=(160, 90), pixel_format="i420", letterbox=True)]
    y = screen[45][:90]
    assert y[:, :8].max() <= 20 and y[:, -8:].max() <= 20  # black bars (studio black: 16)
    assert abs(_disc_box(cv2.cvtColor(screen[45], cv2.COLOR_YUV2BGR_I420))[2] - before[2]) <= 2
    seen = VideoFrames(clip)
    try:
        assert mean_diff(seen.bgr(45, (160, 90)), frames[45]) < 1
        assert np.abs(seen.i420(45, (160, 90))[0].astype(int) - y).mean() < 1
    finally:
        seen.close()

    # End to end: the speaker's disc is the same size in the tutorial before and after.
    screen_clip = synthetic.write_screen_clip(tmp_path / "screen.mp4", size=(640, 360), fps=30.0, seconds=2.0, seed=1)
    out = tmp_path / "o.mp4"
    run_cli("render", clip, screen_clip, "-o", out, "-q", "--offset", "0", "--layout", "side-by-side")
    rendered = dict(decode_frames(out))
    early, late = (_disc_box(rendered[min(rendered, key=lambda t: abs(t - s))]) for s in (0.5, 1.5))
    assert abs(late[2] - early[2]) <= 3 and abs(late[3] - early[3]) <= 3, (early, late)


def _live_webm(path: Path, seconds: float, *, size: tuple[int, int] = (320, 180)) -> Path:
    """A WebM as a browser's MediaRecorder writes it ("live": no duration, no cues), VP8 +
    Opus, of the synthetic speaker."""
    import av
    from fractions import Fraction

    with av.open(str(path), "w", format="webm", options={"live": "1"}) as out:
        video = out.add_stream("libvpx", rate=30)
        video.width, video.height, video.pix_fmt = *size, "yuv420p"
        sound = out.add_stream("libopus", rate=48_000, layout="mono")
        for i in range(round(seconds * 30)):
            frame = av.VideoFrame.from_ndarray(synthetic.speaker_frame(i / 30, size, seed=3)[0], format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            for packet in video.encode(frame):
                out.mux(packet)
        voice = synthetic.speaker_audio(0, round(seconds * 48_000), 3).astype(np.float32)
        for start in range(0, len(voice) - 959, 960):
            block = av.AudioFrame.from_ndarray(voice[None, start:start + 960], format="flt", layout="mono")
            block.sample_rate, block.pts = 48_000, start
            for packet in sound.encode(block):
                out.mux(packet)
        for stream in (video, sound):
            for packet in stream.encode(None):
                out.mux(packet)
    return path


def test_a_browser_recording_without_a_duration_is_rendered_whole(tmp_path: Path) -> None:
    """A live WebM (MediaRecorder, Loom) states no duration: it was taken for 0 s long, so a
    browser-recorded speaker was cut off at a shorter screen recording's end, and two browser
    recordings made a 0 s "nothing to render"."""
    speaker = _live_webm(tmp_path / "kamera.webm", 3.0)
    assert probe(speaker).duration == pytest.approx(3.0, abs=0.05)
    screen = synthetic.write_screen_clip(tmp_path / "screen.mp4", size=(320, 180), fps=30.0, seconds=1.5, seed=1)
    out = tmp_path / "o.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--offset", "0")
    assert streams_of(out)["duration"] == pytest.approx(3.0, abs=0.1)
    both = tmp_path / "both.mp4"
    run_cli("render", speaker, _live_webm(tmp_path / "bildschirm.webm", 2.0), "-o", both, "-q", "--offset", "0")
    assert streams_of(both)["duration"] == pytest.approx(3.0, abs=0.1)


def _two_track_recording(path: Path, first: str, *, titles: tuple[str, str] = ("", "")) -> Path:
    """An OBS-style recording: the synthetic speaker, the desktop's sound as track 1 (marked
    default, as FFmpeg-based muxers mark the first) and the microphone as track 2. ``first`` is
    "silent" (nothing playing) or "hum" (a steady 120 Hz hum)."""
    import av
    from fractions import Fraction

    rate, seconds = 48_000, 2.0
    n = int(rate * seconds)
    voice = synthetic.speaker_audio(0, n, 1).astype(np.float32)
    desktop = np.zeros(n, np.float32) if first == "silent" else (
        0.05 * np.sin(2 * np.pi * 120 * np.arange(n) / rate)).astype(np.float32)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        tracks = [out.add_stream("aac", rate=rate, layout="mono") for _ in range(2)]
        for track, title in zip(tracks, titles):
            if title:
                track.metadata["title"] = title
        for i in range(round(seconds * 30)):
            frame = av.VideoFrame.from_ndarray(synthetic.speaker_frame(i / 30, (320, 180), seed=1)[0], format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            out.mux(video.encode(frame))
        for track, sound in zip(tracks, (desktop, voice)):
            for start in range(0, n, 1024):
                block = av.AudioFrame.from_ndarray(sound[None, start:start + 1024], format="fltp", layout="mono")
                block.sample_rate, block.pts = rate, start
                out.mux(track.encode(block))
            out.mux(track.encode(None))
        out.mux(video.encode(None))
    return path


@pytest.mark.parametrize(("first", "titles", "suffix"), [
    ("silent", ("", ""), ".mkv"), ("silent", ("", ""), ".mp4"), ("hum", ("", ""), ".mkv"),
    ("hum", ("Desktop Audio", "Mic/Aux"), ".mkv"),
])
def test_the_voice_is_found_on_another_sound_track(tmp_path: Path, first: str, titles: tuple[str, str],
                                                   suffix: str) -> None:
    """OBS records the desktop's sound and the microphone as tracks of their own, and the first
    (the desktop's: silent with nothing playing, or a hum) is marked default: the tutorial was
    rendered without a voice, and not synced by sound."""
    import av

    from greenscreen.io.audio import read_mono
    from greenscreen.io.probe import audio_stream, open_container

    rec = _two_track_recording(tmp_path / f"obs{suffix}", first, titles=titles)
    with av.open(str(rec)) as c:
        assert not list(c.streams.audio)[1].disposition & 1  # a player takes the first
    info = probe(rec)
    assert (info.sound_tracks, info.sound_track) == (2, 2)
    with open_container(rec) as c:
        assert audio_stream(c).index == list(c.streams.audio)[1].index
    heard, _ = read_mono(rec)
    assert np.sqrt(np.mean(heard ** 2)) > 0.02  # the voice, not silence or the hum's 0.035
    screen = synthetic.write_screen_clip(tmp_path / "screen.mp4", size=(320, 180), fps=30.0, seconds=2.0, seed=1)
    out = tmp_path / "o.mp4"
    proc = run_cli("render", rec, screen, "-o", out, "--offset", "0")
    assert f"obs{suffix} has 2 sound tracks: its sound is track 2" in proc.stderr
    assert "the soundtrack is silent" not in proc.stderr


def test_the_sound_track_note_names_the_recording_whose_sound_is_used(tmp_path: Path) -> None:
    """A silent webcam and an OBS screen recording with its voice on track 2: the sound comes
    from the screen recording, and the note says which of its tracks (it said nothing, as only
    the recording asked for was looked at)."""
    screen = _two_track_recording(tmp_path / "obs.mkv", "silent")
    speaker = synthetic.write_speaker_clip(tmp_path / "webcam.mp4", size=(320, 180), seconds=2.0, audio=False)
    proc = run_cli("render", speaker, screen, "-o", tmp_path / "o.mp4")
    assert "webcam.mp4 has no audio; using the sound of obs.mkv" in proc.stderr
    assert "obs.mkv has 2 sound tracks: its sound is track 2" in proc.stderr


def test_a_raw_dv_capture_keeps_its_frame_rate(tmp_path: Path) -> None:
    """A raw DV file (a camcorder captured over FireWire) states its time base (60000) as its
    average rate: it was taken for 30 fps, and `key` repeated every fifth frame."""
    import av
    from fractions import Fraction

    dv = tmp_path / "camcorder.dv"
    with av.open(str(dv), "w", format="dv") as out:
        video = out.add_stream("dvvideo", rate=25)
        video.width, video.height, video.pix_fmt = 720, 576, "yuv420p"
        for i in range(25):
            frame = av.VideoFrame.from_ndarray(synthetic.speaker_frame(i / 25, (720, 576), seed=1)[0], format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    info = probe(dv)
    assert info.fps == 25 and not info.variable_fps
    keyed = tmp_path / "keyed.mov"
    run_cli("key", dv, "-o", keyed, "-q")
    assert streams_of(keyed)["frames"] == 25 and streams_of(keyed)["fps"] == 25


def test_a_speaker_turned_portrait_gets_sheet_beside_them(tmp_path: Path) -> None:
    """A phone turned from landscape to portrait midway: the fitted portrait picture's free
    sides were filled by repeating its edge, which at the bottom is the speaker's shoulders: an
    opaque band of their shirt stood beside them."""
    from greenscreen.io.reader import read_frames

    def bust(size: tuple[int, int]) -> np.ndarray:
        picture = _disc(size)
        w, h = size
        picture[int(h * 0.7):] = (150, 150, 150)  # shoulders across the whole width
        return picture

    clip = _reshaping_clip(tmp_path / "phone.ts", ((320, 180), (180, 320)), bust)
    frames = [f for _, f in read_frames(clip, size=(320, 180))]
    side = frames[45][:, :100]  # the free space left of the fitted portrait picture (x < 109)
    assert np.abs(side.astype(int) - (60, 170, 70)).max() < 25  # sheet green, rows of shoulders too
    keyed = Keyer().key(frames[45])
    assert keyed.alpha[:, :100].max() < 0.05


def test_an_interrupted_mp4_recording_is_named_as_such(tmp_path: Path) -> None:
    """A plain MP4 whose recorder stopped before writing its index (a crash, a power cut) was
    "not a readable video file (Invalid data found when processing input)"."""
    from recordings import write_clip

    whole = write_clip(tmp_path / "whole.mp4", seconds=2.0, size=(320, 180))  # the index written last
    cut = tmp_path / "aufnahme.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    proc = run_cli("render", cut, whole, "-o", tmp_path / "o.mp4", check=False)
    assert proc.returncode == 1
    assert proc.stderr == (f"error: {cut}: the recording was interrupted before it was finished: the MP4 holds "
                           "its pictures but not their index (moov), so it cannot be read\n")


def test_a_voice_that_starts_late_keeps_its_track(tmp_path: Path) -> None:
    """The microphone's track (the default) held only room noise for its first 25 s, and the
    desktop's a jingle and then digital silence: the jingle's track was taken, with no voice."""
    import av
    from fractions import Fraction

    from greenscreen.io.audio import read_mono

    rate, seconds = 48_000, 40
    rng = np.random.default_rng(7)
    mic = np.concatenate([0.003 * rng.standard_normal(25 * rate),
                          synthetic.speaker_audio(0, 15 * rate, 1)]).astype(np.float32)
    t = np.arange(seconds * rate) / rate
    desktop = np.where(t < 12, 0.3 * np.sin(2 * np.pi * 440 * t), 0.0).astype(np.float32)
    rec = tmp_path / "late.mkv"
    with av.open(str(rec), "w") as out:
        video = out.add_stream("libx264", rate=5)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        tracks = [out.add_stream("aac", rate=rate, layout="mono") for _ in range(2)]
        for i in range(seconds * 5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 5)
            out.mux(video.encode(frame))
        for track, sound in zip(tracks, (mic, desktop)):
            for start in range(0, len(sound), 1024):
                block = av.AudioFrame.from_ndarray(sound[None, start:start + 1024], format="fltp", layout="mono")
                block.sample_rate, block.pts = rate, start
                out.mux(track.encode(block))
            out.mux(track.encode(None))
        out.mux(video.encode(None))
    assert probe(rec).sound_track == 1
    heard, got = read_mono(rec)
    assert np.abs(heard[30 * got:]).max() > 0.05  # the voice at 30 s
