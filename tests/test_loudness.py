"""Even loudness and denoising: measured on the rendered file by ffmpeg's own meter."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

import cards
from conftest import run_cli
from greenscreen.config import RenderSettings
from greenscreen.io.loudness import SoundSettings
from greenscreen.presets import load_preset

SIZE = (64, 48)
RATE = cards.AUDIO_RATE


def meter(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of ``path``'s soundtrack, by the ffmpeg program."""
    proc = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostats", "-i", str(path), "-map", "0:a:0",
         "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    summary = proc.stderr[proc.stderr.rindex("Summary:"):]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))  # type: ignore[union-attr]
    return integrated, peak


def speech_like(peak: float, *, seed: int = 0, drive: float = 0.0) -> Callable[[int, int], np.ndarray]:
    """Voiced syllables (150 Hz and harmonics, four a second) peaking at ``peak`` (linear);
    ``drive`` squashes them as an over-compressed, too-hot microphone channel does."""
    rng = np.random.default_rng(seed)
    seconds = 8
    t = np.arange(seconds * RATE) / RATE
    voice = sum(np.sin(2 * np.pi * 150 * k * t + k) / k for k in range(1, 8))
    syllables = np.clip(np.sin(2 * np.pi * 2 * t), 0, None) ** 2 * (0.6 + 0.4 * np.sin(2 * np.pi * 0.3 * t))
    signal = voice * syllables
    signal /= np.abs(signal).max()
    if drive:
        signal = np.tanh(drive * signal)
    signal = peak / np.abs(signal).max() * signal + rng.standard_normal(signal.size) * 1e-4
    signal = signal.astype(np.float32)
    return lambda n0, n: signal[n0 : n0 + n] if n0 + n <= signal.size else np.zeros(n, np.float32)


def clip(path: Path, sound: Callable[[int, int], np.ndarray] | None, seconds: float = 6.0) -> Path:
    return cards.write_clip(path, cards.flat(SIZE, cards.SHEET), seconds=seconds, sound=sound)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("loudness")
    return {
        "quiet": clip(d / "quiet.mp4", speech_like(0.06)),
        "loud": clip(d / "loud.mp4", speech_like(0.99, drive=6.0)),
        "screen_sound": clip(d / "screen sound.mp4", speech_like(0.2, seed=5)),
        "screen": clip(d / "screen.mp4", None),
    }


@pytest.mark.parametrize(("speaker", "screen", "extra"), [
    ("quiet", "screen", ()),
    ("loud", "screen", ()),
    ("quiet", "screen_sound", ("--audio", "mix")),
])
def test_soundtracks_come_out_at_the_target(
    recordings: dict[str, Path], tmp_path: Path, speaker: str, screen: str, extra: tuple[str, ...]
) -> None:
    before, _ = meter(recordings[speaker])
    out = tmp_path / "out.mp4"
    proc = run_cli("render", recordings[speaker], recordings[screen], "-o", out, *extra)
    integrated, peak = meter(out)
    assert abs(integrated - -16.0) <= 0.5, (before, integrated, proc.stderr)
    assert peak <= -1.0, (before, peak)
    assert re.search(r"loudness: -\d+\.\d LUFS.* -> -16\.0 LUFS", proc.stderr), proc.stderr


def test_inputs_span_what_home_recordings_do(recordings: dict[str, Path]) -> None:
    # The cases above are only meaningful if the inputs really are quiet and loud.
    assert meter(recordings["quiet"])[0] < -30
    loud, loud_peak = meter(recordings["loud"])
    assert loud > -13 and loud_peak > -0.5


