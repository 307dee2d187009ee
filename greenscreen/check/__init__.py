"""Check a recording before the work is wasted: will the setup key well, is the sound usable?

:func:`check_recording` looks at a short test recording of the speaker (and optionally the
screen recording) and returns a :class:`CheckReport`: a verdict (good / usable / poor) per
topic and overall, the measured figures and concrete advice, in English or German.

* :mod:`greenscreen.check.picture`: sheet, speaker and camera, on sampled, keyed frames;
* :mod:`greenscreen.check.sound`: voice level, clipping and background noise;
* :mod:`greenscreen.check.sheet`: the PNG report sheet;
* :mod:`greenscreen.check.report` and :mod:`~greenscreen.check.messages`: verdicts and wording.
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

from greenscreen.check.picture import SAMPLES, analyse_picture, distinct_rate, sample_frames
from greenscreen.check.report import CheckReport, Finding, grade, language_from_locale, worst
from greenscreen.check.sound import analyse_sound
from greenscreen.errors import SettingsError
from greenscreen.io.probe import MediaInfo, probe
from greenscreen.io.reader import Crop
from greenscreen.key import KeySettings

__all__ = ["CheckReport", "Finding", "check_recording", "language_from_locale"]

SPEAKER_HEIGHT_USABLE, SPEAKER_HEIGHT_POOR = 360, 240
"""Webcam picture height: the picture-in-picture of a 1080p video is 360 lines tall."""
FPS_USABLE, FPS_POOR = 24.0, 15.0
SCREEN_USABLE, SCREEN_POOR = (1280, 720), (854, 480)
SCREEN_FPS_USABLE = 10.0


def check_recording(
    speaker: str | Path,
    screen: str | Path | None = None,
    *,
    key: KeySettings | None = None,
    crop: Crop = Crop(),
    samples: int = SAMPLES,
) -> CheckReport:
    """Check ``speaker`` (webcam in front of the sheet) and optionally ``screen``.

    ``key`` are the key settings to judge the sheet with (a preset's), ``crop`` a crop the
    user already applies (the sheet is judged inside it). Raises
    :class:`~greenscreen.errors.MediaError` for unreadable files.
    """
    started = time.monotonic()
    speaker = Path(speaker)
    info = probe(speaker)
    try:
        crop.box(info.width, info.height)
    except ValueError as exc:  # in the words (and exit code) of render and key
        raise SettingsError(str(exc), speaker) from None
    screen_info = probe(Path(screen)) if screen is not None else None
    frames = sample_frames(speaker, samples=samples, crop=crop, key=key)
    picture = analyse_picture(frames, crop=crop, screen=(key or KeySettings()).screen)
    findings = [_format(info, distinct_rate(frames, float(info.fps)))] + picture.findings
    sound, levels = analyse_sound(speaker)
    if info.has_audio or screen_info is None or not screen_info.has_audio:
        findings += sound
    else:
        # The webcam has no microphone: the screen recording's sound is what will be heard.
        screen_sound, levels = analyse_sound(screen_info.path, recording="screen")
        findings += screen_sound
    if screen_info is not None:
        findings.append(_screen_format(screen_info))
    images = dict(picture.images)
    images["levels"] = levels
    return CheckReport(
        speaker=str(speaker), screen=str(screen) if screen is not None else None,
        findings=findings, seconds=time.monotonic() - started, samples=picture.samples,
        crop=picture.crop, images=images,
    )


def _fps(rate: Fraction) -> float:
    return round(float(rate), 2)


def _format(info: MediaInfo, distinct: float | None = None) -> Finding:
    """The webcam picture's size and rate; ``distinct`` is how many different pictures a
    second it shows (fewer than its frame rate where the recorder repeated the webcam's)."""
    distinct = float(info.fps) if distinct is None else distinct
    repeating = distinct < 0.9 * float(info.fps)
    params = {"width": info.width, "height": info.height, "fps": _fps(info.fps),
              "pictures": round(distinct, 2)}
    figures = {"width": info.width, "height": info.height, "fps": float(info.fps), "pictures": distinct}
    size = grade(-info.height, -SPEAKER_HEIGHT_USABLE + 0.5, -SPEAKER_HEIGHT_POOR + 0.5)
    speed = grade(-distinct, -FPS_USABLE + 0.5, -FPS_POOR + 0.5)
    if size != "good" and (size == worst([size, speed])):
        return Finding("format", size, "format_small", "format_small_advice", params=params, figures=figures)
    if speed != "good":
        what = "format_repeats" if repeating else "format_slow"
        return Finding("format", speed, what, what + "_advice", params=params, figures=figures)
    if info.variable_fps:
        return Finding("format", "usable", "format_vfr", "format_vfr_advice", params=params, figures=figures)
    return Finding("format", "good", "format_good", params=params, figures=figures)


def _screen_format(info: MediaInfo) -> Finding:
    params = {"width": info.width, "height": info.height, "fps": _fps(info.fps)}
    figures = {"width": info.width, "height": info.height, "fps": float(info.fps)}
    if info.width < SCREEN_POOR[0] or info.height < SCREEN_POOR[1]:
        verdict = "poor"
    elif info.width < SCREEN_USABLE[0] or info.height < SCREEN_USABLE[1]:
        verdict = "usable"
    else:
        verdict = "good"
    if verdict != "good":
        return Finding("screen_format", verdict, "screen_small", "screen_small_advice", params=params,
                       figures=figures, recording="screen")
    if float(info.fps) < SCREEN_FPS_USABLE:
        return Finding("screen_format", "usable", "screen_slow", "screen_slow_advice", params=params,
                       figures=figures, recording="screen")
    return Finding("screen_format", "good", "screen_good", params=params, figures=figures, recording="screen")
