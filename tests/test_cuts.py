"""Cuts: stretches taken out of both recordings, with picture, sound and captions in sync."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cards
from conftest import run_cli, streams_of
from greenscreen.io.captions import Cue, read_captions, webvtt

SIZE = (64, 48)
FPS = 12  # a timecode clip counts at most 52 frames


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("cuts")
    beeps = cards.beeps([0.5, 2.5], tone=1000)
    hum = lambda n0, n: (0.1 * np.sin(2 * np.pi * 220.25 * (n0 + np.arange(n)) / cards.AUDIO_RATE)).astype(np.float32)  # noqa: E731
    speaker = cards.write_clip(d / "speaker.mp4", cards.flat((32, 24), cards.SHEET), fps=FPS, seconds=4.0,
                               sound=lambda n0, n: beeps(n0, n) + hum(n0, n))
    screen = cards.write_clip(d / "screen.mp4", cards.timecode_screen(SIZE), fps=FPS, seconds=4.0)
    return speaker, screen


def test_a_cut_removes_the_stretch_from_picture_sound_and_captions(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    captions = tmp_path / "talk.vtt"
    captions.write_text(webvtt([
        Cue(0.2, 0.8, "davor"), Cue(1.2, 1.8, "herausgeschnitten"), Cue(0.9, 2.3, "über den Schnitt"),
        Cue(2.4, 2.9, "danach"),
    ]), encoding="utf-8")
    out = tmp_path / "out.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--cut", "0:01-0:02", "--captions", captions,
            "--loudness", "off", "--speaker-size", "0.2")
    info = streams_of(out)
    assert info["frames"] == 48 - 12
    # The screen's timecode: output frame n shows source frame n before the cut, n + 12 after.
    shown = [cards.index_of(float(np.median(y[:10, :10]))) for y, _, _ in cards.yuv(out)]
    assert shown == list(range(12)) + list(range(24, 48))
    # The speaker's beep at 2.5 s is heard at 1.5 s: sound follows the cut to the sample.
    sound = cards.sound_of(out)
    assert cards.beep_onsets(sound, threshold=0.3) == pytest.approx([0.5, 1.5], abs=0.004)
    # No click at the join: the hum crossfades instead of jumping.
    join = round(1.0 * cards.AUDIO_RATE)
    steps = np.abs(np.diff(sound[join - 480 : join + 480]))
    assert steps.max() < 0.02
    assert read_captions(out.with_suffix(".vtt")) == [
        Cue(0.2, 0.8, "davor"), Cue(0.9, 1.3, "über den Schnitt"), Cue(1.4, 1.9, "danach"),
    ]


def test_bad_cuts_are_one_usage_line(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    for cut, message in [
        ("2-1", "ends before it starts"),
        ("1:20", "must be START-END"),
        ("0-10", "the cuts remove every frame"),
    ]:
        proc = run_cli("render", speaker, screen, "-o", tmp_path / "x.mp4", "--cut", cut, check=False)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("error: ") and message in proc.stderr and proc.stderr.count("\n") == 1
    assert not (tmp_path / "x.mp4").exists()


def test_a_cut_outside_the_clip_is_a_warning(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    out = tmp_path / "out.mp4"
    proc = run_cli("render", speaker, screen, "-o", out, "-q", "--cut", "5:00-5:10")
    assert "warning: the cut 5:00.0-5:10.0 lies outside the clip (0:00.0-0:04.0)" in proc.stderr
    assert streams_of(out)["frames"] == 48


def test_cuts_at_the_clips_ends_are_no_warning(pair: tuple[Path, Path], tmp_path: Path) -> None:
    """Cutting the fluff at the start (and the end) is the commonest cut; the clip's range was
    taken after the cuts, so such a cut "lay outside the clip" and was said to cut nothing."""
    speaker, screen = pair
    out = tmp_path / "out.mp4"
    proc = run_cli("render", speaker, screen, "-o", out, "-q", "--cut", "0-1", "--cut", "3-4",
                   "--speaker-size", "0.2")
    assert "warning" not in proc.stderr, proc.stderr
    shown = [cards.index_of(float(np.median(y[:10, :10]))) for y, _, _ in cards.yuv(out)]
    assert shown == list(range(12, 36))
    # A cut beside a trim is measured against the trimmed clip: 3-4 s lies past a clip
    # ending at 2 s, 1-2 s does not.
    proc = run_cli("render", speaker, screen, "-o", out, "-q", "--end", "2", "--cut", "1-2", "--cut", "3-4")
    assert proc.stderr.count("warning") == 1 and "the cut 0:03.0-0:04.0 lies outside the clip (0:00.0-0:02.0)" in proc.stderr


def test_a_segment_inside_a_cut_is_a_warning(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    out = tmp_path / "out.mp4"
    proc = run_cli("render", speaker, screen, "-o", out, "-q", "--cut", "1-2.5", "--segment", "1.2-2=full",
                   "--segment", "3-3.5=full")
    assert proc.stderr.count("warning") == 1, proc.stderr
    assert "the segment 0:01.2-0:02.0 lies inside what the cuts take out; it shows nothing" in proc.stderr


def test_preview_shows_the_frames_render_keeps(pair: tuple[Path, Path]) -> None:
    from greenscreen.config import RenderSettings
    from greenscreen.pipeline import Cut
    from greenscreen.preview.source import PreviewSource

    speaker, screen = pair
    source = PreviewSource.open(speaker, screen, RenderSettings(), cuts=[Cut(1.0, 2.0)])
    try:
        assert source.frame_count == 36
        shown = []
        for index in (0, 11, 12, 35):
            y = source.screen(index, SIZE)[0]  # the luma plane, as render's compositor gets it
            shown.append(cards.index_of(float(np.median(y[:10, :10]))))
        assert shown == [0, 11, 24, 47]
    finally:
        source.close()


def test_chapters_land_where_their_moments_play(pair: tuple[Path, Path], tmp_path: Path) -> None:
    import av

    speaker, screen = pair
    out = tmp_path / "chapters.mp4"
    proc = run_cli("render", speaker, screen, "-o", out, "-q", "--title-card", "Willkommen", "--card-seconds", "1",
                   "--outro", "Danke", "--cut", "1-2", "--chapter", "0:00.5 Anmelden",
                   "--chapter", "1.5 Passwort ändern", "--chapter", "0:03 Abmelden", "--chapter", "9:00 zu spät")
    with av.open(str(out)) as container:
        marks = [(round(float(c["start"] * c["time_base"]), 3), round(float(c["end"] * c["time_base"]), 3),
                  c["metadata"]["title"]) for c in container.chapters()]
    # 1 s card, 3 s of tutorial (1-2 s cut out), 1 s outro; 1.5 s lies in the cut: at the join.
    assert marks == [
        (0.0, 1.5, "Willkommen"), (1.5, 2.0, "Anmelden"), (2.0, 3.0, "Passwort ändern"),
        (3.0, 4.0, "Abmelden"), (4.0, 5.0, "Danke"),
    ]
    assert "warning: the chapter 'zu spät' at 9:00.0 lies outside the clip; left out" in proc.stderr
    # Two chapters on one moment (here, one in the cut lands on the join): one is kept, the other named.
    proc = run_cli("render", speaker, screen, "-o", tmp_path / "same.mp4", "-q", "--cut", "1-2",
                   "--chapter", "1.5 Im Schnitt", "--chapter", "1.8 Auch", "--chapter", "2 Danach")
    chapters = [line for line in proc.stderr.splitlines() if "same moment" in line]
    assert chapters == ["warning: the chapters 'Im Schnitt', 'Auch' and 'Danach' start at the same moment "
                        "(0:01.0 in the output); only 'Danach' is kept"]
    bad = run_cli("render", speaker, screen, "-o", tmp_path / "x.mp4", "--chapter", "Anmelden", check=False)
    assert bad.returncode == 2 and "must be TIME TITLE" in bad.stderr


def test_a_first_chapter_after_the_start_gets_an_opening_chapter(pair: tuple[Path, Path], tmp_path: Path) -> None:
    """An MP4 chapter list has no gaps (a first chapter at 1 s reads back from 0 s), so the
    stretch before the first chapter is a chapter of its own: the file's title, else "Start"."""
    import av

    speaker, screen = pair
    for extra, opening in (((), "Start"), (("--title", "Passwort ändern"), "Passwort ändern")):
        out = tmp_path / "chapters.mp4"
        run_cli("render", speaker, screen, "-o", out, "-q", "--chapter", "1 Anmelden", *extra)
        with av.open(str(out)) as container:
            marks = [(round(float(c["start"] * c["time_base"]), 3), c["metadata"]["title"]) for c in container.chapters()]
        assert marks == [(0.0, opening), (1.0, "Anmelden")]


