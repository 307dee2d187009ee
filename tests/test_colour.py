"""YUV matrices and ranges: BT.709 and full-range recordings keep their colours through a render."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from conftest import mean_diff, pip_box, run_cli, run_ffmpeg
import synthetic
from greenscreen.composite.blend import blend_over_i420
from greenscreen.io.colour import bgr_to_i420, frame_matrix, i420_to_bgr
from greenscreen.io.reader import frame_to_bgr, frame_to_i420
from greenscreen.io.yuv import i420_planes


def _retag(src: Path, dst: Path, *, bt709: bool = True, full_range: bool = False) -> Path:
    """Copy ``src`` with new colour tags in its H.264 headers (the pixels stay as they are)."""
    params = ["matrix_coefficients=1:colour_primaries=1:transfer_characteristics=1"] if bt709 else []
    if full_range:
        params.append("video_full_range_flag=1")
    run_ffmpeg("-i", src, "-c", "copy", "-bsf:v", "h264_metadata=" + ":".join(params), dst)
    return dst


def _first_frame(path: Path) -> av.VideoFrame:
    with av.open(str(path)) as c:
        return next(c.decode(video=0))


def _as_shown(path: Path) -> list[np.ndarray]:
    """Every frame as a player shows it: swscale reads each frame's own matrix and range tags."""
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def test_bt601_is_opencvs_and_bt709_has_its_own_weights() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    assert np.array_equal(bgr_to_i420(image, "bt601"), cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420))
    i420 = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
    assert np.array_equal(i420_to_bgr(i420, "bt601"), cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420))

    def yuv(bgr: tuple[int, int, int]) -> tuple[int, int, int]:
        y, u, v = i420_planes(bgr_to_i420(np.full((2, 2, 3), bgr, np.uint8), "bt709"))
        return int(y[0, 0]), int(u[0, 0]), int(v[0, 0])

    # BT.709 studio range: Y = 16 + 219 * (0.2126 R + 0.7152 G + 0.0722 B) / 255.
    assert yuv((255, 255, 255)) == (235, 128, 128)
    assert yuv((0, 0, 0)) == (16, 128, 128)
    assert yuv((0, 0, 255)) == (63, 102, 240)  # red; BT.601 gives Y 82, U 90
    assert yuv((0, 255, 0)) == (173, 42, 26)
    # Flat 2x2 blocks survive the round trip (chroma is shared per block).
    blocks = cv2.resize(image, (16, 12), interpolation=cv2.INTER_NEAREST)
    back = i420_to_bgr(bgr_to_i420(blocks, "bt709"), "bt709")
    assert np.abs(back.astype(int) - blocks).max() <= 2


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("colour")
    speaker = synthetic.write_speaker_clip(d / "speaker.mp4", size=(320, 180), fps=30.0, seconds=1.0,
                                           audio=True, seed=3)
    # Colour bars: saturated colours, which a wrong matrix visibly shifts (a UI's greys do not).
    screen = d / "screen.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=1", "-pix_fmt", "yuv420p",
               "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", screen)
    return {
        "ui": synthetic.write_screen_clip(d / "ui.mp4", size=(640, 360), fps=30.0, seconds=1.0, seed=6),
        "speaker": speaker,
        "screen": screen,
        "speaker709": _retag(speaker, d / "speaker709.mp4"),
        "screen709": _retag(screen, d / "screen709.mp4"),
        "screen_full": _retag(screen, d / "screen_full.mp4", bt709=False, full_range=True),
    }


def test_reader_decodes_each_recording_with_its_own_matrix_and_range(clips: dict[str, Path]) -> None:
    frame = _first_frame(clips["speaker709"])
    assert frame_matrix(frame) == "bt709" and frame_matrix(_first_frame(clips["speaker"])) == "bt601"
    ours = frame_to_bgr(frame, None)
    swscale = frame.to_ndarray(format="bgr24")
    wrong = i420_to_bgr(frame.to_ndarray(), "bt601")
    # Agrees with FFmpeg's own reading of the tag; the BT.601 reading is visibly off.
    assert mean_diff(ours, swscale) < 1.5
    assert mean_diff(wrong, swscale) > 4 * mean_diff(ours, swscale)

    full = _first_frame(clips["screen_full"])
    planes = frame_to_i420(full, None)
    studio = _first_frame(clips["screen"]).to_ndarray()
    # The same pixel values read as full range map to 16 + 219/255 * value (luma).
    luma = i420_planes(planes)[0].astype(float)
    expected = 16 + i420_planes(studio)[0].astype(float) * 219 / 255
    assert np.abs(luma - expected).max() <= 1
    assert mean_diff(frame_to_bgr(full, None), full.to_ndarray(format="bgr24")) < 1.5


