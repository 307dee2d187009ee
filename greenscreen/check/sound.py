"""The sound of a recording: level, clipping, background noise and dropouts, from its decoded samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from greenscreen.check.report import Finding, grade, worst
from greenscreen.io.audio import iter_mono

BLOCK = 0.05
"""Seconds per level measurement (the level-over-time curve of the report sheet)."""
LOUD_USABLE, LOUD_POOR = -26.0, -36.0
"""Speech level (the 90th percentile of 50 ms levels, dBFS) below which the voice is too quiet:
normalising it up later lifts the room noise with it."""
CLIP_LEVEL = 0.98
"""A sample this close to full scale is taken as clipped (AAC rounds a flat top to about 1)."""
CLIP_USABLE, CLIP_POOR = 0.0002, 0.002
"""Share of the samples clipped: a few clicks are audible, a share of a percent is distortion."""
FLOOR_USABLE, FLOOR_POOR = -50.0, -40.0
"""Noise floor (10th percentile of 50 ms levels, dBFS: the pauses between words)."""
SNR_USABLE, SNR_POOR = 20.0, 12.0
"""Speech above the noise floor, dB."""
DROPOUTS_POOR, DROPOUT_SECONDS_POOR = 5, 1.0
"""Dropouts (holes in the sound's timestamps) that make the sound poor: this many, or this
many seconds in all. Fewer are usable: the render fills them with silence and keeps sync."""


def level_curve(samples: np.ndarray, rate: int) -> np.ndarray:
    """RMS level in dBFS of every :data:`BLOCK` seconds of mono ``samples`` (float32 (n,))."""
    n = int(rate * BLOCK)
    blocks = len(samples) // n
    if blocks == 0:
        return np.zeros(0, np.float32)
    power = np.square(samples[: blocks * n].reshape(blocks, n), dtype=np.float64).mean(axis=1)
    return (10 * np.log10(power + 1e-12)).astype(np.float32)


def _measure(blocks, rate: int) -> tuple[np.ndarray, float]:
    """Level curve and share of clipped samples, streaming: an hour of sound is never held."""
    n = int(rate * BLOCK)
    levels, rest = [], np.zeros(0, np.float32)
    clipped = total = 0
    for block in blocks:
        clipped += int(np.count_nonzero(np.abs(block) >= CLIP_LEVEL))
        total += len(block)
        rest = np.concatenate([rest, block])
        whole = len(rest) // n * n
        if whole:
            levels.append(level_curve(rest[:whole], rate))
            rest = rest[whole:]
    curve = np.concatenate(levels) if levels else np.zeros(0, np.float32)
    return curve, clipped / max(total, 1)


def analyse_sound(path: Path, recording: str = "speaker") -> tuple[list[Finding], np.ndarray]:
    """Findings about the sound of ``path`` and its level curve (dBFS per :data:`BLOCK`)."""
    holes: list[tuple[float, float]] = []
    decoded = iter_mono(Path(path), holes=holes)
    if decoded is None:
        missing = Finding("sound", "usable", "sound_none", "sound_none_advice", recording=recording)
        return [missing], np.zeros(0, np.float32)
    levels, clipped = _measure(*decoded)
    if levels.size == 0 or float(levels.max()) < -60:
        return [Finding("sound", "poor", "sound_silent", "sound_silent_advice", recording=recording,
                        figures={"peak_dbfs": float(levels.max()) if levels.size else -120.0})], levels
    speech = float(np.percentile(levels, 90))
    floor = float(np.percentile(levels, 10))
    findings = []
    v_loud = grade(-speech, -LOUD_USABLE, -LOUD_POOR)
    findings.append(Finding("loudness", v_loud, "loud_good" if v_loud == "good" else "loud_quiet",
                            "loud_advice", params={"db": round(speech)}, recording=recording,
                            figures={"speech_dbfs": speech}))
    v_clip = grade(clipped, CLIP_USABLE, CLIP_POOR)
    findings.append(Finding("clipping", v_clip, "clip_good" if v_clip == "good" else "clip_bad",
                            "clip_advice", params={"pct": round(clipped * 100, 2)}, recording=recording,
                            figures={"clipped": clipped}))
    snr = speech - floor
    v_noise = worst([grade(floor, FLOOR_USABLE, FLOOR_POOR), grade(-snr, -SNR_USABLE, -SNR_POOR)])
    findings.append(Finding("room_noise", v_noise, "room_good" if v_noise == "good" else "room_bad",
                            "room_advice", params={"db": round(floor), "snr": round(snr)}, recording=recording,
                            figures={"noise_floor_dbfs": floor, "snr_db": snr}))
    findings.append(_dropouts(holes, recording))
    return findings, levels


def _dropouts(holes: list[tuple[float, float]], recording: str) -> Finding:
    """The finding on the sound's dropouts (``(start, seconds)`` each)."""
    if not holes:
        return Finding("dropouts", "good", "dropouts_good", recording=recording, figures={"dropouts": 0})
    total = sum(seconds for _, seconds in holes)
    verdict = "poor" if len(holes) >= DROPOUTS_POOR or total >= DROPOUT_SECONDS_POOR else "usable"
    first = holes[0][0]
    message = "dropouts_once" if len(holes) == 1 else "dropouts_bad"
    return Finding("dropouts", verdict, message, "dropouts_advice", recording=recording,
                   params={"count": len(holes), "seconds": round(total, 1 if total >= 0.1 else 2),
                           "at": f"{int(first // 60)}:{first % 60:04.1f}"},
                   figures={"dropouts": len(holes), "dropout_seconds": total})
