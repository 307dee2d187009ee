"""The preview's logic without a display: sliders, keys, views, colour picking, saving, frames."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tomllib
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from greenscreen.compositor import Compositor
from greenscreen.config import RenderSettings
from greenscreen.io.colour import bgr_to_i420, i420_to_bgr
from greenscreen.io.reader import Crop, read_frames
from greenscreen.io.yuv import i420_planes
from greenscreen.key.settings import KeySettings
from greenscreen.preview.sliders import preview_sliders
from greenscreen.preview.source import ArraySource, VideoFrames
from greenscreen.preview.state import CHECKER, KEYS_LEFT, KEYS_RIGHT, LETTERBOX_BGR, VIEWS, PreviewState
from greenscreen.settings import check_value

SHEET = (40, 200, 60)  # BGR: a green sheet
SHIRT = (60, 60, 200)  # BGR: a red shirt
SCREEN = (200, 120, 30)  # BGR: a blue-ish screen recording


@pytest.fixture(autouse=True)
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "greenscreen" / "presets"


def speaker_frames(n: int = 3, size: tuple[int, int] = (320, 180)) -> list[np.ndarray]:
    """A flat sheet with a solid 'speaker' block in the middle."""
    w, h = size
    frames = []
    for _ in range(n):
        img = np.empty((h, w, 3), np.uint8)
        img[:] = SHEET
        img[h // 4 : h, w // 3 : 2 * w // 3] = SHIRT
        frames.append(img)
    return frames


def _px(image: np.ndarray, y: int, x: int) -> tuple[int, ...]:
    return tuple(int(v) for v in image[y, x])


def _is_checker_grey(pixel: np.ndarray) -> bool:
    """One of the checkerboard's greys (+-1: the composite view went through I420)."""
    b, g, r = (int(v) for v in pixel)
    return max(b, g, r) - min(b, g, r) <= 1 and any(abs(g - grey) <= 1 for grey in CHECKER)


def make_state(*, screen: bool = True, layout: str = "full", **kwargs) -> PreviewState:
    screens = [np.full((360, 640, 3), SCREEN, np.uint8)] * 3 if screen else None
    base = RenderSettings()
    settings = dataclasses.replace(
        base,
        # full over the screen: the speaker fills the output, the keyed-out sheet shows what is behind
        layout=dataclasses.replace(base.layout, layout=layout, **({"background": "screen"} if layout == "full" else {})),
        key=dataclasses.replace(base.key, refine=0, temporal=0.0),
    )
    source = ArraySource(speaker_frames(), screens, fps=25.0, output=(640, 360))
    return PreviewState(source, settings, save_name="test", **kwargs)


# --- sliders --------------------------------------------------------------------------------


def test_every_ranged_key_setting_has_a_slider() -> None:
    """Derived from the schema: a new KeySettings field with a range gets a slider by itself."""
    names = {s.name for s in preview_sliders() if s.group == "key"}
    for f in dataclasses.fields(KeySettings):
        meta = f.metadata
        ranged = meta.get("choices") or (meta.get("min") is not None and meta.get("max") is not None)
        if ranged or f.type in ("bool", bool):
            assert f.name in names, f.name
    layout = {s.name for s in preview_sliders() if s.group == "layout"}
    assert {"size", "corner", "margin"} <= layout


@pytest.mark.parametrize("slider", preview_sliders(), ids=lambda s: s.label)
def test_slider_positions_round_trip_and_stay_in_range(slider) -> None:
    cls = type(getattr(RenderSettings(), slider.group))
    values = [slider.to_value(p) for p in range(slider.count + 1)]
    for position, value in enumerate(values):
        assert slider.to_position(value) == position
        assert check_value(cls, slider.name, value) is None, (position, value)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        assert values == sorted(values) and len(set(values)) == len(values)
        spec = dataclasses.fields(cls)
        meta = {f.name: f.metadata for f in spec}[slider.name]
        assert values[0] == meta["min"] and values[-1] == meta["max"]
    default = getattr(getattr(RenderSettings(), slider.group), slider.name)
    assert slider.to_value(slider.to_position(default)) == default, "default not on the slider"


def test_slider_moves_change_settings_but_an_echo_keeps_an_off_grid_value() -> None:
    state = make_state()
    state.update("key", tolerance=0.123)
    pos = state.slider_position("tolerance")
    assert not state.set_slider("tolerance", pos)  # OpenCV echoing the position back
    assert state.settings.key.tolerance == 0.123
    assert state.set_slider("tolerance", pos + 5)
    assert state.settings.key.tolerance == pytest.approx(0.17)
    assert state.set_slider("corner", 1)
    assert state.settings.layout.corner == "bottom-left"