class _Samples:
    """A sound held in memory, read like a decoded track (what KeptSound reads from)."""

    def __init__(self, sound: np.ndarray):
        self.sound, self.at = sound, 0

    def read(self, n: int) -> np.ndarray:
        block = self.sound[:, self.at : self.at + n].copy()
        self.at += block.shape[1]
        return block


def test_a_cut_crossfades_the_sound_without_a_click_or_a_dip() -> None:
    from greenscreen.io.audio_filters import KeptSound

    rate = 48_000
    t = np.arange(2 * rate) / rate
    tone = np.vstack([0.5 * np.sin(2 * np.pi * 440 * t)] * 2).astype(np.float32)
    cut = (int(0.5 * rate), int(1.2345 * rate))  # a join at an odd phase: a hard switch jumps
    joined = KeptSound(_Samples(tone), [(0, cut[0]), (cut[1], 2 * rate)]).read(2 * rate - (cut[1] - cut[0]))
    assert joined.shape == (2, 2 * rate - (cut[1] - cut[0]))
    steepest = 2 * np.pi * 440 / rate * 0.5  # the tone's own largest step between samples
    assert np.abs(np.diff(joined[0])).max() < 2 * steepest
    noise = np.random.default_rng(3).standard_normal((2, 2 * rate)).astype(np.float32) * 0.1
    joined = KeptSound(_Samples(noise), [(0, cut[0]), (cut[1], 2 * rate)]).read(rate)
    around = joined[0, cut[0] - 96 : cut[0] + 96]  # 4 ms about the join
    # A crossfade of unrelated sounds keeps at least ~70 % of the level; fading out and in dips to silence.
    assert np.sqrt((around ** 2).mean()) > 0.6 * 0.1
