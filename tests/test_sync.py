"""Lining the two recordings up by their sound: offset, drift, confidence, and render's use of it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import decode_frames, pip_box, run_cli
from greenscreen.io.audio import AudioSource, AudioTrack, iter_mono, read_mono
from greenscreen.sync import MIN_CONFIDENCE, RATE, estimate, sync
from recordings import burst_sound, heard_by, write_clip

FRAME = 1 / 30
"""One video frame at 30 fps: the accuracy the offset must reach."""
DRIFT_TOLERANCE_PPM = 20.0
"""Drift found on a 10-minute pair within this of the truth (20 ppm = 12 ms over 10 minutes)."""
AIR_LEAD = 10.0
"""The screen recording starts this far into the "air" sound, so negative offsets have sound too."""


def _pair(
    seconds: float, offset: float, drift_ppm: float = 0.0, *, seed: int = 0, rate: int = 8000
) -> tuple[np.ndarray, np.ndarray]:
    """(speaker, screen) soundtracks of the same sound through two different microphones."""
    air = burst_sound(seconds * 1.01 + 2 * AIR_LEAD + abs(offset), seed=seed)
    screen = heard_by(air, seconds, rate=rate, offset=AIR_LEAD, gain=0.25, eq="bright",
                      noise_dbfs=-42, seed=seed + 1)
    speaker = heard_by(air, seconds, rate=rate, offset=AIR_LEAD + offset, drift_ppm=drift_ppm,
                       gain=1.0, eq="dull", noise_dbfs=-50, seed=seed + 2)
    return speaker, screen


@pytest.mark.parametrize("offset", [0.0, 0.3, -0.3, 7.0, -7.0, 0.013, -2.47])
def test_offset_found_within_one_frame(offset: float) -> None:
    speaker, screen = _pair(25.0, offset, seed=int(abs(offset) * 100))
    result = estimate(speaker, screen)
    assert result.usable, result
    assert result.confidence >= MIN_CONFIDENCE
    assert abs(result.offset - offset) < FRAME, result


@pytest.mark.parametrize("drift_ppm", [500.0, -800.0])
def test_ten_minute_drift_is_found_and_the_end_lines_up(drift_ppm: float) -> None:
    seconds, offset = 600.0, 2.5
    speaker, screen = _pair(seconds, offset, drift_ppm, seed=7)
    result = estimate(speaker, screen)
    assert result.usable, result
    assert abs(result.offset - offset) < FRAME
    assert abs(result.drift_ppm - drift_ppm) < DRIFT_TOLERANCE_PPM, result
    # The speaker's last second, placed with the found figures, lands where it truly is.
    found_end = result.offset + seconds * result.scale
    true_end = offset + seconds * (1 + drift_ppm * 1e-6)
    assert abs(found_end - true_end) < FRAME
    # Without the drift the end would be off by far more than a frame: the test can fail.
    assert abs(offset + seconds - true_end) > 5 * FRAME


def test_unrelated_and_silent_soundtracks_are_not_trusted() -> None:
    a = heard_by(burst_sound(60, seed=31), 40, seed=1)
    b = heard_by(burst_sound(60, seed=32), 40, seed=2)
    unrelated = estimate(a, b)
    assert not unrelated.usable and "no clear match" in unrelated.reason
    silent = estimate(a, np.zeros_like(b))
    assert not silent.usable and "screen recording's sound is silent" in silent.reason
    hiss = estimate(heard_by(np.zeros(8), 40, noise_dbfs=-40, seed=3), b)
    assert not hiss.usable


# ---------------------------------------------------------------------------------------------
# Files, the CLI, and render
# ---------------------------------------------------------------------------------------------

FPS = 10
FLASH_AT = 1.0
"""Speaker time of a white frame (and of a loud clap on both soundtracks)."""


def _clap_pair(folder: Path, offset: float, *, screen_sound: str = "same", seconds: float = 12.0) -> tuple[Path, Path]:
    """A speaker clip with a white frame at :data:`FLASH_AT` and a screen clip, both hearing the same room."""
    air = burst_sound(seconds + 2 * AIR_LEAD, seed=5)
    clap = np.zeros_like(air)
    i = int((AIR_LEAD + offset + FLASH_AT) * 16000)
    clap[i : i + 800] = np.random.default_rng(1).uniform(-0.9, 0.9, 800)
    air = air + clap
    speaker_sound = heard_by(air, seconds, rate=48000, offset=AIR_LEAD + offset, eq="dull", seed=1)
    if screen_sound == "same":
        screen_sound_arr = heard_by(air, seconds + 1, rate=48000, offset=AIR_LEAD, gain=0.3, eq="bright",
                                    noise_dbfs=-45, seed=2)
    else:  # a screen recorder whose microphone was muted
        screen_sound_arr = np.zeros(int((seconds + 1) * 48000), np.float32)

    def speaker_frame(i: int) -> np.ndarray:
        value = 250 if i == round(FLASH_AT * FPS) else 90
        return np.full((48, 64, 3), value, np.uint8)

    speaker = write_clip(folder / "speaker.mp4", seconds=seconds, fps=FPS, frame=speaker_frame,
                         audio=speaker_sound)
    screen = write_clip(folder / "screen.mp4", seconds=seconds + 1, fps=FPS, size=(192, 144),
                        frame=lambda i: np.zeros((144, 192, 3), np.uint8), audio=screen_sound_arr)
    return speaker, screen


def _flash_time(video: Path, speaker_size: tuple[int, int]) -> float:
    """Output time of the brightest picture-in-picture frame."""
    frames = decode_frames(video)
    x, y, w, h = pip_box(frames[0][1].shape[1::-1], speaker_size)
    levels = [float(f[y : y + h, x : x + w].mean()) for _, f in frames]
    return frames[int(np.argmax(levels))][0]


def test_sync_command_prints_offset_drift_confidence(tmp_path: Path) -> None:
    speaker, screen = _clap_pair(tmp_path, 1.25)
    out = run_cli("sync", speaker, screen).stdout
    offset = float(out.split("offset:")[1].split("s")[0])
    assert abs(offset - 1.25) < FRAME, out
    assert "drift:" in out and "ppm" in out and "confidence:" in out
    data = json.loads(run_cli("sync", speaker, screen, "--json").stdout)
    assert abs(data["offset"] - 1.25) < FRAME and data["usable"] is True
    assert data["confidence"] >= MIN_CONFIDENCE


def test_one_sound_on_each_side_is_no_evidence() -> None:
    """A click in one recording and another in the other always line up, whatever they are;
    and a DC offset's start-up click is no sound at all. Both were trusted (confidence 0.9)."""
    rng = np.random.default_rng(3)
    speaker = (rng.standard_normal(RATE * 4) * 0.002).astype(np.float32)
    screen = (rng.standard_normal(RATE * 5) * 0.002).astype(np.float32)
    speaker[RATE : RATE + 200] += 0.8
    screen[int(RATE * 2.5) : int(RATE * 2.5) + 200] -= 0.8
    result = estimate(speaker, screen)
    assert not result.usable and "too few distinct sounds" in result.reason
    dc = np.full(RATE * 3, 0.3, np.float32)  # a constant offset only
    result = estimate(dc, screen)
    assert not result.usable