# --- keys -----------------------------------------------------------------------------------


def test_keys() -> None:
    state = make_state()
    state.handle_key(ord(" "))
    assert state.playing
    state.tick(now=100.0)
    assert state.index == 1
    state.tick(now=100.001)  # faster than the frame rate: no step
    assert state.index == 1
    state.handle_key(ord(" "))
    assert not state.playing
    state.handle_key(next(iter(KEYS_LEFT)))
    assert state.index == 0
    state.handle_key(next(iter(KEYS_LEFT)))
    assert state.index == 0  # clamped
    state.handle_key(next(iter(KEYS_RIGHT)))
    assert state.index == 1
    for key, view in zip("1234", VIEWS):
        state.handle_key(ord(key))
        assert state.view == view
    state.handle_key(ord("v"))
    assert state.view == VIEWS[0]
    state.handle_key(ord("h"))
    assert state.show_help
    state.handle_key(-1)
    assert not state.quit
    state.handle_key(27)
    assert state.quit
    other = make_state()
    other.handle_key(ord("q"))
    assert other.quit


# --- views ----------------------------------------------------------------------------------


def test_composite_view_is_the_compositor_output() -> None:
    state = make_state(layout="pip")
    frame = state.render()
    comp = Compositor(state.settings, output=(640, 360), speaker=(320, 180))
    speaker = speaker_frames()[0]
    small = cv2.resize(speaker, comp.speaker_size, interpolation=cv2.INTER_AREA)
    out = np.empty((540, 640), np.uint8)
    screen = i420_planes(bgr_to_i420(np.full((360, 640, 3), SCREEN, np.uint8)))
    comp.compose_i420(screen, comp.key(small), i420_planes(out))
    # The view is render's I420 frame, converted to BGR once.
    np.testing.assert_array_equal(frame, i420_to_bgr(out))


def test_views_show_the_right_pixels() -> None:
    state = make_state(layout="full")  # the speaker fills the 640x360 output
    comp = state.render()
    assert _px(comp, 20, 20) == pytest.approx(SCREEN, abs=3)  # sheet keyed out: screen shows
    assert _px(comp, 300, 320) == pytest.approx(SHIRT, abs=3)  # the speaker stays
    state.view = "matte"
    matte = state.render()
    assert tuple(matte[20, 20]) == (0, 0, 0) and tuple(matte[300, 320]) == (255, 255, 255)
    state.view = "checker"
    checker = state.render()
    assert _is_checker_grey(checker[20, 20])
    assert _px(checker, 300, 320) == pytest.approx(SHIRT, abs=3)
    state.view = "compare"
    compare = state.render()
    assert compare.shape == (360, 640, 3)
    assert _px(compare, 180, 10) == pytest.approx(SHEET, abs=2)  # original on the left...
    assert _px(compare, 180, 330) == pytest.approx(SCREEN, abs=3)  # ...composite on the right
    assert tuple(compare[10, 160]) == LETTERBOX_BGR  # bars above the fitted half


def test_without_a_screen_the_speaker_is_over_a_checkerboard() -> None:
    state = make_state(screen=False, layout="full")
    frame = state.render()
    assert _is_checker_grey(frame[20, 20])
    assert _px(frame, 300, 320) == pytest.approx(SHIRT, abs=3)


def test_display_adds_status_but_render_stays_clean() -> None:
    state = make_state()
    clean = state.render()
    shown = state.display()
    assert not np.array_equal(clean[:20], shown[:20])
    np.testing.assert_array_equal(clean[100:], shown[100:])


# --- picking and saving ---------------------------------------------------------------------


@pytest.mark.parametrize("view", VIEWS)
def test_click_on_the_sheet_picks_its_colour(view: str) -> None:
    state = make_state(layout="full")
    state.view = view
    state.render()
    b, g, r = SHEET
    # Top-left of the speaker picture in every view (the compare view shows it at the left).
    x, y = (10, 90) if view == "compare" else (10, 10)
    assert state.click(x, y) == f"#{r:02x}{g:02x}{b:02x}"
    assert state.settings.key.key_color == f"#{r:02x}{g:02x}{b:02x}"


def test_click_off_the_speaker_changes_nothing() -> None:
    state = make_state(layout="pip")
    state.render()
    assert state.click(5, 5) is None
    assert state.settings.key.key_color == "auto"
    state.handle_key(ord("a"))
    assert state.settings.key.key_color == "auto"


