"""Recordings with a display rotation (phones) are used the way players show them."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import decode_frames, mean_diff, run_cli, run_ffmpeg
import synthetic
from greenscreen.composite.layout import LayoutSettings, place_speaker
from greenscreen.io.probe import probe
from greenscreen.io.reader import read_frames


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same speaker stored sideways with a rotation tag, and turned for real (ffmpeg turns
    tagged video when it re-encodes, as players do when they show it)."""
    d = tmp_path_factory.mktemp("orientation")
    speaker = synthetic.write_speaker_clip(d / "speaker.mp4", size=(320, 180), fps=30.0, seconds=1.0,
                                           audio=True, seed=4)
    out = {"speaker": speaker}
    for turn in (90, -90, 180):
        tagged = d / f"tagged{turn}.mp4"
        run_ffmpeg("-display_rotation:v", turn, "-i", speaker, "-c", "copy", tagged)
        turned = d / f"turned{turn}.mp4"
        run_ffmpeg("-i", tagged, "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", "-c:a", "copy", turned)
        out[f"tagged{turn}"], out[f"turned{turn}"] = tagged, turned
    out["screen"] = synthetic.write_screen_clip(d / "screen.mp4", size=(640, 360), fps=30.0, seconds=1.0, seed=7)
    return out


@pytest.mark.parametrize("turn", [90, -90, 180])
def test_reader_and_probe_turn_tagged_frames_upright(clips: dict[str, Path], turn: int) -> None:
    info = probe(clips[f"tagged{turn}"])
    shown = (180, 320) if turn in (90, -90) else (320, 180)
    assert (info.width, info.height) == shown
    tagged = [f for _, f in read_frames(clips[f"tagged{turn}"])]
    turned = [f for _, f in read_frames(clips[f"turned{turn}"])]
    assert tagged[0].shape == (shown[1], shown[0], 3) and len(tagged) == len(turned)
    # Only coding noise apart (the turned copy was re-encoded); as stored, 180: 34 levels off.
    assert mean_diff(tagged[10], turned[10]) < 3


def test_render_shows_a_portrait_phone_recording_upright(clips: dict[str, Path], tmp_path: Path) -> None:
    tagged, turned = tmp_path / "tagged.mp4", tmp_path / "turned.mp4"
    run_cli("render", clips["tagged90"], clips["screen"], "-o", tagged, "-q")
    run_cli("render", clips["turned90"], clips["screen"], "-o", turned, "-q")
    p = place_speaker(LayoutSettings(), output=(640, 360), speaker=(180, 320))
    assert p.height > p.width  # a portrait window
    a, b = decode_frames(tagged), decode_frames(turned)
    for n in (5, 25):
        pip_a = a[n][1][p.y : p.y + p.height, p.x : p.x + p.width]
        pip_b = b[n][1][p.y : p.y + p.height, p.x : p.x + p.width]
        assert mean_diff(pip_a, pip_b) < 3