def test_a_dc_offset_encoded_to_aac_is_no_sound(tmp_path: Path) -> None:
    """AAC starts a constant offset with a click (its priming) at a few tens of milliseconds:
    that click, matched with the screen's one sound, was a confident offset of -2.9 s."""
    dc = write_clip(tmp_path / "dc.mp4", seconds=3.0, audio=np.full(48000 * 3, 0.3, np.float32))
    rng = np.random.default_rng(4)
    click = (rng.standard_normal(48000 * 3) * 0.002).astype(np.float32)
    click[int(48000 * 1.7) : int(48000 * 1.7) + 400] += 0.8
    screen = write_clip(tmp_path / "click.mp4", seconds=3.0, audio=click)
    result = sync(dc, screen)
    assert not result.usable, result


def test_a_microphone_with_one_channel_inverted_is_heard(tmp_path: Path) -> None:
    """A miswired stereo microphone (right = -left): the channels' mean is silence, so sync
    said "silent" and check called the sound track silent, while the tutorial plays it fine."""
    from conftest import run_ffmpeg

    speaker, screen = _clap_pair(tmp_path, 1.25)
    inverted = tmp_path / "inverted.mp4"
    run_ffmpeg("-i", speaker, "-c:v", "copy", "-af", "pan=stereo|c0=c0|c1=-1*c0", "-c:a", "aac", inverted)
    mono, rate = read_mono(inverted)
    assert np.sqrt(np.mean(mono**2)) > 0.5 * np.sqrt(np.mean(read_mono(speaker)[0] ** 2))
    data = json.loads(run_cli("sync", inverted, screen, "--json").stdout)
    assert data["usable"] is True and abs(data["offset"] - 1.25) < FRAME
    report = json.loads(run_cli("check", inverted, "--json", "--no-sheet", "--lang", "en").stdout)
    assert "silent" not in json.dumps(report)
    # An ordinary stereo recording is mixed exactly as FFmpeg's resampler mixes it (the levels
    # check judges stay where they were).
    import av

    stereo = tmp_path / "stereo.mp4"
    run_ffmpeg("-i", speaker, "-c:v", "copy", "-af", "pan=stereo|c0=c0|c1=0.5*c0", "-c:a", "aac", stereo)
    with av.open(str(stereo)) as container:
        mix = av.AudioResampler(format="flt", layout="mono", rate=16000)
        expected = np.concatenate([f.to_ndarray().reshape(-1) for p in container.decode(audio=0) for f in mix.resample(p)])
    got = read_mono(stereo, 16000)[0]
    assert np.abs(got[: len(expected)] - expected[: len(got)]).max() < 1e-5