def test_s_saves_the_settings_as_toml(user_dir: Path) -> None:
    state = make_state(layout="pip", description="from a test")
    state.render()
    state.set_slider("tolerance", state.slider_position("tolerance") + 10)
    state.set_slider("size", state.slider_position("size") + 7)
    p = state.compositor.placement
    state.click(p.x + 2, p.y + 2)
    state.handle_key(ord("s"))
    path = user_dir / "test.toml"
    assert state.saved == [path] and str(path) in state.message
    assert tomllib.loads(path.read_text(encoding="utf-8")) == {
        "description": "from a test",
        "key": {"key_color": "#3cc828", "tolerance": 0.2, "refine": 0, "temporal": 0.0},
        "layout": {"size": 0.4},
    }


def test_save_asks_for_a_name_when_it_can(user_dir: Path) -> None:
    asked: list[str] = []

    def ask(suggested: str) -> str:
        asked.append(suggested)
        return "kitchen light"

    state = make_state(ask_name=ask)
    assert state.save() == user_dir / "kitchen-light.toml"
    assert asked == ["test"]


def test_s_keeps_the_session_when_the_preset_folder_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A locked or read-only profile: pressing s ended the preview with an unexpected error,
    and the whole tuning session was lost. The preset goes into the current folder instead,
    the terminal is told why, and the window stays open."""
    (tmp_path / "config").write_text("a file where the config folder should be")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "test.toml").write_text("# the user's own edit file\n", encoding="utf-8")
    state = make_state()
    state.set_slider("tolerance", state.slider_position("tolerance") + 10)
    state.handle_key(ord("s"))
    assert not state.quit and state.saved == [work / "test-2.toml"]
    assert (work / "test.toml").read_text(encoding="utf-8") == "# the user's own edit file\n", "not replaced"
    assert tomllib.loads((work / "test-2.toml").read_text(encoding="utf-8"))["key"]["tolerance"] == 0.2
    assert len(state.problems) == 1 and "cannot create the preset folder" in state.problems[0]
    assert "could not be written" in state.message
    # Nowhere to write at all (the current folder gone): still open, and said so.
    monkeypatch.chdir(tmp_path)
    shutil.rmtree(work)
    work.write_text("a file where the folder was")
    monkeypatch.setattr(Path, "cwd", classmethod(lambda cls: work))
    state.handle_key(ord("s"))
    assert not state.quit and len(state.saved) == 1 and len(state.problems) == 2
    assert "could not save" in state.message


# --- random-access frames -------------------------------------------------------------------


def write_numbered_clip(path: Path, count: int = 40, gop: int = 8) -> Path:
    """A clip whose frame i has a distinct picture, with a keyframe every ``gop`` frames."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        stream.options = {"g": str(gop), "bf": "2"}
        for i in range(count):
            img = np.zeros((64, 96, 3), np.uint8)
            img[:, : (i * 2) % 96] = (40 + i * 5) % 255
            img[10:20, 10:20] = (0, 0, 255)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def test_random_access_frames_match_sequential_decoding(tmp_path: Path) -> None:
    path = write_numbered_clip(tmp_path / "numbered.mp4")
    crop = Crop(2, 4, 6, 0)
    expected = list(read_frames(path, size=(44, 30), crop=crop))
    frames = VideoFrames(path, cache_size=4)
    try:
        assert len(frames) == len(expected)
        assert frames.times == pytest.approx([t for t, _ in expected])
        order = [0, 39, 5, 6, 7, 20, 3, 38, 17, 16, 15, 0, 33, 34, 35, 36, 1]
        for i in order:
            np.testing.assert_array_equal(frames.bgr(i, (44, 30), crop), expected[i][1], err_msg=f"frame {i}")
        assert frames.index_at(-1.0) is None
        assert frames.index_at(expected[5][0] + 0.001) == 5
        assert frames.index_at(expected[5][0] - 0.01, 0.02) == 5  # within the tolerance
    finally:
        frames.close()


# --- the preview shows what render writes --------------------------------------------------