def test_broadcast_target_and_off(recordings: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "broadcast.mp4"
    run_cli("render", recordings["loud"], recordings["screen"], "-o", out, "-q", "--loudness", "-23")
    assert abs(meter(out)[0] - -23.0) <= 0.5
    untouched = tmp_path / "off.mp4"
    run_cli("render", recordings["quiet"], recordings["screen"], "-o", untouched, "-q", "--loudness", "off")
    assert abs(meter(untouched)[0] - meter(recordings["quiet"])[0]) <= 0.3


def test_denoise_lowers_steady_noise_not_the_voice(tmp_path: Path) -> None:
    t = np.arange(6 * RATE) / RATE
    rng = np.random.default_rng(3)
    tone = 0.1 * np.sin(2 * np.pi * 440 * t) * ((t % 2) < 1)   # a speech-band tone, on 1 s, off 1 s
    fan = rng.standard_normal(t.size) * 10 ** (-45 / 20)
    noisy = (tone + fan).astype(np.float32)
    recording = clip(tmp_path / "fan.mp4", lambda n0, n: noisy[n0 : n0 + n])
    screen = clip(tmp_path / "screen.mp4", None)

    def levels(*options: str) -> tuple[float, float]:
        out = tmp_path / f"out{len(options)}.mp4"
        run_cli("render", recording, screen, "-o", out, "-q", "--loudness", "off", *options)
        sound = cards.sound_of(out)
        at = (np.arange(sound.size) / RATE) % 2
        late = np.arange(sound.size) >= 2 * RATE   # once the denoiser has learnt the noise
        rms = lambda mask: 10 * np.log10(np.mean(sound[mask & late].astype(np.float64) ** 2))  # noqa: E731
        return rms((at > 1.2) & (at < 1.8)), rms((at > 0.2) & (at < 0.8))

    noise, voice = levels()
    clean_noise, clean_voice = levels("--denoise", "light")
    assert noise - clean_noise >= 10, (noise, clean_noise)
    assert abs(voice - clean_voice) <= 1, (voice, clean_voice)


def test_filters_keep_sound_in_sync_with_the_picture(tmp_path: Path) -> None:
    # afftdn holds samples back and the limiter looks ahead: neither may move a beep.
    times = [0.5, 1.5, 2.7]
    speaker = clip(tmp_path / "beeps.mp4", cards.beeps(times, tone=1000), seconds=4.0)
    screen = clip(tmp_path / "screen.mp4", None, seconds=4.0)
    out = tmp_path / "out.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--denoise", "strong", "--loudness", "-10",
            "--true-peak", "-3")
    sound = cards.sound_of(out)
    onsets = cards.beep_onsets(sound, threshold=0.5 * float(np.abs(sound).max()))
    assert len(onsets) == len(times)
    assert np.allclose(onsets, times, atol=0.004), onsets


def test_sound_settings_in_presets(tmp_path: Path) -> None:
    preset = tmp_path / "quiet-room.toml"
    preset.write_text('[sound]\nloudness = "off"\ndenoise = "strong"\n', encoding="utf-8")
    assert load_preset(preset).sound == SoundSettings(loudness=0.0, denoise="strong")
    bad = tmp_path / "bad.toml"
    bad.write_text('[sound]\nloudness = 5\ndenoise = "max"\n', encoding="utf-8")
    proc = run_cli("presets", "validate", bad, check=False)
    assert proc.returncode != 0
    assert "loudness" in proc.stdout + proc.stderr and "denoise" in proc.stdout + proc.stderr
    assert RenderSettings().sound.loudness == -16.0


def test_batch_report_records_loudness(recordings: dict[str, Path], tmp_path: Path) -> None:
    rec, out = tmp_path / "rec", tmp_path / "out"
    rec.mkdir()
    (rec / "intro.speaker.mp4").write_bytes(recordings["quiet"].read_bytes())
    (rec / "intro.screen.mp4").write_bytes(recordings["screen"].read_bytes())
    run_cli("batch", rec, "-o", out, "-q")
    tutorial = json.loads((out / "report.json").read_text(encoding="utf-8"))["tutorials"][0]
    assert tutorial["loudness"]["before"]["integrated_lufs"] < -30
    assert abs(tutorial["loudness"]["after"]["integrated_lufs"] - -16.0) <= 0.5
    assert tutorial["loudness"]["after"]["true_peak_dbtp"] <= -1.0


def test_a_failing_render_does_not_wait_for_the_loudness_pass(
    media: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loudness is measured on the audio thread while the first frames are made; when the
    frame loop fails, that pass stops at once instead of reading the rest of the soundtrack
    (an hour of sound takes a minute). Here the pass would never end on its own."""
    import threading

    from greenscreen import pipeline
    from greenscreen.compositor import Compositor

    reads = []

    def endless_pass(open_track: Callable[[], object], **_: object) -> object:
        track = open_track()
        while True:  # a soundtrack with no end
            reads.append(track.read(4800))  # type: ignore[attr-defined]

    def broken(*_: object, **__: object) -> None:
        while not reads:  # fail once the pass is under way
            threading.Event().wait(0.01)
        raise RuntimeError("compositing failed")

    monkeypatch.setattr(pipeline, "plan_sound", endless_pass)
    monkeypatch.setattr(Compositor, "compose_i420", broken)
    with pytest.raises(RuntimeError, match="compositing failed"):
        pipeline.render(media["speaker"], media["screen"], tmp_path / "out.mp4")
    assert not [t for t in threading.enumerate() if t.name == "audio"], "the loudness pass goes on"
    assert not list(tmp_path.iterdir())  # and no half-written output is left