def test_render_lines_the_speaker_up_by_sound(tmp_path: Path) -> None:
    speaker, screen = _clap_pair(tmp_path, 0.8)
    out = tmp_path / "out.mp4"
    proc = run_cli("render", speaker, screen, "-o", out, "-q")
    assert "synced by sound: speaker offset +0.8" in proc.stderr
    assert abs(_flash_time(out, (64, 48)) - (0.8 + FLASH_AT)) <= 1 / FPS + 1e-6
    # --offset wins: no sync, the flash is where the offset puts it.
    proc = run_cli("render", speaker, screen, "-o", out, "-q", "--offset", "0")
    assert "synced" not in proc.stderr
    assert abs(_flash_time(out, (64, 48)) - FLASH_AT) <= 1 / FPS + 1e-6


def test_render_falls_back_to_zero_with_a_warning_when_a_side_is_silent(tmp_path: Path) -> None:
    speaker, screen = _clap_pair(tmp_path, 0.8, screen_sound="muted")
    out = tmp_path / "out.mp4"
    proc = run_cli("render", speaker, screen, "-o", out, "-q")
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "silent" in warnings[0] and "--offset" in warnings[0]
    assert abs(_flash_time(out, (64, 48)) - FLASH_AT) <= 1 / FPS + 1e-6
    assert run_cli("sync", speaker, screen, check=False).returncode == 1


def test_drift_correction_stretches_the_speakers_picture_and_sound(tmp_path: Path) -> None:
    """--drift 10000 (1 %): a white frame and a click at speaker time 9 s land at 9.09 s."""
    fps, seconds, at = 20, 10.0, 9.0
    sound = np.zeros(int(seconds * 48000), np.float32)
    sound[int(at * 48000) : int(at * 48000) + 96] = 0.8

    def frame(i: int) -> np.ndarray:
        return np.full((48, 64, 3), 250 if i == round(at * fps) else 90, np.uint8)

    speaker = write_clip(tmp_path / "speaker.mp4", seconds=seconds, fps=fps, frame=frame, audio=sound)
    decoded, rate = read_mono(speaker)
    track = AudioTrack([AudioSource(speaker, stretch=1.01)])
    stretched = track.read(int(11 * 48000))[0]
    track.close()
    assert abs(np.argmax(np.abs(decoded)) / rate - at) < 0.002
    assert abs(np.argmax(np.abs(stretched)) / 48000 - at * 1.01) < 0.002
    screen = write_clip(tmp_path / "screen.mp4", seconds=11, fps=fps, size=(192, 144))
    out = tmp_path / "out.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--drift", "10000", "--offset", "0")
    assert abs(_flash_time(out, (64, 48)) - at * 1.01) <= 1 / fps + 1e-6
    # The preview shows the same frame there.
    from greenscreen.config import RenderSettings, TimelineSettings
    from greenscreen.preview.source import PreviewSource

    settings = RenderSettings(timeline=TimelineSettings(drift=10000.0))
    source = PreviewSource.open(speaker, screen, settings)
    try:
        shown = [source.speaker_index(n) for n in range(source.frame_count)]
    finally:
        source.close()
    assert abs(shown.index(round(at * fps)) / fps - at * 1.01) <= 1 / fps + 1e-6


