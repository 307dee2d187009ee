"""Phone recordings in BT.2020 colours or HDR (HLG, PQ) are read as the BT.709 SDR picture they show.

The HDR clips are made from BT.709 pictures by FFmpeg's own colour management (swscale maps
primaries, transfer and peak itself): an encoder independent of greenscreen's mapping back.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from av.video.reformatter import VideoReformatter

from conftest import mean_diff, pip_box, run_cli, run_ffmpeg
import synthetic
from greenscreen.io import hdr
from greenscreen.io.colour import frame_matrix
from greenscreen.io.probe import probe
from greenscreen.io.reader import Crop, read_frames

SIZE = (320, 180)
FRAMES = 15
#: FFmpeg's transfer values: HLG, PQ, BT.2020 10-bit SDR.
HLG, PQ, SDR2020 = 18, 16, 14


def _pictures() -> list[np.ndarray]:
    return [synthetic.speaker_frame(i / 30, SIZE, seed=4)[0] for i in range(FRAMES)]


def _write(path: Path, trc: int | None, *, matrix_tag: bool = True) -> Path:
    """The pictures as a BT.709 SDR clip (``trc`` None) or, 10 bit, as BT.2020 with ``trc``
    (without its matrix tag unless ``matrix_tag``, as some editors and muxers write it)."""
    to_yuv, to_hdr = VideoReformatter(), VideoReformatter()  # two: each keeps its own setup
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30, options={"crf": "12", "preset": "veryfast"})
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p" if trc is None else "yuv420p10le"
        tags = (1, 1, 1) if trc is None else (9, trc, 9 if matrix_tag else 2)
        cc = stream.codec_context
        cc.color_primaries, cc.color_trc, cc.colorspace = tags
        for i, bgr in enumerate(_pictures()):
            frame = to_yuv.reformat(av.VideoFrame.from_ndarray(bgr, format="bgr24"), format="yuv420p",
                                    dst_colorspace=1)
            frame.colorspace = 1
            if trc is not None:
                frame = to_hdr.reformat(frame, format="yuv420p10le", src_colorspace=1, dst_colorspace=9,
                                        dst_color_trc=trc, dst_color_primaries=9)
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hdr")
    made = {"sdr": _write(d / "sdr.mp4", None), "hlg": _write(d / "iPhone HLG.mov", HLG),
            "pq": _write(d / "pq.mp4", PQ), "sdr2020": _write(d / "sdr2020.mp4", SDR2020),
            "hlg_no_matrix": _write(d / "no matrix.mp4", HLG, matrix_tag=False)}
    made["hlg_portrait"] = d / "hlg portrait.mov"
    run_ffmpeg("-display_rotation:v", "90", "-i", made["hlg"], "-c", "copy", made["hlg_portrait"])
    return made


def _read(path: Path, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    return [f for _, f in read_frames(path, size=size)]


def _naive(path: Path) -> list[np.ndarray]:
    """The frames as read before: the YUV turned into RGB, the colours taken as BT.709 SDR."""
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


@pytest.mark.parametrize("kind", ["hlg", "pq", "sdr2020", "hlg_no_matrix"])
def test_bt2020_and_hdr_recordings_read_as_the_bt709_picture(clips: dict[str, Path], kind: str) -> None:
    with av.open(str(clips[kind])) as c:
        first = next(c.decode(video=0))
    assert hdr.outside_bt709(first) and frame_matrix(first) == "bt709"
    assert probe(clips[kind]).matrix == "bt709"
    sdr, ours, naive = _read(clips["sdr"]), _read(clips[kind]), _naive(clips[kind])
    assert len(ours) == FRAMES
    for n in (0, 7, 14):
        # Within coding noise and 10-bit rounding of the BT.709 picture; read as BT.709, the
        # colours were 12-19 levels off (skin grey-green, the sheet olive).
        assert mean_diff(ours[n], sdr[n]) < 3.0, (kind, n)
        assert mean_diff(naive[n], sdr[n]) > 3 * mean_diff(ours[n], sdr[n]), (kind, n)
        # No colour cast: each channel's mean within 2.5 levels.
        assert np.abs(ours[n].reshape(-1, 3).mean(0) - sdr[n].reshape(-1, 3).mean(0)).max() < 2.5
    # Scaled, and cropped to an odd size, on the way, as a render reads a speaker; and as the
    # screen lane reads a screen recording (yuv420p, tagged BT.709).
    small = _read(clips[kind], (160, 90))[7]
    assert small.shape == (90, 160, 3)
    assert mean_diff(small, _read(clips["sdr"], (160, 90))[7]) < 3.0
    crop = Crop(3, 5, 7, 9)
    cut = [f for _, f in read_frames(clips[kind], size=(155, 83), crop=crop)][7]
    assert cut.shape == (83, 155, 3)
    assert mean_diff(cut, [f for _, f in read_frames(clips["sdr"], size=(155, 83), crop=crop)][7]) < 3.0
    screen = [f for _, f in read_frames(clips[kind], size=(160, 90), pixel_format="frame")][7]
    assert screen.format.name == "yuv420p" and frame_matrix(screen) == "bt709"
    assert mean_diff(screen.to_ndarray(format="bgr24"), _read(clips["sdr"], (160, 90))[7]) < 3.5


def test_sdr_bt709_frames_are_not_mapped(clips: dict[str, Path]) -> None:
    with av.open(str(clips["sdr"])) as c:
        first = next(c.decode(video=0))
    assert not hdr.outside_bt709(first)
    # As FFmpeg reads it, up to how the two sample 4:2:0 chroma (see test_colour).
    assert mean_diff(_read(clips["sdr"])[3], _naive(clips["sdr"])[3]) < 1.5


def test_highlights_roll_off_below_white_keeping_their_hue() -> None:
    """An HDR highlight far above SDR white (a window, a lamp) comes out bright but not clipped
    flat: ordered by brightness, its hue kept (red stays red)."""
    levels = [0.5, 0.75, 0.9, 1.0]  # PQ signal: about 92, 1000, 3900, 10000 cd/m²
    rows = []
    for v in levels:
        rgb = np.zeros((2, 2, 3), np.uint16)
        rgb[..., 0] = int(v * 65535)  # red only
        rgb[..., 1] = rgb[..., 2] = int(v * 0.6 * 65535)
        rows.append(hdr._map_rgb48(rgb, PQ, 1)[0, 0].astype(int))  # BGR
    reds = [r[2] for r in rows]
    assert reds == sorted(reds) and reds[-1] <= 255 and reds[0] < 250
    assert all(r[2] > r[1] + 10 and r[2] > r[0] + 10 for r in rows[1:]), rows  # still red


@pytest.mark.parametrize("trc", [HLG, PQ, SDR2020])
def test_each_pixel_is_mapped_alone_whatever_else_the_picture_holds(trc: int) -> None:
    """The mapping goes a strip of rows at a time and skips the highlight roll-off in strips
    without highlights: a pixel comes out the same in a picture of 150 rows with a highlight in
    a few of them as on its own (a picture of one pixel, which cv2 took for a scalar)."""
    rng = np.random.default_rng(3)
    rgb = rng.integers(2000, 30000, (150, 7, 3)).astype(np.uint16)
    rgb[70:75, 2:5] = 64000  # a lamp, in one strip only
    whole = hdr._map_rgb48(rgb, trc, 9)
    alone = np.stack([hdr._map_rgb48(rgb[y:y + 1, x:x + 1], trc, 9)[0, 0]
                      for y in range(150) for x in range(7)]).reshape(whole.shape)
    assert np.array_equal(whole, alone)


#: R'G'B' code values (16 bit) and what the mapping made of them (BGR) before it went a strip
#: of rows at a time (stop 22): the faster mapping must give the same pixels.
_CODES = np.array([[[1000, 20000, 5000], [30000, 30000, 30000], [60000, 20000, 10000], [45000, 52000, 47000]],
                   [[0, 0, 0], [65535, 65535, 65535], [12000, 40000, 38000], [25000, 9000, 41000]]], np.uint16)
_MAPPED = {
    HLG: [[0, 89, 0], [131, 131, 131], [0, 0, 253], [201, 247, 152], [0, 0, 0], [253, 253, 253], [167, 186, 0],
          [170, 0, 118]],
    PQ: [[0, 79, 0], [153, 153, 153], [0, 0, 255], [176, 254, 0], [0, 0, 0], [255, 255, 255], [208, 248, 0],
         [249, 0, 77]],
    SDR2020: [[0, 82, 0], [117, 117, 117], [0, 0, 255], [181, 206, 155], [0, 0, 0], [255, 255, 255], [148, 163, 0],
              [167, 0, 111]],
}


@pytest.mark.parametrize("trc", [HLG, PQ, SDR2020])
def test_the_mapping_gives_the_pixels_it_always_gave(trc: int) -> None:
    assert hdr._map_rgb48(_CODES, trc, 9).reshape(-1, 3).tolist() == _MAPPED[trc]


def test_portrait_hdr_recording_is_turned_and_mapped(clips: dict[str, Path]) -> None:
    from greenscreen.io.orientation import upright

    assert probe(clips["hlg_portrait"]).matrix == "bt709"
    # Turned as 16-bit R'G'B', still to be mapped at the size it is used (mapped whole first,
    # a portrait iPhone video read 8x slower than a landscape one).
    with av.open(str(clips["hlg_portrait"])) as c:
        stored = next(c.decode(video=0))
    shown = upright(stored)
    assert shown.format.name == "rgb48le" and (shown.width, shown.height) == (SIZE[1], SIZE[0])
    assert hdr.outside_bt709(shown)
    turned = _read(clips["hlg_portrait"])[5]
    assert turned.shape == (SIZE[0], SIZE[1], 3)
    flat = _read(clips["hlg"])[5]
    assert mean_diff(np.rot90(turned, -1), flat) < 1.0  # the same picture, turned a quarter


@pytest.mark.slow
def test_render_of_an_hdr_speaker_and_screen_looks_like_the_sdr_one(clips: dict[str, Path], tmp_path: Path) -> None:
    """Through the real command line: an iPhone's HLG speaker over an HDR screen recording gives
    the tutorial the BT.709 recordings give, tagged BT.709."""
    sdr_out, hdr_out = tmp_path / "sdr.mp4", tmp_path / "hdr.mp4"
    screen = synthetic.write_screen_clip(tmp_path / "screen.mp4", size=(640, 360), fps=30.0, seconds=0.5, seed=2)
    run_cli("render", clips["sdr"], screen, "-o", sdr_out, "-q", "--offset", "0")
    run_cli("render", clips["hlg"], clips["pq"], "-o", hdr_out, "-q", "--offset", "0", "--layout", "full")
    run_cli("render", clips["sdr"], clips["sdr"], "-o", tmp_path / "ref.mp4", "-q", "--offset", "0",
            "--layout", "full")
    ours, ref = _naive(hdr_out), _naive(tmp_path / "ref.mp4")
    with av.open(str(hdr_out)) as c:
        first = next(c.decode(video=0))
    assert frame_matrix(first) == "bt709" and int(first.color_trc) in (1, 2)
    assert len(ours) == len(ref) and len(ours) >= FRAMES - 1
    for n in (2, 8):
        assert mean_diff(ours[n], ref[n]) < 3.5, n
    # The keyed speaker in the picture-in-picture layout too.
    x, y, w, h = pip_box((640, 360), SIZE)
    run_cli("render", clips["hlg"], screen, "-o", tmp_path / "pip.mp4", "-q", "--offset", "0")
    pip, want = _naive(tmp_path / "pip.mp4")[8], _naive(sdr_out)[8]
    assert mean_diff(pip[y : y + h, x : x + w], want[y : y + h, x : x + w]) < 3.5
