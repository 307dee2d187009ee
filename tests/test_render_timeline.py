"""The output's timeline through the real CLI: trims, a negative offset and the choice of sound.

The recordings are timecode test cards (tests/cards.py): every output frame says which screen
frame and which speaker frame it shows, and the soundtrack's beeps say which stretch of whose
sound it holds, so each test checks exactly what the output contains.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cards
from conftest import run_cli, streams_of
from greenscreen.composite.layout import LayoutSettings, place_speaker

FPS = 20
SPEAKER_SIZE, SCREEN_SIZE = (192, 108), (320, 180)
SPEAKER_BEEPS, SPEAKER_TONE = (0.3, 1.0, 1.8), 1000.0
SCREEN_BEEPS, SCREEN_TONE = (0.5, 1.4), 2500.0


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 2 s timecode speaker and a 2 s timecode screen, both 20 fps, each beeping in its own tone."""
    d = tmp_path_factory.mktemp("timecode")
    return {
        "speaker": cards.write_clip(
            d / "speaker.mp4", cards.timecode_speaker(SPEAKER_SIZE), fps=FPS,
            sound=cards.beeps(SPEAKER_BEEPS, tone=SPEAKER_TONE),
        ),
        "screen": cards.write_clip(
            d / "screen.mp4", cards.timecode_screen(SCREEN_SIZE), fps=FPS, sound=cards.beeps(SCREEN_BEEPS, tone=SCREEN_TONE)
        ),
    }


def render(speaker: Path, screen: Path, out: Path, *options: str) -> Path:
    """Render through the CLI. CRF 12: at the default CRF 23, x264 codes the last frames of a
    fade (the timecode's steady brightening) up to two code values off."""
    run_cli("render", speaker, screen, "-o", out, "-q", "--crf", "12", *options)
    return out


