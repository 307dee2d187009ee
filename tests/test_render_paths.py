"""The compositor's I420 path gives the pixels of a plain BGR composite, for every layout.

Render and preview composite in I420 (only the speaker's rectangle is converted). These tests
hold it to +-2 per sample against a straightforward BGR composite of the same geometry
(:func:`_reference_compose`), check that the large-speaker layouts put the right picture in the
right regions, and that the threaded frame loop emits exactly one frame per output frame. No
timing assertions: speed is measured by ``benchmarks/render_speed.py``.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import synthetic
from greenscreen.composite.blend import LightWrap, blend_over, blend_over_i420
from greenscreen.composite.layout import LAYOUTS, LayoutSettings
from greenscreen.compositor import BACKGROUND_BGR, Compositor
from greenscreen.config import RenderSettings
from greenscreen.frames import hex_to_bgr
from greenscreen.io.reader import Crop, frame_to_bgr, frame_to_i420, read_frames
from greenscreen.io.writer import VideoWriter
from greenscreen.io.yuv import frame_planes, i420_planes, new_frame
from greenscreen.key import Keyer, KeyResult, KeySettings
from greenscreen.pipeline import render

TOLERANCE = 2


def _smooth_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A BGR picture with detail but inside the YUV gamut, like decoded video."""
    noise = rng.integers(0, 256, (h, w, 3), np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 1.5)


