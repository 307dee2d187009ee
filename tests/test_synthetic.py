"""The synthetic test media: files are what they claim to be, and the ground truth is sane."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import synthetic


def probe(path: Path) -> dict[str, object]:
    """Streams, sizes, rates and every decoded video timestamp of a file."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        info: dict[str, object] = {
            "codec": v.codec_context.name,
            "pix_fmt": v.codec_context.pix_fmt,
            "size": (v.codec_context.width, v.codec_context.height),
            "rate": v.average_rate,
            "time_base": v.time_base,
            "duration": c.duration / 1e6,
            "audio": [(a.codec_context.name, a.rate, a.channels) for a in c.streams.audio],
        }
        pts = [f.pts for f in c.decode(video=0)]
    info["pts"] = pts
    return info


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("synthetic")
    return {
        "speaker": synthetic.write_speaker_clip(d / "speaker.mp4", size=(320, 180), seconds=1.0),
        "speaker_silent": synthetic.write_speaker_clip(
            d / "speaker silent.mkv", size=(256, 144), fps=25.0, seconds=1.2, audio=False,
            empty_seconds=0.5, sheet="blue", seed=3),
        "screen": synthetic.write_screen_clip(d / "screen.mp4", size=(480, 270), seconds=1.0, audio=True),
        "vfr_mp4": synthetic.write_screen_clip(d / "vfr.mp4", size=(320, 180), seconds=2.0, vfr=True),
        "vfr_mkv": synthetic.write_screen_clip(d / "vfr.mkv", size=(320, 180), seconds=2.0, vfr=True,
                                               seed=1),
    }


def test_speaker_clip_streams(clips: dict[str, Path]) -> None:
    info = probe(clips["speaker"])
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert info["size"] == (320, 180)
    assert info["rate"] == 30
    assert info["duration"] == pytest.approx(1.0, abs=0.05)
    assert len(info["pts"]) == 30
    assert info["audio"] == [("aac", synthetic.AUDIO_RATE, 1)]


def test_silent_mkv_speaker_has_no_audio_and_starts_empty(clips: dict[str, Path]) -> None:
    info = probe(clips["speaker_silent"])
    assert info["audio"] == []
    assert info["size"] == (256, 144) and info["rate"] == 25
    assert len(info["pts"]) == 30
    assert info["duration"] == pytest.approx(1.2, abs=0.05)
    with av.open(str(clips["speaker_silent"])) as c:
        first = next(c.decode(video=0)).to_ndarray(format="bgr24").astype(np.float32)
    b, g, r = first.reshape(-1, 3).mean(0)
    assert b > g and b > r  # only the blue backdrop is in the picture


def test_screen_clip_with_stereo_audio(clips: dict[str, Path]) -> None:
    info = probe(clips["screen"])
    assert info["size"] == (480, 270) and info["rate"] == 30
    assert info["audio"] == [("aac", synthetic.AUDIO_RATE, 2)]
    assert info["duration"] == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("name", ["vfr_mp4", "vfr_mkv"])
def test_vfr_timestamps_are_irregular_and_real(clips: dict[str, Path], name: str) -> None:
    info = probe(clips[name])
    assert info["time_base"] == Fraction(1, 1000)
    pts = np.array(info["pts"])
    steps = np.diff(pts)
    assert (steps > 0).all()
    assert steps.max() >= 2.5 * 1000 / 30  # dropped frames while the screen was still
    assert steps.min() <= 0.6 * 1000 / 30  # and bursts
    assert len(set(steps.tolist())) > 5
    assert len(pts) < 2.0 * 30
    seed = 0 if name == "vfr_mp4" else 1
    assert pts.tolist() == synthetic.vfr_timestamps_ms(2.0, 30.0, seed)
    assert info["duration"] == pytest.approx(2.0, abs=0.02)