def shown(path: Path) -> list[tuple[int, int | None]]:
    """For each output frame: (screen frame shown, speaker frame shown or None if hidden).

    The screen is read in the top-left corner; the speaker in the middle of its window, where
    its square is: neutral grey means the speaker is there, bluish the screen shows through.
    """
    p = place_speaker(LayoutSettings(), output=SCREEN_SIZE, speaker=SPEAKER_SIZE)
    cx, cy = p.x + p.width // 2, p.y + p.height // 2
    out = []
    for y, u, _ in cards.yuv(path):
        screen = cards.index_of(y[2:12, 2:12].mean())
        middle_u = u[cy // 2 - 2 : cy // 2 + 2, cx // 2 - 2 : cx // 2 + 2].mean()
        speaker = cards.index_of(y[cy - 4 : cy + 4, cx - 4 : cx + 4].mean()) if middle_u < 136 else None
        out.append((screen, speaker))
    return out


def beeps_heard(path: Path) -> list[tuple[float, float]]:
    """(start in seconds, tone in Hz) of every beep in the output's sound."""
    sound = cards.sound_of(path)
    return [(t, cards.tone_at(sound, t)) for t in cards.beep_onsets(sound)]


def test_trim_keeps_the_picture_and_the_sound_of_the_span(clips: dict[str, Path], tmp_path: Path) -> None:
    """--start 0.6 --end 1.6: output frame k is source frame 12 + k of both recordings, and the
    sound is the speaker's from 0.6 s: its beep at 1.0 s is heard at 0.4 s, the others not."""
    out = tmp_path / "trim.mp4"
    render(clips["speaker"], clips["screen"], out, "--start", "0.6", "--end", "1.6")
    info = streams_of(out)
    assert info["frames"] == 20
    assert info["duration"] == pytest.approx(1.0, abs=0.01)
    assert info["audio_duration"] == pytest.approx(1.0, abs=0.03)
    assert shown(out) == [(12 + k, 12 + k) for k in range(20)]
    heard = beeps_heard(out)
    assert [t for t, _ in heard] == pytest.approx([0.4], abs=0.01)
    assert heard[0][1] == pytest.approx(SPEAKER_TONE, abs=15)


def test_negative_offset_starts_the_speaker_earlier(clips: dict[str, Path], tmp_path: Path) -> None:
    """--offset -0.4: the speaker's picture and sound both run 0.4 s (8 frames) ahead of the
    screen; what came before their start is cut, and after the speaker's end the screen goes on
    without them."""
    out = tmp_path / "early.mp4"
    render(clips["speaker"], clips["screen"], out, "--offset", "-0.4")
    info = streams_of(out)
    assert info["frames"] == 40, "the screen recording is the longer one now"
    assert info["audio_duration"] == pytest.approx(2.0, abs=0.03)
    frames = shown(out)
    assert frames[:32] == [(k, k + 8) for k in range(32)]
    assert [screen for screen, _ in frames] == list(range(40))
    # The speaker's last frame is held a moment, then the speaker is gone.
    assert all(speaker in (39, None) for _, speaker in frames[32:])
    assert all(speaker is None for _, speaker in frames[36:])
    heard = beeps_heard(out)
    assert [t for t, _ in heard] == pytest.approx([0.6, 1.4], abs=0.01), "1.0 s and 1.8 s, 0.4 s earlier"
    assert all(tone == pytest.approx(SPEAKER_TONE, abs=15) for _, tone in heard)


def test_audio_screen_plays_the_screen_sound_on_the_screen_time(clips: dict[str, Path], tmp_path: Path) -> None:
    """--audio screen with --offset 0.4: the soundtrack is the screen recording's, where it was
    (the offset moves only the speaker), and none of the speaker's."""
    out = tmp_path / "screen-sound.mp4"
    render(clips["speaker"], clips["screen"], out, "--audio", "screen", "--offset", "0.4")
    info = streams_of(out)
    assert info["frames"] == 48 and info["audio_duration"] == pytest.approx(2.4, abs=0.03)
    heard = beeps_heard(out)
    assert [t for t, _ in heard] == pytest.approx(list(SCREEN_BEEPS), abs=0.01)
    assert all(tone == pytest.approx(SCREEN_TONE, abs=15) for _, tone in heard)
    frames = shown(out)
    assert frames[:8] == [(k, None) for k in range(8)], "the speaker comes in at 0.4 s"
    assert frames[8:] == [(min(k, 39), k - 8) for k in range(8, 48)], "then the last screen frame is held"
    # The speaker's sound is still in the file when asked for: the choice is what differs.
    default = tmp_path / "speaker-sound.mp4"
    render(clips["speaker"], clips["screen"], default, "--offset", "0.4")
    assert [t for t, _ in beeps_heard(default)] == pytest.approx([0.7, 1.4, 2.2], abs=0.01)
    assert np.allclose([tone for _, tone in beeps_heard(default)], SPEAKER_TONE, atol=15)


def test_sound_after_a_dropout_stays_with_its_picture(tmp_path: Path) -> None:
    """A USB microphone or capture program that drops sound leaves a hole in the sound's
    timestamps; what follows must play at its time (as ffmpeg plays it), not early and out of
    sync with the picture for the rest of the recording."""
    from recordings import write_clip

    seconds, hole = 4.0, (1.5, 2.5)  # the speaker's sound from 1.5 s to 2.5 s was never recorded
    sound = cards.beeps((0.5, 3.0), tone=SPEAKER_TONE)(0, round(seconds * cards.AUDIO_RATE))
    speaker = write_clip(tmp_path / "dropout.mp4", seconds=seconds, size=SPEAKER_SIZE, fps=FPS, audio=sound,
                         audio_rate=cards.AUDIO_RATE, audio_holes=[hole])
    screen = cards.write_clip(tmp_path / "screen.mp4", lambda i: np.full((SCREEN_SIZE[1] * 3 // 2, SCREEN_SIZE[0]), 90, np.uint8),
                              fps=FPS, seconds=seconds)
    out = render(speaker, screen, tmp_path / "out.mp4")
    heard = beeps_heard(out)
    assert [t for t, _ in heard] == pytest.approx([0.5, 3.0], abs=0.01), "not 2.0 s: the hole is kept as silence"
    assert streams_of(out)["audio_duration"] == pytest.approx(seconds, abs=0.05)


def test_a_long_offset_is_silence_made_a_second_at_a_time() -> None:
    """The speaker's sound starting half an hour into the screen recording was preceded by one
    block of silence that long: 0.7 GB held at once (1.4 GB for an hour)."""
    from types import SimpleNamespace

    import numpy as np

    from greenscreen.io.audio import SAMPLE_RATE, _from_video_start

    sound = np.ones((2, 1024), np.float32)
    blocks = list(_from_video_start(SimpleNamespace(first=0.0), iter([sound]), 0.0, lambda first: 1800 * SAMPLE_RATE + 7))
    assert max(b.shape[1] for b in blocks) <= SAMPLE_RATE
    assert sum(b.shape[1] for b in blocks[:-1]) == 1800 * SAMPLE_RATE + 7 and not any(b.any() for b in blocks[:-1])
    assert np.array_equal(blocks[-1], sound)
