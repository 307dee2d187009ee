"""Encoder settings given on the command line or in a preset reach x264 and the AAC encoder.

Read back from the output: the settings x264 writes into the stream (its SEI text), the
profile, and the bitrates the container reports.
"""

from __future__ import annotations

from pathlib import Path

import av
import pytest

import cards
from conftest import run_cli
import synthetic

# x264's own preset table (x264 --fullhelp): what each preset sets, as x264 reports it.
X264_PRESET_VALUES = {
    "veryfast": {"subme": "2", "ref": "1", "trellis": "0", "rc_lookahead": "10"},
    "medium": {"subme": "7", "ref": "3", "trellis": "1", "rc_lookahead": "40"},
    "slow": {"subme": "8", "ref": "5", "trellis": "2", "direct": "3"},
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("encode")
    speaker = synthetic.write_speaker_clip(d / "speaker.mp4", size=(256, 144), fps=30.0, seconds=1.0, audio=True, seed=4)
    screen = synthetic.write_screen_clip(d / "screen.mp4", size=(320, 180), fps=30.0, seconds=1.0, seed=5)
    return speaker, screen


@pytest.fixture(scope="module")
def default_render(clips: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("encode-default") / "default.mp4"
    run_cli("render", *clips, "-o", out, "-q")
    return out


def _read_back(path: Path) -> tuple[dict[str, str], str, int, int]:
    """(x264 settings, video profile, video bitrate, audio bitrate) of an output."""
    with av.open(str(path)) as c:
        video, audio = c.streams.video[0], c.streams.audio[0]
        profile, video_rate, audio_rate = video.codec_context.profile, video.bit_rate, audio.bit_rate
    return cards.x264_options(path), profile, video_rate, audio_rate


def _has(options: dict[str, str], expected: dict[str, str]) -> None:
    assert {k: options.get(k) for k in expected} == expected


def test_defaults_are_veryfast_crf_23_high_profile(default_render: Path) -> None:
    options, profile, _, audio_rate = _read_back(default_render)
    assert profile == "High"
    assert options["crf"] == "23.0"
    _has(options, X264_PRESET_VALUES["veryfast"])
    assert audio_rate == pytest.approx(128_000, rel=0.05)


@pytest.mark.parametrize(
    ("args", "crf", "preset", "lookahead", "audio_kbit", "smaller"),
    [
        # --crf and --encoder-preset (and --audio-bitrate) from the command line
        (("--crf", "30", "--encoder-preset", "medium", "--audio-bitrate", "64"), "30.0", "medium", "40", 64, True),
        # the small-file preset: x264 slow, CRF 26, a 20-frame lookahead
        (("-p", "small-file"), "26.0", "slow", "20", 128, True),
        # an option on the command line wins over the preset; the rest of the preset stays
        (("-p", "small-file", "--crf", "18"), "18.0", "slow", "20", 128, False),
    ],
    ids=["crf-and-preset", "small-file", "small-file-crf-18"],
)
def test_encoder_settings_reach_x264(
    args: tuple[str, ...], crf: str, preset: str, lookahead: str, audio_kbit: int, smaller: bool,
    clips: tuple[Path, Path], default_render: Path, tmp_path: Path,
) -> None:
    out = tmp_path / "out.mp4"
    run_cli("render", *clips, "-o", out, "-q", *args)
    options, profile, video_rate, audio_rate = _read_back(out)
    assert profile == "High"
    assert options["crf"] == crf
    _has(options, X264_PRESET_VALUES[preset])
    assert options["rc_lookahead"] == lookahead
    assert audio_rate == pytest.approx(audio_kbit * 1000, rel=0.05)
    default_rate = _read_back(default_render)[2]
    # Same pictures: a higher CRF (or a slower preset at a higher CRF) gives fewer bits, a lower
    # CRF more.
    assert (video_rate < 0.95 * default_rate) if smaller else (video_rate > 1.05 * default_rate), (
        video_rate, default_rate,
    )


def test_lossless_crf_0_is_a_usage_error(clips: tuple[Path, Path], tmp_path: Path) -> None:
    """x264's CRF 0 is lossless, which the High profile (and browsers) cannot take: it was an
    unexpected error from the encoder, after the sound had been read. Now a one-line usage
    error up front, from the command line and from a preset."""
    out = tmp_path / "out.mp4"
    proc = run_cli("render", *clips, "-o", out, "--crf", "0", check=False)
    assert proc.returncode == 2 and "--crf" in proc.stderr and "1<=x<=51" in proc.stderr
    preset = tmp_path / "lossless.toml"
    preset.write_text("[encode]\ncrf = 0\n")
    proc = run_cli("render", *clips, "-o", out, "-p", preset, check=False)
    assert proc.returncode == 2 and "crf" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and not out.exists()