def test_sync_of_real_german_speech_heard_by_two_microphones() -> None:
    """Real speech (../shared/data/speech-de): a webcam and a laptop microphone 1.7 s apart."""
    folder = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech-de"
    files = sorted(folder.glob("*.wav"))
    if not files:
        pytest.skip("shared speech recordings not present")
    import av

    parts = []
    for f in files[:3]:
        with av.open(str(f)) as c:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
            for fr in c.decode(audio=0):
                parts += [o.to_ndarray().reshape(-1) for o in resampler.resample(fr)]
        parts.append(np.zeros(8000, np.float32))
    speech = np.concatenate(parts)
    air = np.concatenate([np.zeros(int(AIR_LEAD * 16000), np.float32), speech, np.zeros(16000 * 5, np.float32)])
    seconds = len(speech) / 16000 - 2
    screen = heard_by(air, seconds, offset=AIR_LEAD, gain=0.2, eq="bright", noise_dbfs=-40, seed=1)
    speaker = heard_by(air, seconds, offset=AIR_LEAD + 1.7, eq="dull", noise_dbfs=-50, seed=2)
    result = estimate(speaker, screen)
    assert result.usable and abs(result.offset - 1.7) < FRAME, result
    # A laptop microphone across the room at low gain: clean speech at about -70 dBFS RMS was
    # called silent (below -55) and not synced, though its onsets match as well as loud ones.
    quiet = heard_by(air, seconds, offset=AIR_LEAD, gain=0.002, eq="bright", noise_dbfs=-95, seed=1)
    assert 20 * np.log10(np.sqrt(np.mean(np.square(quiet)))) < -60
    result = estimate(speaker, quiet)
    assert result.usable and abs(result.offset - 1.7) < FRAME, result


