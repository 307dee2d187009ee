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