def _keyed(rng: np.random.Generator, w: int, h: int) -> KeyResult:
    """A speaker layer with hard edges, soft edges and fully transparent parts."""
    alpha = np.clip(rng.random((h, w), np.float32) * 3 - 1, 0, 1).astype(np.float32)
    alpha[: h // 3] = 0.0
    alpha[h // 2 :, w // 4 : w // 2] = 1.0
    return KeyResult(_smooth_image(rng, h, w), alpha)


def _to_i420(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)


def _reference_compose(comp: Compositor, screen: np.ndarray | None, keyed: KeyResult | None) -> np.ndarray:
    """The composite done the plain way, in BGR: background, the screen in its box, the speaker
    layer blended over it (the compositor's geometry and layer, none of its I420 shortcuts)."""
    w, h = comp.output_size
    canvas = np.empty((h, w, 3), np.uint8)
    canvas[:] = BACKGROUND_BGR
    if comp.default.screen_box is None:  # full: the speaker over its background, no screen
        canvas[:] = hex_to_bgr(comp.default.style.background)
    elif screen is not None:
        x, y, sw, sh = comp.placement.screen_box or (0, 0, w, h)
        canvas[y : y + sh, x : x + sw] = screen
    layer = None if keyed is None else comp.speaker_layer(keyed)
    if layer is not None:
        blend_over(canvas, layer.foreground, layer.alpha, x=layer.x, y=layer.y, wrap=layer.wrap)
    return canvas


def _max_diff(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("output", [(320, 180), (322, 182), (1280, 720)])
def test_i420_path_matches_a_plain_composite(layout: str, output: tuple[int, int]) -> None:
    """compose_i420 == I420 of compose, for each layout; 182 rows is not a multiple of 4 and
    180 rows gives an odd margin (5 px)."""
    rng = np.random.default_rng(7)
    settings = RenderSettings(layout=LayoutSettings(layout=layout))
    comp = Compositor(settings, output=output, speaker=(640, 360))
    sw, sh = comp.screen_size
    screen = _smooth_image(rng, sh, sw)
    keyed = _keyed(rng, *comp.speaker_size)
    for scr, key in ((screen, keyed), (screen, None), (None, keyed), (None, None)):
        want = _to_i420(_reference_compose(comp, scr, key))
        got = np.empty_like(want)
        comp.compose_i420(None if scr is None else i420_planes(_to_i420(scr)), key, i420_planes(got))
        assert _max_diff(got, want) <= TOLERANCE, (layout, scr is None, key is None)


def _boxed(keyed: KeyResult, y0: int, y1: int, x0: int, x1: int) -> KeyResult:
    """``keyed`` as the keyer hands it over: only a box, with alpha 0 outside it."""
    alpha = np.zeros_like(keyed.alpha)
    alpha[y0:y1, x0:x1] = keyed.alpha[y0:y1, x0:x1]
    return KeyResult(keyed.foreground[y0:y1, x0:x1].copy(), alpha[y0:y1, x0:x1].copy(), x0, y0, keyed.foreground)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("wrap", [0.0, 0.8])
def test_boxed_key_composes_like_the_whole_frame(layout: str, wrap: float) -> None:
    """The compositor places the keyer's box at its place in the webcam picture: the same
    pixels as the whole frame with alpha 0 around the box, in BGR and I420, for boxes inside
    the picture, at its border, beyond the circle's window and outside it altogether."""
    rng = np.random.default_rng(11)
    settings = RenderSettings(layout=LayoutSettings(layout=layout), key=KeySettings(light_wrap=wrap))
    comp = Compositor(settings, output=(640, 360), speaker=(640, 360))
    sw, sh = comp.screen_size
    screen = _smooth_image(rng, sh, sw)
    w, h = comp.speaker_size
    keyed = _keyed(rng, w, h)
    for box in ((h // 4, h - 7, w // 5, w - 9), (0, h, 0, w), (h // 2, h, 0, 13), (3, 9, 5, 12)):
        boxed = _boxed(keyed, *box)
        assert boxed.size == (w, h) and np.array_equal(boxed.alpha[box[0]:box[1], box[2]:box[3]], boxed.box_alpha)
        whole = KeyResult(boxed.foreground, boxed.alpha)
        assert np.array_equal(_reference_compose(comp, screen, boxed), _reference_compose(comp, screen, whole)), box
        got, want = np.empty((540, 640), np.uint8), np.empty((540, 640), np.uint8)
        comp.compose_i420(i420_planes(_to_i420(screen)), boxed, i420_planes(got))
        comp.compose_i420(i420_planes(_to_i420(screen)), whole, i420_planes(want))
        assert np.array_equal(got, want), box


def test_light_wrap_lights_the_inner_edge_with_the_screen() -> None:
    """A grey speaker over a red screen turns reddish just inside its edge, fading inwards;
    its middle and the screen around it are untouched; a black screen adds no light; the I420
    route agrees."""
    canvas = np.full((120, 160, 3), (0, 0, 200), np.uint8)
    fg = np.full((80, 80, 3), 120, np.uint8)
    alpha = np.zeros((80, 80), np.float32)
    alpha[10:70, 20:60] = 1.0
    plain, wrapped = canvas.copy(), canvas.copy()
    blend_over(plain, fg, alpha, x=40, y=20)
    wrap = LightWrap(0.6, 8.0)
    blend_over(wrapped, fg, alpha, x=40, y=20, wrap=wrap)
    red = wrapped[60, 60:100, 2].astype(int)  # along a row across the speaker (x 60..99)
    assert red[0] > 160 and red[0] > red[3] > red[8] > red[14] and red[20] == 120
    assert np.array_equal(wrapped[..., :2], plain[..., :2])  # red light adds only red
    assert np.array_equal(wrapped[:30], plain[:30]) and np.array_equal(wrapped[:, :60], plain[:, :60])
    i420 = _to_i420(canvas)
    blend_over_i420(i420_planes(i420), fg, alpha, x=40, y=20, wrap=wrap)
    assert np.abs(cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420).astype(int) - wrapped)[30:90, 60:100].mean() < 2
    for screen, amount in (((0, 0, 0), 0.6), ((0, 0, 200), 0.0)):
        unchanged, expected = np.full((120, 160, 3), screen, np.uint8), np.full((120, 160, 3), screen, np.uint8)
        blend_over(unchanged, fg, alpha, x=40, y=20, wrap=LightWrap(amount, 8.0))
        blend_over(expected, fg, alpha, x=40, y=20)
        assert np.array_equal(unchanged, expected)


@pytest.mark.parametrize("layout", ["circle", "full"])
def test_light_wrap_ignores_window_and_picture_edges(layout: str) -> None:
    """A speaker opaque over the whole webcam picture has no edge for the light to wrap round:
    neither the circle window nor the picture's border lights up."""
    rng = np.random.default_rng(2)
    plain = Compositor(RenderSettings(layout=LayoutSettings(layout=layout)), output=(320, 180), speaker=(320, 180))
    wrapped = Compositor(
        RenderSettings(layout=LayoutSettings(layout=layout), key=KeySettings(light_wrap=1.0, light_wrap_size=10)),
        output=(320, 180), speaker=(320, 180),
    )
    w, h = plain.speaker_size
    keyed = KeyResult(_smooth_image(rng, h, w), np.ones((h, w), np.float32))
    screen = np.full((180, 320, 3), 230, np.uint8)
    assert np.array_equal(_reference_compose(wrapped, screen, keyed), _reference_compose(plain, screen, keyed))
    got, want = np.empty((270, 320), np.uint8), np.empty((270, 320), np.uint8)
    wrapped.compose_i420(i420_planes(_to_i420(screen)), keyed, i420_planes(got))
    plain.compose_i420(i420_planes(_to_i420(screen)), keyed, i420_planes(want))
    assert np.array_equal(got, want)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_i420_path_matches_a_plain_composite_with_light_wrap(layout: str) -> None:
    """With light wrap on, the I420 composite is still the plain one: the chroma
    planes are blurred at half resolution, which differs from blurring first only at sharp
    colour edges."""
    rng = np.random.default_rng(7)
    settings = RenderSettings(layout=LayoutSettings(layout=layout), key=KeySettings(light_wrap=0.8, light_wrap_size=6))
    for output in ((320, 180), (1280, 720)):
        comp = Compositor(settings, output=output, speaker=(640, 360))
        sw, sh = comp.screen_size
        screen, keyed = _smooth_image(rng, sh, sw), _keyed(rng, *comp.speaker_size)
        want = _to_i420(_reference_compose(comp, screen, keyed))
        got = np.empty_like(want)
        comp.compose_i420(i420_planes(_to_i420(screen)), keyed, i420_planes(got))
        diff = np.abs(got.astype(np.int16) - want)
        assert np.percentile(diff, 99.9) <= 6 and diff.mean() < 0.15, (layout, output)


@pytest.mark.parametrize(("x", "y", "w", "h"), [(4, 6, 20, 10), (5, 3, 20, 10), (6, 4, 11, 9), (-3, 31, 16, 16)])
def test_blend_over_i420_off_the_chroma_grid(x: int, y: int, w: int, h: int) -> None:
    """Odd positions and sizes, and clipping at the canvas edge, match the BGR route."""
    rng = np.random.default_rng(3)
    canvas = _smooth_image(rng, 40, 48)
    keyed = _keyed(rng, w, h)
    want = canvas.copy()
    blend_over(want, keyed.foreground, keyed.alpha, x=x, y=y)
    got = _to_i420(canvas)
    blend_over_i420(i420_planes(got), keyed.foreground, keyed.alpha, x=x, y=y)
    assert _max_diff(got, _to_i420(want)) <= TOLERANCE


@pytest.mark.parametrize(("x", "y"), [(4, 6), (5, 3)])
def test_blend_skips_transparent_margins_exactly(x: int, y: int) -> None:
    """Only the box of visible pixels is blended (sheet around the speaker is skipped): the
    result is the full blend's, also when that box sits off the chroma grid; a fully
    transparent layer leaves the canvas as it was."""
    rng = np.random.default_rng(5)
    canvas = _smooth_image(rng, 40, 48)
    fg = _smooth_image(rng, 24, 30)
    alpha = np.zeros((24, 30), np.float32)
    alpha[7:18, 3:20] = rng.random((11, 17), np.float32)
    want = canvas.astype(np.float32)
    a = alpha[..., None]
    want[y : y + 24, x : x + 30] = a * fg + (1 - a) * want[y : y + 24, x : x + 30]
    bgr = canvas.copy()
    blend_over(bgr, fg, alpha, x=x, y=y)
    assert _max_diff(bgr, np.round(want).astype(np.uint8)) <= 1
    got = _to_i420(canvas)
    blend_over_i420(i420_planes(got), fg, alpha, x=x, y=y)
    assert _max_diff(got, _to_i420(np.round(want).astype(np.uint8))) <= TOLERANCE
    untouched = _to_i420(canvas)
    blend_over_i420(i420_planes(untouched), fg, np.zeros_like(alpha), x=x, y=y)
    assert np.array_equal(untouched, _to_i420(canvas))


def test_blend_a_one_pixel_layer() -> None:
    """The smallest layer blends too (cv2.compare cannot take a one-pixel array)."""
    bgr = np.zeros((8, 8, 3), np.uint8)
    blend_over(bgr, np.full((1, 1, 3), 200, np.uint8), np.ones((1, 1), np.float32), x=3, y=3)
    assert bgr[3, 3].tolist() == [200, 200, 200] and int(bgr.sum()) == 600
    i420 = _to_i420(np.zeros((8, 8, 3), np.uint8))
    blend_over_i420(i420_planes(i420), np.full((1, 1, 3), 200, np.uint8), np.ones((1, 1), np.float32), x=3, y=3)
    assert _max_diff(i420, _to_i420(bgr)) <= TOLERANCE


def test_i420_compose_leaves_the_screen_frame_alone() -> None:
    """A held screen frame is composed again on the next output frame: it must not change."""
    rng = np.random.default_rng(1)
    comp = Compositor(RenderSettings(), output=(320, 180), speaker=(320, 180))
    screen = _to_i420(_smooth_image(rng, 180, 320))
    before = screen.copy()
    first, again = np.empty_like(screen), np.empty_like(screen)
    comp.compose_i420(i420_planes(screen), _keyed(rng, *comp.speaker_size), i420_planes(first))
    comp.compose_i420(i420_planes(screen), None, i420_planes(again))
    assert np.array_equal(screen, before)
    assert not np.array_equal(first, again) and np.array_equal(again, before)


def test_i420_planes_views_for_any_even_height() -> None:
    buf = np.arange(22 * 3 // 2 * 8, dtype=np.int64).astype(np.uint8).reshape(33, 8)
    y, u, v = i420_planes(buf)
    assert y.shape == (22, 8) and u.shape == v.shape == (11, 4)
    assert y.base is not None and np.shares_memory(u, buf)
    assert u.reshape(-1)[0] == buf.reshape(-1)[22 * 8] and v.reshape(-1)[-1] == buf.reshape(-1)[-1]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("paths")
    return {
        "speaker": synthetic.write_speaker_clip(
            d / "speaker.mp4", size=(320, 180), fps=30.0, seconds=1.0, audio=True, seed=11
        ),
        "speaker25": synthetic.write_speaker_clip(
            d / "speaker25.mp4", size=(256, 144), fps=25.0, seconds=0.6, audio=False, seed=12
        ),
        "screen": synthetic.write_screen_clip(
            d / "screen.mp4", size=(320, 180), fps=30.0, seconds=1.0, seed=13
        ),
    }


@pytest.mark.parametrize(("size", "crop_box"), [(None, (0, 0, 320, 180)), ((160, 90), (0, 0, 320, 180)), ((100, 60), (20, 10, 300, 170))])
def test_reader_i420_matches_bgr(clips: dict[str, Path], size, crop_box) -> None:
    """The I420 reader crops and scales like the BGR reader (whose frames the preview shows)."""
    x0, y0, x1, y1 = crop_box
    crop = Crop(x0, y0, 320 - x1, 180 - y1)
    with av.open(str(clips["screen"])) as c:
        frame = next(c.decode(video=0))
        bgr = frame_to_bgr(frame, size, crop)
        i420 = frame_to_i420(frame, size, crop)
    assert i420.shape == (bgr.shape[0] * 3 // 2, bgr.shape[1])
    assert _max_diff(cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420), bgr) <= TOLERANCE


def test_writer_takes_i420_with_height_not_a_multiple_of_four(tmp_path: Path) -> None:
    out = tmp_path / "w.mp4"
    writer = VideoWriter(out, width=64, height=38, fps=Fraction(30), audio=False)
    with pytest.raises(ValueError, match="I420"):
        writer.write_i420(np.zeros((38, 64), np.uint8))
    frame = np.full((57, 64), 128, np.uint8)
    frame[:38] = 200
    for _ in range(3):
        writer.write_i420(frame)
    writer.close()
    with av.open(str(out)) as c:
        decoded = [f.to_ndarray() for f in c.decode(video=0)]
    assert len(decoded) == 3 and _max_diff(decoded[0], frame) <= TOLERANCE


def test_writer_encodes_one_frame_refilled_each_time(tmp_path: Path) -> None:
    """The render loop fills and encodes the same yuv420p frame again and again: every output
    frame must hold what was in it when it was written, not what came later."""
    out = tmp_path / "reuse.mp4"
    writer = VideoWriter(out, width=66, height=38, fps=Fraction(30), audio=False)
    canvas = new_frame(66, 38)
    y, u, v = frame_planes(canvas)
    assert y.shape == (38, 66) and u.shape == v.shape == (19, 33)
    levels = [30, 200, 90, 160, 60]
    for level in levels:
        y[...] = level
        u[...] = 128
        v[...] = 128
        writer.write_frame(canvas)
    with pytest.raises(ValueError, match="yuv420p frame of 66x38"):
        writer.write_frame(new_frame(64, 38))
    writer.close()
    with av.open(str(out)) as c:
        lumas = [float(f.to_ndarray()[:38].mean()) for f in c.decode(video=0)]
    assert lumas == pytest.approx(levels, abs=2)


def test_reader_frame_format_matches_i420(clips: dict[str, Path]) -> None:
    """pixel_format="frame" hands out the decoder's frames (no copy) with the I420 reader's pixels,
    scaled and cropped alike."""
    for size, crop in ((None, Crop()), ((160, 90), Crop()), ((100, 60), Crop(20, 10, 20, 10))):
        frames = list(read_frames(clips["screen"], size=size, crop=crop, pixel_format="frame"))
        planes = list(read_frames(clips["screen"], size=size, crop=crop, pixel_format="i420"))
        assert len(frames) == len(planes) == 30
        for (t1, frame), (t2, i420) in zip(frames[::10], planes[::10]):
            assert t1 == t2 and frame.format.name == "yuv420p"
            for got, want in zip(frame_planes(frame), i420_planes(i420)):
                np.testing.assert_array_equal(got, want)


class _SolidKey:
    """A stand-in keyer: the whole webcam frame, fully opaque, tinted red, counting calls.

    Keeps the layout tests independent of keyer quality (another issue), and lets the speaker's
    rectangle be found exactly in the output.
    """

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, keyer: object, frame: np.ndarray) -> KeyResult:
        self.calls += 1
        fg = np.empty_like(frame)
        fg[:] = (40, 40, 220)
        return KeyResult(fg, np.ones(frame.shape[:2], np.float32))


def _decode(path: Path) -> list[np.ndarray]:
    return [f for _, f in read_frames(path)]


@pytest.mark.parametrize("layout", ["side-by-side", "full", "pip"])
def test_layouts_put_screen_and_speaker_in_their_regions(
    layout: str, clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _SolidKey()
    monkeypatch.setattr(Keyer, "key", lambda self, frame: key(self, frame))
    settings = RenderSettings(layout=LayoutSettings(layout=layout))
    out = tmp_path / f"{layout}.mp4"
    result = render(clips["speaker"], clips["screen"], out, settings)
    frames = _decode(out)
    assert result.frames == len(frames) == 30 and key.calls == 30
    comp = Compositor(settings, output=(320, 180), speaker=(320, 180))
    p = comp.placement
    screens = _decode(clips["screen"])
    for i in (0, 15, 29):
        frame = frames[i]
        speaker = frame[p.y + 2 : p.y + p.height - 2, p.x + 2 : p.x + p.width - 2].astype(int)
        assert np.abs(speaker - (40, 40, 220)).mean() < 6, "the speaker fills its rectangle"
        shown = np.zeros_like(frame)
        shown[:] = BACKGROUND_BGR
        box = p.screen_box or (0, 0, 320, 180)
        bx, by, bw, bh = box
        shown[by : by + bh, bx : bx + bw] = cv2.resize(screens[i], (bw, bh), interpolation=cv2.INTER_AREA)
        outside = np.ones(frame.shape[:2], bool)
        outside[max(p.y - 2, 0) : p.y + p.height + 2, max(p.x - 2, 0) : p.x + p.width + 2] = False
        if outside.any():
            diff = np.abs(frame.astype(int) - shown.astype(int))[outside].mean()
            assert diff < 4, f"screen / background outside the speaker ({layout}, frame {i})"


def test_frame_count_duration_and_keying_once_per_shown_frame(
    clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 25 fps, 0.6 s speaker on a 30 fps, 1 s screen: 30 frames; the speaker is keyed once per
    webcam frame it shows (15), then hidden after its last frame."""
    key = _SolidKey()
    monkeypatch.setattr(Keyer, "key", lambda self, frame: key(self, frame))
    out = tmp_path / "mixed.mp4"
    threads = cv2.getNumThreads()
    during: set[int] = set()
    result = render(clips["speaker25"], clips["screen"], out, progress=lambda *_: during.add(cv2.getNumThreads()))
    frames = _decode(out)
    assert result.frames == len(frames) == 30 and abs(result.duration - 1.0) < 1e-6
    assert key.calls == 15
    # OpenCV's own thread pool is off while the render's lanes fill the cores, and back after.
    assert during == {1} and cv2.getNumThreads() == threads
    with av.open(str(out)) as c:
        assert abs(float(c.streams.video[0].duration * c.streams.video[0].time_base) - 1.0) < 0.05
        assert c.streams.audio, "the output always has a soundtrack"
    p = Compositor(RenderSettings(), output=(320, 180), speaker=(256, 144)).placement
    red = [
        np.abs(f[p.y + 2 : p.y + p.height - 2, p.x + 2 : p.x + p.width - 2].astype(int) - (40, 40, 220)).mean() < 6
        for f in frames
    ]
    assert all(red[:18]) and not any(red[-5:])


def test_queue_depth_shrinks_for_large_frames() -> None:
    """Lanes hold up to four picture-in-picture frames, fewer full-frame 1080p keyed frames."""
    from greenscreen.pipeline import queue_depth

    assert queue_depth(632 * 356 * 7) == 4
    assert queue_depth(1920 * 1080 * 7) == 1 and queue_depth(1920 * 1080 * 3) == 1
    assert queue_depth(10**12) == 1


@pytest.mark.parametrize("how", ["moved", "deleted"])
def test_an_output_folder_moved_or_deleted_midway_is_said_and_leaves_nothing(tmp_path: Path, how: str) -> None:
    """A sync client or a tidy user moved the folder while the render ran: 'unexpected error
    (FileNotFoundError)', and the half-written file stayed in the moved folder."""
    import shutil

    from greenscreen.errors import OutputError
    from greenscreen.pipeline import render

    speaker = synthetic.write_speaker_clip(tmp_path / "speaker.mp4", size=(160, 90), seconds=1.0, audio=False, seed=3)
    screen = synthetic.write_screen_clip(tmp_path / "screen.mp4", size=(320, 180), fps=30.0, seconds=1.0, seed=4)
    folder = tmp_path / "heute"
    folder.mkdir()

    def tidy(done: int, total: int) -> None:
        if done == 10:
            if how == "moved":
                folder.rename(tmp_path / "archiv")
            else:
                shutil.rmtree(folder)

    with pytest.raises(OutputError, match="the output folder was moved or deleted during the render; nothing was written"):
        render(speaker, screen, folder / "tutorial.mp4", progress=tidy)
    if how == "moved":
        assert list((tmp_path / "archiv").iterdir()) == []