def test_a_recording_without_a_sound_track_is_not_synced(
    media: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known from the probe: the other recording's sound is not decoded for nothing (on a
    10-minute recording that took over a second of every render's start)."""
    import greenscreen.sync

    decoded = []
    monkeypatch.setattr(greenscreen.sync, "iter_mono", lambda *a, **k: decoded.append(a) or iter_mono(*a, **k))
    for speaker, screen in ((media["speaker"], media["screen"]), (media["speaker_25_silent"], media["screen_audio"])):
        result = sync(speaker, screen)  # one of each pair has no audio stream
        assert result.no_track and not result.usable
    assert decoded == []


def test_batch_syncs_by_sound_and_records_it(tmp_path: Path) -> None:
    rec, out = tmp_path / "rec", tmp_path / "out"
    (rec / "intro").mkdir(parents=True)
    (rec / "manual").mkdir()
    _clap_pair(rec / "intro", 0.8)
    _clap_pair(rec / "manual", 0.8)
    (rec / "batch.toml").write_text("[tutorials.manual]\noffset = 0.5\n")
    run_cli("batch", rec, "-o", out, "-q", "--jobs", "1")
    report = {t["name"]: t for t in json.loads((out / "report.json").read_text())["tutorials"]}
    found = report["intro"]["sync"]
    assert found["used"] is True and abs(found["offset"] - 0.8) < FRAME
    assert any("synced by sound" in note for note in report["intro"]["notes"])
    sidecar = json.loads((out / ".intro.mp4.json").read_text())
    assert sidecar["sync"] == found
    assert abs(_flash_time(out / "intro.mp4", (64, 48)) - (0.8 + FLASH_AT)) <= 1 / FPS + 1e-6
    # An offset in the settings wins: no sync, the speaker is where the offset puts it.
    assert report["manual"]["sync"] == {}
    assert abs(_flash_time(out / "manual.mp4", (64, 48)) - (0.5 + FLASH_AT)) <= 1 / FPS + 1e-6


def test_render_warns_and_keeps_zero_when_the_sounds_do_not_match(media: dict[str, Path], tmp_path: Path) -> None:
    """The speaker's voice and a screen recording's unrelated clicks and music."""
    out = tmp_path / "out.mp4"
    proc = run_cli("render", media["speaker"], media["screen_audio"], "-o", out, "-q")
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "not synced by sound" in warnings[0], proc.stderr
    assert "synced by sound:" not in proc.stderr


def test_captions_timed_like_the_speaker_follow_its_drift() -> None:
    from fractions import Fraction

    from greenscreen.config import RenderSettings, TimelineSettings
    from greenscreen.io.captions import Cue
    from greenscreen.pipeline import Timeline, output_cues

    timeline = Timeline(fps=Fraction(30), size=(640, 360), kept=((0, 30 * 700),))
    settings = RenderSettings(timeline=TimelineSettings(offset=2.0, drift=500.0))
    cues = output_cues([Cue(600.0, 601.0, "Ende")], timeline, settings, Path("talk.srt"), [])
    assert cues[0].start == pytest.approx(2.0 + 600.0 * 1.0005)
    screen_timed = output_cues([Cue(600.0, 601.0, "Ende")], timeline,
                                RenderSettings(timeline=TimelineSettings(offset=2.0, drift=500.0, audio="screen")),
                                Path("talk.srt"), [])
    assert screen_timed[0].start == pytest.approx(600.0)


def test_an_untrusted_match_is_offered_as_a_guess_to_check() -> None:
    """A noise-gated webcam microphone (exact silence between the words) matched at the right
    offset with confidence 0.37: dropped without a word of what was found."""
    from greenscreen.sync import SyncResult, best_guess

    gated = SyncResult(3.108, 0.0, 0.37, reason="no clear match between the soundtracks")
    assert best_guess(gated) == " (the best match, at +3.108 s with confidence 0.37, may be right: check it with --offset 3.108)"
    # batch has no --offset: its offset is set in batch.toml.
    assert best_guess(gated, in_batch=True).endswith("check it with offset = 3.108 in batch.toml)")
    assert best_guess(SyncResult(1.0, 0.0, 0.12, reason="no clear match between the soundtracks")) == ""
    assert best_guess(SyncResult(0.0, 0.0, 0.0, reason="the screen recording's sound is silent")) == ""
    assert best_guess(SyncResult(3.108, 0.0, 0.8)) == ""  # trusted: used, nothing to check


def test_sound_is_heard_block_by_block_as_whole() -> None:
    """sync reads a soundtrack block by block (an hour at 8 kHz held whole was 115 MB before
    its analysis began): any blocks give what the whole sound gives, in little memory."""
    import tracemalloc

    from greenscreen.sync import listen

    rng = np.random.default_rng(4)
    sound = (0.1 * rng.standard_normal(RATE * 30)).astype(np.float32)
    sound[RATE * 7 : RATE * 7 + 400] *= 8  # a loud moment
    whole = listen([sound])
    cuts = np.sort(rng.choice(len(sound), 40, replace=False))
    blocks = listen(np.split(sound, cuts))
    assert blocks.energy.shape == whole.energy.shape == (6, len(sound) // int(RATE * 0.005))
    np.testing.assert_allclose(blocks.energy, whole.energy, rtol=1e-5)
    assert blocks.loudest == pytest.approx(whole.loudest, rel=1e-9)

    def peak(minutes: int) -> int:
        """Peak memory of hearing ``minutes`` of sound made a second at a time."""
        tracemalloc.start()
        heard = listen((0.1 * rng.standard_normal(RATE)).astype(np.float32) for _ in range(60 * minutes))
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert heard.energy.shape[1] == 60 * minutes * 200
        return used

    # Ten minutes more are 19 MB more samples; only the energies grow (2.9 MB, briefly twice).
    grows = peak(20) - peak(10)
    assert grows < 8e6, f"{grows / 1e6:.1f} MB more for 10 minutes more"