def test_preview_keys_and_composes_like_render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stepping through the preview keys every frame exactly as render does (same frames, same
    keyer state, offset and the speaker's end included) and shows the frame render encodes."""
    import synthetic
    from greenscreen import pipeline
    from greenscreen.compositor import Compositor as RenderCompositor
    from greenscreen.preview.source import PreviewSource

    speaker = synthetic.write_speaker_clip(
        tmp_path / "speaker.mp4", size=(256, 144), fps=25.0, seconds=1.0, audio=False, seed=7
    )
    screen = synthetic.write_screen_clip(tmp_path / "screen.mp4", size=(320, 180), fps=30.0, seconds=1.2, seed=8)
    base = RenderSettings()
    settings = dataclasses.replace(
        base,
        key=dataclasses.replace(base.key, tolerance=0.2, temporal=0.7),
        layout=dataclasses.replace(base.layout, layout="circle", corner="bottom-left", crop_left=16),
        timeline=dataclasses.replace(base.timeline, offset=0.1),
    )
    keyed_by_render: list = []
    frames_by_render: list[np.ndarray] = []
    original = RenderCompositor.compose_i420

    def spy(self, screen, keyed, out, t=None, frame=None):  # type: ignore[no-untyped-def]
        original(self, screen, keyed, out, t, frame)
        keyed_by_render.append(keyed)
        frames_by_render.append(np.concatenate([p.reshape(-1) for p in out]).reshape(-1, out[0].shape[1]))

    monkeypatch.setattr(RenderCompositor, "compose_i420", spy)

    class NullWriter:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def write_video(self, frame: np.ndarray) -> None:
            pass

        write_frame = write_video

        def write_audio(self, samples: np.ndarray) -> None:
            pass

        def encode_audio(self, samples: np.ndarray) -> list:
            return []

        def mux_audio(self, packets: list) -> None:
            pass

        def close(self) -> None:
            pass

        abort = close

    monkeypatch.setattr(pipeline, "VideoWriter", NullWriter)
    pipeline.render(speaker, screen, tmp_path / "out.mp4", settings)
    monkeypatch.undo()

    source = PreviewSource.open(speaker, screen, settings)
    try:
        state = PreviewState(source, settings)
        assert state.frame_count == len(keyed_by_render) > 20
        hidden = 0
        for i, (expected_key, expected_frame) in enumerate(zip(keyed_by_render, frames_by_render)):
            state.seek(i)
            shown = state.composite()
            keyed, _ = state._keyed_frame()
            if expected_key is None:  # before the offset / after the speaker's end
                assert keyed is None, i
                hidden += 1
            else:
                np.testing.assert_array_equal(keyed.alpha, expected_key.alpha, err_msg=f"alpha {i}")
                np.testing.assert_array_equal(keyed.foreground, expected_key.foreground, err_msg=f"fg {i}")
            # Render blends in the encoder's I420 planes and passes the screen recording
            # through unconverted, so a few pixels (chroma at the speaker's edge, colours
            # outside the BGR gamut) round differently from the preview's BGR frame.
            diff = np.abs(cv2.cvtColor(shown, cv2.COLOR_BGR2YUV_I420).astype(int) - expected_frame)
            # Measured: mean < 0.05, 99 % of samples within 1, a handful up to ~20.
            assert diff.mean() < 0.1, (i, diff.mean())
            assert np.percentile(diff, 99) <= 1, (i, np.percentile(diff, 99))
        assert hidden >= 2  # the offset hides the speaker for the first frames
    finally:
        source.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the DISPLAY check is for X11/Wayland")
def test_preview_without_a_display_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from greenscreen.cli import main

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = CliRunner().invoke(main, ["preview", str(tmp_path / "speaker.mp4")])
    assert result.exit_code == 1
    assert "the preview needs a display" in result.stderr and "greenscreen render" in result.stderr


def _opencv_has_windows() -> bool:
    gui = [line for line in cv2.getBuildInformation().splitlines() if "GUI:" in line]
    return bool(gui) and gui[0].split(":", 1)[1].strip().upper() not in ("NONE", "NO", "")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the DISPLAY check is for X11/Wayland")
@pytest.mark.skipif(not _opencv_has_windows(), reason="a headless OpenCV is refused before any display is tried")
def test_preview_on_a_display_that_is_gone_is_one_line(tmp_path: Path) -> None:
    """A stale DISPLAY (an SSH session's forwarding gone, an X server stopped): OpenCV's Qt
    aborted the process with exit 134 and four lines of Qt's own advice to reinstall."""
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["DISPLAY"] = ":9876"  # no X server there
    proc = subprocess.run([sys.executable, "-m", "greenscreen", "preview", str(tmp_path / "speaker.mp4")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("error: the preview cannot open a window on the display ':9876'")
    assert proc.stderr.count("\n") == 1 and "Reinstalling" not in proc.stderr


def test_preview_rejects_a_bad_preset_before_opening_anything(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from greenscreen.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text("[key]\ntolerance = 7\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["preview", str(tmp_path / "speaker.mp4"), "--preset", str(bad)])
    assert result.exit_code == 2  # a settings error
    assert "line 2: [key] 'tolerance' must be between 0 and 1" in result.stderr
