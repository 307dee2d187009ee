"""``greenscreen key`` through the real CLI: RGBA PNG, PNG folder, WebM VP9 and ProRes with alpha."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np

import cards
from conftest import run_cli
import synthetic


def _truth(tmp_path: Path) -> tuple[Path, np.ndarray]:
    frame, alpha = synthetic.speaker_frame(2.0, (320, 180), seed=1)
    path = tmp_path / "Foto Büro.png"
    cv2.imwrite(str(path), frame)
    return path, alpha


def test_image_to_rgba_png(tmp_path: Path) -> None:
    photo, alpha_gt = _truth(tmp_path)
    out = tmp_path / "keyed.png"
    run_cli("key", photo, "-o", out, "-q")
    rgba = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (180, 320, 4)
    alpha = rgba[..., 3] / 255.0
    assert np.abs(alpha - alpha_gt).mean() < 0.03
    inside = alpha_gt > 0.99
    fg = rgba[..., :3][inside].astype(int)
    assert ((fg[:, 1] - np.maximum(fg[:, 0], fg[:, 2])) > 40).mean() < 0.01, "despilled colour"


def test_video_to_png_folder_webm_and_prores(tmp_path: Path) -> None:
    clip = synthetic.write_speaker_clip(tmp_path / "s.mp4", size=(160, 90), seconds=0.5, seed=2)
    folder = tmp_path / "frames"
    run_cli("key", clip, "-o", folder, "-q")
    pngs = sorted(folder.glob("*.png"))
    assert len(pngs) == 15
    first = cv2.imread(str(pngs[0]), cv2.IMREAD_UNCHANGED)
    assert first.shape == (90, 160, 4) and first[0, 0, 3] < 10, "sheet corner is transparent"

    webm = tmp_path / "s.webm"
    run_cli("key", clip, "-o", webm, "-q")
    with av.open(str(webm)) as c:
        stream = c.streams.video[0]
        assert stream.metadata.get("alpha_mode") == "1"
        decoder = av.CodecContext.create("libvpx-vp9", "r")  # the native decoder drops alpha
        frames = [f for p in c.demux(stream) for f in decoder.decode(p)]
    assert len(frames) == 15 and frames[0].format.name == "yuva420p"

    mov = tmp_path / "s.mov"
    run_cli("key", clip, "-o", mov, "-q")
    with av.open(str(mov)) as c:
        ctx = c.streams.video[0].codec_context
        assert ctx.name == "prores" and ctx.pix_fmt.startswith("yuva444")
        rgba = next(c.decode(video=0)).to_ndarray(format="rgba")
    assert rgba[0, 0, 3] < 10 and rgba[45, 80, 3] > 245


def test_key_never_replaces_a_folder_of_other_files(tmp_path: Path) -> None:
    """A folder output replaces an earlier key's frames, never a folder with anything else in
    it (it once emptied the folder, the recording itself included), nor the current folder."""
    folder = tmp_path / "videos"
    folder.mkdir()
    clip = synthetic.write_speaker_clip(folder / "speaker.mp4", size=(96, 64), seconds=0.2, seed=3)
    (folder / "notes.txt").write_text("mine")
    before = clip.read_bytes()
    proc = run_cli("key", clip, "-o", folder, "-q", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "videos" in proc.stderr and "notes.txt" in proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "speaker.mp4"]
    assert clip.read_bytes() == before and (folder / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["videos"], "no temporary folder left"

    frames = tmp_path / "frames"
    frames.mkdir()
    frames.chmod(0o750)  # not what a new folder gets
    (frames / "000099.png").write_bytes(b"an earlier key's frame")
    run_cli("key", clip, "-o", frames, "-q")
    assert sorted(p.name for p in frames.iterdir()) == [f"{i:06d}.png" for i in range(6)]
    assert frames.stat().st_mode & 0o777 == 0o750, "the folder keeps its permissions"

    # A plate kept among an earlier key's frames would go with them.
    plate = frames / "000002.png"
    proc = run_cli("key", clip, "-o", frames, "-q", "--plate", plate, check=False)
    assert proc.returncode == 1 and "000002.png" in proc.stderr and plate.exists()

    proc = subprocess.run([sys.executable, "-m", "greenscreen", "key", str(clip), "-o", ".", "-q"],
                          cwd=frames, capture_output=True, text=True)
    assert proc.returncode == 1 and "current folder" in proc.stderr and "Traceback" not in proc.stderr
    assert len(list(frames.iterdir())) == 6


def test_key_bad_input_is_one_line(tmp_path: Path) -> None:
    bad = synthetic.write_not_a_video(tmp_path / "x.mp4")
    proc = run_cli("key", bad, "-o", tmp_path / "o.webm", check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "x.mp4" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.mp4"]


CUT = "[layout]\ncrop_left = 60\ncrop_top = 10\ncrop_right = 20\ncrop_bottom = 0\n"
"""A preset that crops (as a layout setting, like every preset crop)."""


def _bgr(i420: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)


def test_key_applies_a_presets_crop_to_an_image(tmp_path: Path) -> None:
    """A preset's crop cuts the picture before keying, as render does: the red and blue bars at
    the edges are gone, the grey rectangle is opaque where the crop moved it, the sheet is clear.
    --crop on the command line wins over the preset."""
    preset = tmp_path / "cut.toml"
    preset.write_text(CUT, encoding="utf-8")
    photo = tmp_path / "marked.png"
    cv2.imwrite(str(photo), _bgr(cards.marked_speaker((320, 180), (100, 40, 160, 100))(0)))
    out = tmp_path / "keyed.png"
    run_cli("key", photo, "-o", out, "-q", "-p", preset)
    rgba = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (170, 240, 4)
    alpha = rgba[..., 3]
    # The rectangle: x 100-160, y 40-100 of the photo, 60 and 10 pixels cut off the left and top.
    assert (alpha[32:88, 42:98] > 250).all()
    rest = np.ones_like(alpha, bool)
    rest[28:92, 38:102] = False
    assert (alpha[rest] < 10).all(), "the sheet is clear and no bar is left at the edges"

    whole = tmp_path / "whole.png"
    run_cli("key", photo, "-o", whole, "-q", "-p", preset, "--crop", "0,0,0,0")
    rgba = cv2.imread(str(whole), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (180, 320, 4)
    assert (rgba[:, 5:45, 3] > 250).all() and (rgba[:, -12:, 3] > 250).all(), "both bars, uncropped"


def test_key_crops_video_frames_and_plate_alike(tmp_path: Path) -> None:
    """A video keyed with a cropping preset and a photo of the empty (stained) sheet: every
    frame is cropped, and the plate with it, so the stains line up with the plate and clear."""
    size = (320, 180)
    preset = tmp_path / "cut.toml"
    preset.write_text(CUT, encoding="utf-8")
    clip = cards.write_clip(tmp_path / "speaker.mp4", cards.timecode_speaker(size, stained=True), fps=20, seconds=0.25)
    plate = tmp_path / "empty sheet.png"
    cv2.imwrite(str(plate), _bgr(cards.empty_sheet(size, stained=True)(0)))
    folder = tmp_path / "frames"
    run_cli("key", clip, "-o", folder, "-q", "-p", preset, "--plate", plate)
    pngs = sorted(folder.glob("*.png"))
    assert len(pngs) == 5
    ys, xs = cards.square(size)
    square = np.s_[ys.start - 10 + 3 : ys.stop - 10 - 3, xs.start - 60 + 3 : xs.stop - 60 - 3]
    stains = np.zeros((170, 240), bool)
    for stain in cards.stain_mask(size):
        stains |= stain[10:, 60:300]
    assert stains.sum() > 1000
    for png in pngs:
        rgba = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        assert rgba.shape == (170, 240, 4)
        assert (rgba[square][..., 3] > 250).all(), png.name
        assert rgba[..., 3][stains].max() < 10, f"{png.name}: stains keyed with the cropped plate"


def _dropped_frames_clip(path: Path, frames: int, dropped: set[int]) -> Path:
    """A webcam clip at 30 fps that dropped the ``dropped`` frames (its timestamps jump over
    them): a sheet with a grey block whose level is 40 + 3 * the frame's number."""
    from fractions import Fraction

    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        video.time_base = Fraction(1, 30)
        video.options = {"preset": "ultrafast", "crf": "8"}
        for i in range(frames):
            if i in dropped:
                continue
            picture = np.empty((64, 96, 3), np.uint8)
            picture[:] = (60, 150, 70)
            picture[16:48, 32:64] = 40 + 3 * i
            frame = av.VideoFrame.from_ndarray(picture, format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    return path


def test_key_keeps_the_recordings_clock_over_dropped_frames(tmp_path: Path) -> None:
    """A webcam that drops frames in dim light: the keyed clip held only the frames it got, one
    after the other, so it ended early and drifted from the recording's sound (100 ms after
    three drops). Each dropped frame is now the one before, repeated."""
    dropped = {20, 40, 41}
    clip = _dropped_frames_clip(tmp_path / "webcam.mkv", 64, dropped)
    folder = tmp_path / "frames"
    run_cli("key", clip, "-o", folder, "-q")
    levels = [float(cv2.imread(str(p), cv2.IMREAD_UNCHANGED)[24:40, 40:56, 1].mean())
              for p in sorted(folder.glob("*.png"))]
    shown = [max(j for j in range(i + 1) if j not in dropped) for i in range(64)]
    assert len(levels) == 64
    # Levels 3 apart per frame (2.6 in the video's studio range); the coding shifts them all alike.
    residual = np.array(levels) - [40 + 3 * j for j in shown]
    assert np.abs(residual - np.median(residual)).max() < 1.3
    mov = tmp_path / "webcam.mov"
    run_cli("key", clip, "-o", mov, "-q")
    with av.open(str(mov)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 64 and abs(float(frames[-1].time) - 63 / 30) < 0.002


def test_key_refuses_a_folder_named_like_a_video(tmp_path: Path) -> None:
    """``-o out.mp4`` made a folder called out.mp4 (MP4 cannot hold the alpha channel); the next
    program to open it found a folder."""
    clip = synthetic.write_speaker_clip(tmp_path / "s.mp4", size=(128, 72), seconds=0.2, seed=2)
    for name in ("out.mp4", "out.MKV", "out.gif", "frame.png"):
        proc = run_cli("key", clip, "-o", tmp_path / name, check=False)
        assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
        assert "cannot hold transparency" in proc.stderr and ".webm, a .mov or a folder" in proc.stderr
        assert not (tmp_path / name).exists()
    run_cli("key", clip, "-o", tmp_path / "frames.v2", "-q")  # a dot in a folder name is fine
    assert len(list((tmp_path / "frames.v2").glob("*.png"))) == 6


def test_frame_grid_fills_gaps_keeps_the_newest_and_closes_up_clock_breaks() -> None:
    from fractions import Fraction

    from greenscreen.key_export import on_frame_grid

    def grid(items: list[tuple[float, str]]) -> list[str]:
        return list(on_frame_grid(items, Fraction(30)))  # type: ignore[arg-type]

    assert grid([(0.0, "a"), (0.1, "b")]) == ["a", "a", "a", "b"]  # two frames dropped
    assert grid([(0.0, "a"), (0.01, "b"), (1 / 30, "c")]) == ["b", "c"]  # two in one frame's time
    assert grid([(0.0, "a"), (1 / 30, "b"), (3600.0, "c")]) == ["a", "b", "c"], "an hour's jump is closed up"
    assert grid([(0.0, "a"), (20.0, "b")]) == ["a"] * 600 + ["b"], "a 20 s gap is a gap"
    back = [(i / 30, c) for i, c in enumerate("abc")] + [(i / 30, c) for i, c in enumerate("defg")]
    assert grid(back) == list("abcdefg"), "a clock that starts again loses no frame"


def test_a_keyed_image_is_a_png_by_name_too(tmp_path: Path) -> None:
    """``key photo -o x.jpg`` (or x.webm) wrote a PNG under that name: a .jpg with alpha that is
    no JPEG, a "video" that is a picture."""
    photo, _ = _truth(tmp_path)
    for name in ("x.jpg", "x.webm", "x"):
        proc = run_cli("key", photo, "-o", tmp_path / name, check=False)
        assert proc.returncode == 1 and "give a name ending in .png" in proc.stderr, proc.stderr
        assert not (tmp_path / name).exists()
    run_cli("key", photo, "-o", tmp_path / "X.PNG", "-q")
    assert cv2.imread(str(tmp_path / "X.PNG"), cv2.IMREAD_UNCHANGED).shape[2] == 4
