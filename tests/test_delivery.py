"""Delivery: web-ready files, presets for the intranet and full HD, a bitrate cap, a poster."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import cards
from conftest import run_cli, streams_of


def noise_screen(size: tuple[int, int]) -> cards.Picture:
    """A screen recording no encoder can squeeze: fresh noise every frame."""
    rng = np.random.default_rng(0)
    w, h = size
    return lambda i: rng.integers(16, 236, (h * 3 // 2, w), dtype=np.uint8)


def moov_before_mdat(path: Path) -> bool:
    data = path.read_bytes()
    return data.index(b"moov") < data.index(b"mdat")


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, media: dict[str, Path]) -> tuple[Path, Path]:
    return media["speaker"], media["screen"]


def test_intranet_preset_delivers_a_small_web_ready_clip_and_a_poster(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    speaker, screen = pair
    out = tmp_path / "Schulung.mp4"
    proc = run_cli("render", speaker, screen, "-o", out, "-p", "intranet-720p")
    info = streams_of(out)
    assert info["size"] == (1280, 720)
    assert (info["video_codec"], info["profile"], info["pix_fmt"]) == ("h264", "High", "yuv420p")
    options = cards.x264_options(out)
    assert (options["vbv_maxrate"], options["vbv_bufsize"], options["crf"]) == ("1200", "1200", "24.0")
    with av.open(str(out)) as c:
        audio = c.streams.audio[0]
        assert (audio.codec_context.name, audio.codec_context.sample_rate) == ("aac", 48000)
        assert audio.bit_rate <= 100_000
    assert moov_before_mdat(out)
    poster = cv2.imread(str(out.with_suffix(".jpg")))
    assert poster is not None and poster.shape == (720, 1280, 3)
    # The automatic poster shows the speaker: the picture-in-picture corner differs from the
    # screen recording there.
    frames = {round(f.time, 2): f.to_ndarray(format="bgr24") for f in av.open(str(out)).decode(video=0)}
    t = min(frames, key=lambda t: abs(t - 0.5))  # a 2 s clip: a quarter in
    assert float(np.abs(frames[t].astype(int) - poster.astype(int)).mean()) < 4
    assert f"{out.stat().st_size / 1e6:.1f} MB" in proc.stderr and "kbit/s" in proc.stderr


def test_bitrate_cap_holds_on_a_recording_that_cannot_be_squeezed(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    speaker, _ = pair
    screen = cards.write_clip(tmp_path / "noise.mp4", noise_screen((320, 180)), seconds=2.0)

    def video_kbits(*options: str) -> list[float]:
        """kbit of video in each second of the output."""
        out = tmp_path / f"out{len(options)}.mp4"
        run_cli("render", speaker, screen, "-o", out, "-q", "--loudness", "off", *options)
        seconds = [0.0, 0.0]
        with av.open(str(out)) as c:
            video = c.streams.video[0]
            for p in c.demux(video):
                if p.size:
                    seconds[min(int(p.pts * p.time_base), 1)] += p.size * 8 / 1000
        return seconds

    free = video_kbits()
    capped = video_kbits("--max-bitrate", "400")
    assert sum(free) / 2 > 1500
    # The VBV guarantee: over any stretch, at most the cap's worth plus one buffer (a second of
    # it): every second under twice the cap, the whole within one buffer of it.
    assert max(capped) <= 2 * 400 and sum(capped) <= 400 * 2.0 + 400, capped


def test_poster_at_a_chosen_second_and_none_by_default(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    plain = tmp_path / "plain.mp4"
    run_cli("render", speaker, screen, "-o", plain, "-q")
    assert not plain.with_suffix(".jpg").exists()
    out = tmp_path / "chosen.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--poster", "true", "--poster-at", "1.5")
    poster = cv2.imread(str(out.with_suffix(".jpg")))
    with av.open(str(out)) as c:
        frames = [(f.time, f.to_ndarray(format="bgr24")) for f in c.decode(video=0)]
    diffs = {round(t, 3): float(np.abs(f.astype(int) - poster.astype(int)).mean()) for t, f in frames}
    assert min(diffs, key=diffs.get) == 1.5

    # A second past the end takes the last frame, with a warning (there was no poster at all).
    late = tmp_path / "late.mp4"
    proc = run_cli("render", speaker, screen, "-o", late, "-q", "--poster", "true", "--poster-at", "99")
    assert "warning: the poster's time 1:39.0 is past the clip's end (0:02.0)" in proc.stderr
    poster = cv2.imread(str(late.with_suffix(".jpg")))
    assert poster is not None and float(np.abs(frames[-1][1].astype(int) - poster.astype(int)).mean()) < 3


def test_full_hd_preset(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    out = tmp_path / "hd.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "-p", "hd-1080p", "--end", "0.5")
    assert streams_of(out)["size"] == (1920, 1080)
    assert cards.x264_options(out)["vbv_maxrate"] == "4500"
    assert out.with_suffix(".jpg").exists()