def test_render_keeps_the_screen_recordings_colours_and_the_speakers(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    """A BT.709 screen recording passes through tagged BT.709; a full-range one comes out in
    studio range; in every case both sources look as they did, as a player shows them."""
    x, y, w, h = pip_box((640, 360), (320, 180))
    outside = np.ones((360, 640), bool)
    outside[max(y - 2, 0) : y + h + 2, max(x - 2, 0) : x + w + 2] = False
    reference, other = tmp_path / "bt601.mp4", tmp_path / "ui.mp4"
    run_cli("render", clips["speaker"], clips["screen"], "-o", reference, "-q")
    run_cli("render", clips["speaker"], clips["ui"], "-o", other, "-q")
    pip = [f[y : y + h, x : x + w] for f in _as_shown(reference)]
    # The opaque speaker: the same over two different screens, up to coding noise.
    speaker_at = [
        cv2.erode((np.abs(p.astype(int) - f[y : y + h, x : x + w]).max(axis=2) <= 12).astype(np.uint8),
                  np.ones((3, 3), np.uint8)) > 0
        for p, f in zip(pip, _as_shown(other))
    ]
    assert all(m.mean() > 0.08 for m in speaker_at)
    for screen, speaker in [("screen709", "speaker"), ("screen709", "speaker709"), ("screen_full", "speaker")]:
        out = tmp_path / f"{screen}-{speaker}.mp4"
        run_cli("render", clips[speaker], clips[screen], "-o", out, "-q")
        first = _first_frame(out)
        assert frame_matrix(first) == ("bt709" if screen == "screen709" else "bt601")
        assert int(first.color_range) != 2  # studio range
        shown, source = _as_shown(out), _as_shown(clips[screen])
        assert len(shown) == len(source) == 30
        for n in (0, 15, 29):
            # Read with the other matrix or range, the bars would be 8-10 levels off.
            assert mean_diff(shown[n][outside], source[n][outside]) < 1.5, (screen, n)
            # The speaker looks the same whatever either source's tags, up to the ~2 levels of
            # coding noise between two encodes. (Its low-saturation colours move by under a
            # level between the matrices, so this catches range and gross errors;
            # test_blend_writes_the_canvas_matrix tests the matrix itself.)
            here = speaker_at[n]
            assert mean_diff(shown[n][y : y + h, x : x + w][here], pip[n][here]) < 4.0, (screen, speaker, n)


@pytest.mark.parametrize("matrix", ["bt601", "bt709"])
def test_blend_writes_the_canvas_matrix(matrix: str) -> None:
    """A speaker blended into I420 planes reads back, with the planes' matrix, as its own colours."""
    colours = np.array([(0, 0, 255), (0, 200, 0), (255, 60, 0), (40, 160, 230), (128, 128, 128)], np.uint8)
    foreground = np.repeat(np.repeat(colours[None], 8, axis=0), 8, axis=1)  # 8 x 40 blocks
    canvas = bgr_to_i420(np.full((16, 48, 3), 30, np.uint8), matrix)
    blend_over_i420(i420_planes(canvas), foreground, np.ones((8, 40), np.float32), x=4, y=4, matrix=matrix)
    shown = i420_to_bgr(canvas, matrix)[4:12, 4:44]
    assert np.abs(shown.astype(int) - foreground).max() <= 2
    other = "bt601" if matrix == "bt709" else "bt709"
    assert np.abs(i420_to_bgr(canvas, other)[4:12, 4:44].astype(int) - foreground).max() > 15
