"""A preset saved from the preview renders exactly like the same settings given as options."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import cards
from conftest import assert_no_unexpected_error
import synthetic
from greenscreen.config import RenderSettings
from greenscreen.io.colour import bgr_to_i420
from greenscreen.io.probe import probe
from greenscreen.preview.source import PreviewSource
from greenscreen.preview.state import PreviewState

# Options whose name differs from the settings field (see cli/render.py).
OPTION_NAMES = {("key", "screen"): "--backdrop", ("layout", "size"): "--speaker-size",
                ("encode", "preset"): "--encoder-preset"}


def greenscreen(*args: object, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "greenscreen", *map(str, args)],
        capture_output=True, text=True, timeout=300, env={**os.environ, **env},
    )
    assert_no_unexpected_error(proc.stderr, args)
    assert proc.returncode == 0, proc.stderr
    return proc


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="yuv420p") for f in container.decode(video=0)]


def as_options(preset: dict) -> list[str]:
    """The command-line options that give the same settings as ``preset``."""
    out: list[str] = []
    for group, values in preset.items():
        if group == "description":
            continue
        for key, value in values.items():
            option = OPTION_NAMES.get((group, key), "--" + key.replace("_", "-"))
            out += [option, str(value).lower() if isinstance(value, bool) else repr(value) if isinstance(value, float) else str(value)]
    return out


def test_preset_saved_in_preview_renders_like_the_same_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    speaker = synthetic.write_speaker_clip(
        tmp_path / "speaker.mp4", size=(256, 144), fps=25.0, seconds=1.0, audio=True, seed=11
    )
    screen = synthetic.write_screen_clip(tmp_path / "screen.mp4", size=(320, 180), fps=25.0, seconds=1.0, seed=12)

    # Tune in the preview: three sliders, a colour pick on the sheet, then 's'.
    source = PreviewSource.open(speaker, screen, RenderSettings())
    try:
        state = PreviewState(source, save_name="saved")
        state.set_slider("tolerance", state.slider_position("tolerance") + 6)
        state.set_slider("size", state.slider_position("size") + 5)
        state.set_slider("margin", 100)
        state.render()
        p = state.compositor.placement
        assert state.click(p.x + 3, p.y + 3) is not None
        state.handle_key(ord("s"))
    finally:
        source.close()
    saved = config / "greenscreen" / "presets" / "saved.toml"
    assert state.saved == [saved]
    preset = tomllib.loads(saved.read_text(encoding="utf-8"))
    assert set(preset["key"]) == {"tolerance", "key_color"} and set(preset["layout"]) == {"size", "margin"}

    env = {"XDG_CONFIG_HOME": str(config)}
    by_preset, by_options = tmp_path / "by-preset.mp4", tmp_path / "by-options.mp4"
    greenscreen("render", speaker, screen, "-o", by_preset, "--preset", "saved", "-q", env=env)
    options = as_options(preset)
    assert "--tolerance" in options and "--speaker-size" in options and "--key-color" in options
    greenscreen("render", speaker, screen, "-o", by_options, *options, "-q", env=env)

    a, b = decoded(by_preset), decoded(by_options)
    assert len(a) == len(b) == 25
    for i, (fa, fb) in enumerate(zip(a, b)):
        np.testing.assert_array_equal(fa, fb, err_msg=f"frame {i}")
    # The same settings must really have been used: they differ from a default render.
    default = tmp_path / "default.mp4"
    greenscreen("render", speaker, screen, "-o", default, "-q", env=env)
    assert any(not np.array_equal(fa, fd) for fa, fd in zip(a, decoded(default)))


def _preview_frames(args: list[str], monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    """Run ``greenscreen preview ARGS`` with the window loop replaced by one that plays every
    frame from the first and keeps what the picture window would show (its view without the
    status line): the CLI, the settings, the recordings, the plate and the state are the real
    ones, only the display is not."""
    from click.testing import CliRunner

    from greenscreen.cli import main
    from greenscreen.preview import window

    shown: list[np.ndarray] = []

    def play(state: PreviewState) -> None:
        for i in range(state.frame_count):
            state.seek(i)
            shown.append(state.render().copy())

    monkeypatch.setenv("DISPLAY", ":0")  # what check_display looks for; no window is opened
    monkeypatch.setattr(window, "_check_window_opens", lambda: None)
    monkeypatch.setattr(window, "run", play)
    result = CliRunner().invoke(main, ["preview", *args])
    assert result.exit_code == 0, result.output + str(result.exception)
    return shown


def test_preview_shows_what_render_writes_with_the_same_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One command line, given to render and to preview: every preview frame is the frame
    render writes at the same output time. The options cover what preview used to lose: two
    presets, a clean plate, a crop, a negative offset and a trim. The webcam is a timecode card
    on a stained sheet, so a preview without the offset or the trim shows other speaker frames,
    one without the plate shows the stains, and one without the presets another window."""
    size = (192, 108)
    speaker = cards.write_clip(tmp_path / "speaker.mp4", cards.timecode_speaker(size, stained=True), fps=20)
    screen = cards.write_clip(tmp_path / "screen.mp4", cards.timecode_screen((320, 180)), fps=20)
    plate = tmp_path / "empty sheet.png"
    cv2.imwrite(str(plate), cv2.cvtColor(cards.empty_sheet(size, stained=True)(0), cv2.COLOR_YUV2BGR_I420))
    key_preset = tmp_path / "soft.toml"
    key_preset.write_text("[key]\nsoftness = 0.3\n", encoding="utf-8")
    captions = tmp_path / "talk.vtt"
    captions.write_text("WEBVTT\n\n00:00.500 --> 00:01.500\nÜbung macht den Meister\n", encoding="utf-8")
    options = [
        str(speaker), str(screen), "-p", "circle-bottom-left", "-p", str(key_preset), "--speaker-size", "0.45",
        "--plate", str(plate), "--crop", "16,0,0,8", "--offset", "-0.3", "--start", "0.2", "--end", "1.6",
        "--crf", "12",  # preview takes the encoder options too; a fine CRF keeps the comparison sharp
        "--cut", "0.6-0.9", "--redact", "0,0,320,90@0.3-1.2", "--lower-third", "Jörg|IT-Service@0.4-1.3",
        "--logo", str(plate), "--title-card", "Passwort ändern", "--outro", "Danke", "--card-seconds", "0.5",
        "--card-fade", "0.2", "--captions", str(captions), "--burn-captions",
        # Layouts over time: a redacted side-by-side stretch, then a crossfade into a pip window.
        "--segment", "0.3-0.6=side-by-side", "--segment", "0.9-1.4=pip,transition=crossfade,transition_seconds=0.2",
    ]
    out = tmp_path / "render.mp4"
    greenscreen("render", *options, "-o", out, "-q", env={})
    rendered = cards.yuv(out)
    previewed = _preview_frames(options, monkeypatch)
    # 0.2-1.6 s at 20 fps, less the 0.3 s cut, between two cards of 10 frames: the slider runs
    # over the output, cards included.
    assert len(previewed) == len(rendered) == 10 + 22 + 10
    title = rendered[5][0]
    assert title.std() > 10  # the title card's text, not a blank frame

    matrix = probe(out).matrix
    for i, (frame, planes) in enumerate(zip(previewed, rendered)):
        # The preview shows BGR; compare in the output's own planes (render passes the screen
        # recording's through, in its matrix).
        h = frame.shape[0]
        i420 = bgr_to_i420(frame, matrix)
        chroma = i420[h:].reshape(2, h // 2, -1)
        for name, shown, written in zip("YUV", (i420[:h], chroma[0], chroma[1]), planes):
            d = np.abs(shown.astype(int) - written)
            # Measured: mean <= 0.03 and at most 7 (CRF 12 coding and BGR rounding; 13 at one
            # speaker edge pixel once the cut's jump is in x264's references, 17 on the lower
            # third's sharp text edges, 41 at one pixel of a caption's letter in the frame where
            # the layout changes). A preview without the plate was 19 off on frame 0 (a stain),
            # one without the offset 28; a missing lower third or caption box, or another
            # layout, is off by several code values on average.
            assert d.mean() < 0.25 and np.percentile(d, 99.9) <= 12 and d.max() <= 48, (
                i, name, d.mean(), np.percentile(d, 99.9), d.max())


def test_preview_without_a_screen_says_the_timeline_options_do_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a screen recording there is no output timeline: the preview plays the speaker's
    own frames from the first and says that --offset and --start were not used."""
    from click.testing import CliRunner

    from greenscreen.cli import main
    from greenscreen.preview import window

    speaker = cards.write_clip(tmp_path / "speaker.mp4", cards.timecode_speaker((192, 108)), fps=20, seconds=0.5)
    counts: list[int] = []
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(window, "_check_window_opens", lambda: None)
    monkeypatch.setattr(window, "run", lambda state: counts.append(state.frame_count))
    result = CliRunner().invoke(main, ["preview", str(speaker), "--offset", "1", "--start", "0.2", "--speaker-size", "0.5"])
    assert result.exit_code == 0, result.output
    assert counts == [10]
    assert result.stderr.strip() == (
        "note: --offset, --start place the speaker on the screen recording's timeline; "
        "without a screen recording the preview shows the speaker's own frames"
    )
