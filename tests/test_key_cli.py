"""``greenscreen key`` through the real CLI: RGBA PNG, PNG folder, WebM VP9 and ProRes with alpha."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from conftest import run_cli
from greenscreen import synthetic


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


def test_key_bad_input_is_one_line(tmp_path: Path) -> None:
    bad = synthetic.write_not_a_video(tmp_path / "x.mp4")
    proc = run_cli("key", bad, "-o", tmp_path / "o.webm", check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "x.mp4" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.mp4"]
