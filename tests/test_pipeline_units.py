"""Unit tests of the render pipeline's pieces: layout geometry, blending, timeline, atomic output."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from greenscreen.composite.blend import blend_over
from greenscreen.composite.layout import CORNERS, LayoutSettings, place_speaker
from greenscreen.config import RenderSettings, TimelineSettings
from greenscreen.errors import GreenscreenError
from greenscreen.io.atomic import atomic_path
from greenscreen.io.prefetch import Prefetch
from greenscreen.io.probe import MediaInfo
from greenscreen.pipeline import plan_timeline


@pytest.mark.parametrize("corner", CORNERS)
def test_pip_sits_in_its_corner_with_margin(corner: str) -> None:
    """A keyed speaker stands on the bottom edge (their picture ends in a cut through the torso);
    a window, or flush = false, keeps the margin below."""
    p = place_speaker(LayoutSettings(corner=corner), output=(1920, 1080), speaker=(1280, 720))
    assert p.height == 356 and p.width == 632  # a third of 1080, 16:9, even
    margin = round(0.03 * 1080)
    assert p.x == (margin if "left" in corner else 1920 - margin - p.width)
    assert p.y == (margin if "top" in corner else 1080 - p.height)
    for layout in (LayoutSettings(corner=corner, flush=False), LayoutSettings(corner=corner, window="rounded")):
        p = place_speaker(layout, output=(1920, 1080), speaker=(1280, 720))
        assert p.y == (margin if "top" in corner else 1080 - margin - p.height)


def test_circle_side_by_side_and_full_layouts() -> None:
    circle = place_speaker(LayoutSettings(layout="circle"), output=(1280, 720), speaker=(640, 360))
    assert circle.width == circle.height and circle.shape is not None
    assert circle.shape[circle.height // 2, circle.width // 2] == 1.0 and circle.shape[0, 0] == 0.0
    sbs = place_speaker(LayoutSettings(layout="side-by-side"), output=(1280, 720), speaker=(640, 480))
    assert sbs.x >= 640 and sbs.screen_box is not None and sbs.screen_box[2] == 640
    full = place_speaker(LayoutSettings(layout="full"), output=(1280, 720), speaker=(1280, 720))
    assert (full.x, full.y, full.width, full.height) == (0, 0, 1280, 720)


def test_blend_over_mixes_by_alpha_and_clips_at_edges() -> None:
    canvas = np.full((10, 10, 3), 100, np.uint8)
    fg = np.full((4, 4, 3), 200, np.uint8)
    alpha = np.array([[0.0, 0.5, 1.0, 1.0]] * 4, np.float32)
    blend_over(canvas, fg, alpha, x=8, y=8)  # half outside
    assert canvas[8, 8, 0] == 100 and canvas[8, 9, 1] == 150
    assert canvas[0:8].max() == 100


def _info(duration: float, fps: int = 30, size: tuple[int, int] = (1280, 720)) -> MediaInfo:
    return MediaInfo(Path("x.mp4"), size[0], size[1], Fraction(fps), duration, True)


def test_timeline_follows_screen_and_longer_source() -> None:
    s = RenderSettings()
    tl = plan_timeline(_info(10.0), _info(4.0, 25, (640, 480)), s)
    assert tl.fps == 30 and tl.size == (1280, 720) and tl.frame_count == 300
    shifted = RenderSettings(timeline=TimelineSettings(offset=8.0))
    assert plan_timeline(_info(10.0), _info(4.0), shifted).frame_count == 360
    trimmed = RenderSettings(timeline=TimelineSettings(start=1.0, end=3.0, width=641))
    tl = plan_timeline(_info(10.0), _info(4.0), trimmed)
    assert (tl.first_frame, tl.frame_count) == (30, 60)
    assert tl.size == (640, 360), "odd sizes round to even for 4:2:0"
    with pytest.raises(GreenscreenError, match="nothing to render"):
        plan_timeline(_info(10.0), _info(4.0), RenderSettings(timeline=TimelineSettings(start=20.0)))


def test_a_hair_past_the_last_frame_adds_no_frame() -> None:
    """The speaker, moved by an offset found by sound to the millisecond, ended 0.4 ms after
    the screen recording: the output got a 241st frame (8.033 s) holding the last one."""
    def frames(offset: float) -> int:
        settings = RenderSettings(timeline=TimelineSettings(offset=offset))
        return plan_timeline(_info(8.0), _info(6.5), settings).frame_count

    assert frames(1.5004) == 240
    assert frames(1.51) == 241, "a third of a frame more is a frame of its own"
    trimmed = RenderSettings(timeline=TimelineSettings(end=7.0004))
    assert plan_timeline(_info(8.0), _info(6.5), trimmed).frame_count == 211, "a trim is taken as given"


def test_atomic_path_keeps_old_file_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    out.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["o.mp4"]
    with atomic_path(out) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".mp4"
        tmp.write_text("new")
    assert out.read_text() == "new"


def test_atomic_path_writes_through_a_link(tmp_path: Path) -> None:
    """A link named as the output kept pointing at the file it named; that file got the new
    content. (Renaming over the link replaced the link with a file and left the target stale.)"""
    (tmp_path / "week").mkdir()
    target = tmp_path / "week" / "tutorial.mp4"
    target.write_text("old")
    link = tmp_path / "latest.mp4"
    link.symlink_to(Path("week") / "tutorial.mp4")
    with atomic_path(link) as tmp:
        assert tmp.parent == target.parent
        tmp.write_text("new")
    assert link.is_symlink() and target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["tutorial.mp4"]
    dangling = tmp_path / "next.mp4"
    dangling.symlink_to(tmp_path / "week" / "later.mp4")
    with atomic_path(dangling) as tmp:
        tmp.write_text("made")
    assert dangling.is_symlink() and (tmp_path / "week" / "later.mp4").read_text() == "made"
    # A link into a folder that is gone is refused before any work, as a missing folder is.
    from greenscreen.errors import OutputError
    from greenscreen.io.atomic import check_output_path

    nowhere = tmp_path / "gone.mp4"
    nowhere.symlink_to(tmp_path / "no such folder" / "x.mp4")
    with pytest.raises(OutputError, match="output folder does not exist"):
        check_output_path(nowhere)


def test_prefetch_passes_items_and_errors() -> None:
    def produce():
        yield 1
        yield 2
        raise ValueError("bad frame")

    it = Prefetch(produce(), maxsize=1)
    assert next(it) == 1 and next(it) == 2
    with pytest.raises(ValueError, match="bad frame"):
        next(it)
    it.close()
    endless = Prefetch(iter(range(10**9)), maxsize=2)
    assert next(endless) == 0
    endless.close()  # must not hang on a full queue


def test_prefetch_ready_says_whether_next_would_wait() -> None:
    import threading
    import time

    go = threading.Event()

    def produce():
        go.wait(10)
        yield "block"

    it = Prefetch(produce(), maxsize=1)
    assert not it.ready()  # the producer is held back: next() would wait
    go.set()
    deadline = time.monotonic() + 10
    while not it.ready() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert next(it) == "block"
    it._thread.join(10)  # the producer has queued the end and finished
    assert it.ready() and next(it, None) is None
    it.close()


def test_settings_reject_bad_values_with_reasons() -> None:
    from greenscreen.key.settings import KeySettings
    from greenscreen.settings import replace_checked

    updated, problems = replace_checked(
        KeySettings(), {"key_color": "#12345", "tolerance": 3, "sofness": 0.2, "choke": 2}
    )
    assert updated.choke == 2 and updated.key_color == "auto"
    assert any("key_color" in p and "#3c8a41" in p for p in problems)
    assert any("tolerance" in p and "between 0 and 1" in p for p in problems)
    assert any("did you mean 'softness'" in p for p in problems)
    assert replace_checked(KeySettings(), {"key_color": "#3C8A41"})[1] == []


def test_sound_is_decoded_in_blocks_with_the_same_samples_across_format_changes() -> None:
    """Audio frames are gathered a few seconds at a time before resampling (much cheaper than
    frame by frame); a stream that changes layout or rate mid-way (a phone switching mics)
    starts a new block and loses nothing."""
    import av

    from greenscreen.io.audio import _Decoding

    def frame(layout: str, rate: int, value: float, n: int = 1024) -> av.AudioFrame:
        channels = 1 if layout == "mono" else 2
        f = av.AudioFrame.from_ndarray(np.full((channels, n), value, np.float32), format="fltp", layout=layout)
        f.sample_rate = rate
        return f

    def frames() -> list[av.AudioFrame]:
        return ([frame("mono", 48000, 0.5) for _ in range(3)] + [frame("stereo", 48000, 0.25) for _ in range(2)]
                + [frame("mono", 44100, -0.5) for _ in range(2)])

    class Container:  # what _Decoding reads: decode() of one stream
        def decode(self, stream: object) -> list[av.AudioFrame]:
            return frames()

    decoding = _Decoding(Container(), None, format="fltp", layout="stereo", rate=48000)
    gathered = np.concatenate([f.to_ndarray() for f in decoding], axis=1)
    # Frame by frame, each run of one kind through a resampler of its own.
    expected = []
    for run in (frames()[:3], frames()[3:5], frames()[5:]):
        one_by_one = av.AudioResampler(format="fltp", layout="stereo", rate=48000)
        expected += [o.to_ndarray() for f in [*run, None] for o in one_by_one.resample(f)]
    assert abs(gathered.shape[1] - (5 * 1024 + 2 * 1024 * 48000 / 44100)) <= 1
    np.testing.assert_allclose(gathered, np.concatenate(expected, axis=1), atol=1e-6)
    assert gathered[:, 3 * 1024 : 5 * 1024] == pytest.approx(0.25)  # the stereo part, as it was
    # The 44.1 kHz mono part, resampled and spread over both channels at -3 dB.
    assert gathered[:, 5 * 1024 + 100 : -100] == pytest.approx(-0.5 * np.sqrt(0.5), abs=1e-3)


def test_jittering_sound_timestamps_do_not_add_up_to_a_drift() -> None:
    """Timestamps that come a little late and then early again (a capture program's jitter) fill
    at most one small hole; only a real jump ahead is filled, with its length, and one broken
    timestamp a day ahead adds no day of silence."""
    from fractions import Fraction

    import av

    from greenscreen.io.audio import _Decoding

    def frames(jump_at: int | None) -> list[av.AudioFrame]:
        out = []
        for i in range(200):  # 1024-sample frames at 48 kHz, every other one stamped 15 ms late
            f = av.AudioFrame.from_ndarray(np.full((1, 1024), 0.25, np.float32), format="fltp", layout="mono")
            f.sample_rate, f.time_base = 48000, Fraction(1, 48000)
            if jump_at == -1:  # one broken timestamp, a day ahead: not a dropout to fill
                f.pts = i * 1024 + (720 if i % 2 else 0) + (48000 * 86400 if i == 100 else 0)
            else:
                f.pts = i * 1024 + (720 if i % 2 else 0) + (48000 if jump_at is not None and i >= jump_at else 0)
            out.append(f)
        return out

    class Container:
        def __init__(self, jump_at: int | None):
            self.jump_at = jump_at

        def decode(self, stream: object) -> list[av.AudioFrame]:
            return frames(self.jump_at)

    for jump_at, filled in ((None, 720), (100, 720 + 48000), (-1, 720)):
        holes: list[tuple[float, float]] = []
        decoding = _Decoding(Container(jump_at), None, format="fltp", layout="mono", rate=48000, holes=holes)
        samples = sum(f.samples for f in decoding)
        assert samples == 200 * 1024 + filled, holes
        if jump_at == 100:
            # The jitter once, then the real hole (the late stamps around it take their share of it).
            assert sum(s for _, s in holes) == pytest.approx(0.015 + 1.0, abs=1e-6) and len(holes) <= 3


def test_an_output_too_large_to_play_is_warned_about() -> None:
    from greenscreen.pipeline import too_large_to_play

    assert too_large_to_play((1920, 1080)) == [] and too_large_to_play((4096, 2304)) == []
    (warning,) = too_large_to_play((5120, 2880))
    assert "5120x2880" in warning and "--size" in warning


def test_text_and_figures_are_made_valid_for_json_and_metadata() -> None:
    """Undecodable bytes of a Linux name (surrogate-escaped) and a Windows name's lone
    surrogate both become U+FFFD; valid text is untouched."""
    from greenscreen.io.files import valid_text, valid_json

    assert valid_text("Grüße") == "Grüße"
    assert valid_text("B\udcfcro") == "B\ufffdro"
    assert valid_text("a\ud800b") == "a\ufffdb"
    assert valid_json({"n": ["B\udcfcro", 3]}) == {"n": ["B\ufffdro", 3]}
    assert valid_json({"tint": float("nan"), "x": [float("inf"), 0.5]}) == {"tint": None, "x": [None, 0.5]}


@pytest.mark.parametrize(("make", "says"), [
    (lambda: LayoutSettings(corner="bottom-lefft"),
     "LayoutSettings: corner must be one of bottom-right, bottom-left, top-right, top-left, auto, got 'bottom-lefft' "
     "(did you mean 'bottom-left'?)"),
    (lambda: LayoutSettings(size=5), "LayoutSettings: size must be between 0.05 and 1, got 5.0"),
    (lambda: LayoutSettings(size="0.3"), "LayoutSettings: size must be float, got str '0.3'"),
    (lambda: TimelineSettings(fps=float("nan")), "TimelineSettings: fps must be between 0 and 240, got nan"),
])
def test_settings_made_in_python_are_held_to_the_presets_bounds(make: object, says: str) -> None:
    """A misspelt corner or a size of 5 rendered a wrong picture without a word; the command
    line, presets and edit files refuse them. Now the settings refuse them as they are made."""
    from greenscreen.errors import SettingsError
    from greenscreen.key.settings import KeySettings

    with pytest.raises(SettingsError) as caught:
        make()  # type: ignore[operator]
    assert str(caught.value) == says
    with pytest.raises(SettingsError, match="key_color must be .*; tolerance must be between 0 and 1, got -1.0"):
        KeySettings(tolerance=-1, key_color="green")  # every problem at once
    # What means the same is taken, in the field's own type: an int or a NumPy number for a
    # float (a size computed with NumPy), an alias word as in a preset.
    assert type(KeySettings(tolerance=0).tolerance) is float
    assert LayoutSettings(size=np.float64(0.3)).size == 0.3 and type(LayoutSettings(size=np.float32(0.5)).size) is float
    assert type(LayoutSettings(crop_left=np.int64(10)).crop_left) is int
    assert KeySettings(learn_plate=np.bool_(False)).learn_plate is False
    from fractions import Fraction

    from greenscreen.io.writer import EncodeSettings

    assert LayoutSettings(size=Fraction(3, 10)).size == 0.3 and EncodeSettings(crf=20.0).crf == 20
    assert LayoutSettings(background=Path("bg.jpg")).background == "bg.jpg"
    with pytest.raises(SettingsError, match="crf must be int, got float 20.5"):
        EncodeSettings(crf=20.5)
    with pytest.raises(SettingsError, match=r"RenderSettings: key must be KeySettings, got dict; use KeySettings\(\*\*"):
        RenderSettings(key={"tolerance": 0.2})  # type: ignore[arg-type]
    from greenscreen.io.loudness import SoundSettings

    assert SoundSettings(loudness="off").loudness == 0.0


def test_render_says_what_to_pass_for_the_command_lines_words(tmp_path: Path) -> None:
    from greenscreen.pipeline import render

    calls = {
        "settings must be a RenderSettings, got str 'dim-room'; a preset is greenscreen.presets.load_preset(name)":
            {"settings": "dim-room"},
        "cuts must be Cut objects, got str '1-2' (from text: Cut.parse('1-2'))": {"cuts": ["1-2"]},
        "chapters must be Chapter objects, got str '1 Eins' (from text: Chapter.parse('1 Eins'))":
            {"chapters": ["1 Eins"]},
        "progress must be a function of (done, total), got int": {"progress": 5},
    }
    calls["cuts must be a list of Cut objects, got str '1-2'; use [Cut.parse('1-2')]"] = {"cuts": "1-2"}
    calls["cuts must be a list of Cut objects, got NoneType None"] = {"cuts": None}
    for says, kwargs in calls.items():
        with pytest.raises(TypeError) as caught:
            render(tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "o.mp4", **kwargs)  # type: ignore[arg-type]
        assert str(caught.value) == says
    assert list(tmp_path.iterdir()) == []


def test_a_segment_made_in_python_with_a_wrong_size_is_named() -> None:
    from greenscreen.errors import SettingsError
    from greenscreen.plan import Segment, make_plan

    timeline = plan_timeline(_info(2.0, size=(640, 360)), _info(2.0, size=(320, 180)), RenderSettings())
    with pytest.raises(SettingsError, match=r"^the segment 0-1: LayoutSettings: size must be between 0.05 and 1"):
        make_plan(timeline, RenderSettings(), (320, 180), [Segment(0, 1, "pip", size=5)])
