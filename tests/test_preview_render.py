"""A preset saved from the preview renders exactly like the same settings given as options."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import av
import numpy as np
import pytest

from greenscreen import synthetic
from greenscreen.config import RenderSettings
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