def test_speaker_frame_is_pure_with_sane_alpha() -> None:
    bgr, alpha = synthetic.speaker_frame(1.5, (320, 180), seed=2)
    again, alpha2 = synthetic.speaker_frame(1.5, (320, 180), seed=2)
    np.testing.assert_array_equal(bgr, again)
    np.testing.assert_array_equal(alpha, alpha2)
    assert bgr.dtype == np.uint8 and bgr.shape == (180, 320, 3)
    assert alpha.dtype == np.float32 and alpha.shape == (180, 320)
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert 0.08 < alpha.mean() < 0.4  # a head and shoulders, not the whole frame
    soft = ((alpha > 0.05) & (alpha < 0.95)).mean()
    assert 0.002 < soft < 0.05  # anti-aliased outline and hairs, but mostly hard inside/outside
    assert alpha[-1, 160] == 1.0 and alpha[0, 0] == 0.0 and alpha[-1, 0] == 0.0
    px = bgr.reshape(-1, 3).astype(np.int32)
    sheet = alpha.ravel() == 0
    assert (px[sheet, 1] > px[sheet, 0]).mean() > 0.99  # green sheet
    assert (px[sheet, 1] > px[sheet, 2]).mean() > 0.99


def test_speaker_steps_in_after_empty_seconds() -> None:
    _, before = synthetic.speaker_frame(0.4, (256, 144), empty_seconds=0.5)
    _, after = synthetic.speaker_frame(1.6, (256, 144), empty_seconds=0.5)
    assert before.max() == 0.0
    assert after.mean() > 0.08
    clean = synthetic.sheet_plate((256, 144))
    noisy, _ = synthetic.speaker_frame(0.4, (256, 144), empty_seconds=0.5)
    assert np.abs(noisy.astype(np.int16) - clean).mean() < 4


def test_sheet_kinds_differ() -> None:
    means = {k: synthetic.sheet_plate((128, 72), sheet=k).reshape(-1, 3).mean(0)
             for k in ("bedsheet", "studio", "blue")}
    assert np.argmax(means["bedsheet"]) == 1 and np.argmax(means["studio"]) == 1
    assert np.argmax(means["blue"]) == 0
    # The home sheet is dimmer and much less even than a studio screen.
    bed = synthetic.sheet_plate((128, 72))[..., 1].astype(np.float32)
    studio = synthetic.sheet_plate((128, 72), sheet="studio")[..., 1].astype(np.float32)
    assert bed.std() > studio.std()


def test_bad_inputs(clips: dict[str, Path], tmp_path: Path) -> None:
    src = clips["speaker"]
    garbled = synthetic.write_corrupt_copy(src, tmp_path / "garbled.mp4")
    cut = synthetic.write_corrupt_copy(src, tmp_path / "cut.mp4", mode="truncate")
    data, bad = src.read_bytes(), garbled.read_bytes()
    assert len(bad) == len(data) and bad != data and bad[:1000] == data[:1000]
    assert cut.stat().st_size == len(data) // 2
    fake = synthetic.write_not_a_video(tmp_path / "fake.mp4")
    with pytest.raises(av.error.FFmpegError):
        av.open(str(fake)).close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": (321, 180)}, "even"),
        ({"sheet": "pink"}, "sheet"),
        ({"seconds": 0}, "seconds"),
        ({"fps": 0}, "fps"),
    ],
)
def test_invalid_arguments_are_named(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        synthetic.write_speaker_clip(tmp_path / "x.mp4", **kwargs)
    assert not (tmp_path / "x.mp4").exists()


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=".avi"):
        synthetic.write_screen_clip(tmp_path / "x.avi", size=(128, 72), seconds=0.2)


def test_ntsc_rate_is_exact(tmp_path: Path) -> None:
    path = synthetic.write_screen_clip(tmp_path / "ntsc.mp4", size=(128, 72), fps=29.97, seconds=0.5)
    assert probe(path)["rate"] == Fraction(30000, 1001)
