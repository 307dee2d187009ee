"""Test recordings with a known answer: one sound heard by two microphones, and small clips.

Test-media code only (kept out of the runtime package): the sync tests need two soundtracks of
the same events with a known offset and drift, each coloured by its own microphone and room.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

TRUE_RATE = 16_000
"""Rate of the "air" signal the microphones sample from."""


def burst_sound(seconds: float, seed: int = 0, *, rate: int = TRUE_RATE) -> np.ndarray:
    """Speech-like sound: syllable-long bursts (voiced tones and hiss) separated by pauses.

    Returns mono float32 in about [-0.5, 0.5], ``round(seconds * rate)`` samples.
    """
    rng = np.random.default_rng([seed, 14])
    n = int(round(seconds * rate))
    out = np.zeros(n, np.float32)
    t = rng.uniform(0.05, 0.3)
    while t < seconds:
        dur = rng.uniform(0.06, 0.3)
        i0, i1 = int(t * rate), min(int((t + dur) * rate), n)
        m = i1 - i0
        if m > 8:
            tt = np.arange(m) / rate
            if rng.random() < 0.6:  # voiced: a few harmonics of a wandering pitch
                f0 = rng.uniform(90, 220) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(1, 4) * tt))
                phase = 2 * np.pi * np.cumsum(f0) / rate
                tone = sum(np.sin(h * phase) / h for h in range(1, 8))
            else:  # a fricative: noise
                tone = rng.standard_normal(m)
            env = np.sin(np.pi * np.arange(m) / m) ** 0.5  # quick attack and release
            out[i0:i1] += (rng.uniform(0.15, 0.5) * env * tone / (np.abs(tone).max() + 1e-9)).astype(np.float32)
        t += dur + (rng.uniform(0.02, 0.12) if rng.random() < 0.7 else rng.uniform(0.3, 0.9))
    return out


def heard_by(
    air: np.ndarray,
    seconds: float,
    *,
    rate: int = 8000,
    offset: float = 0.0,
    drift_ppm: float = 0.0,
    gain: float = 1.0,
    eq: str = "flat",
    noise_dbfs: float = -70.0,
    seed: int = 0,
) -> np.ndarray:
    """What one microphone records of ``air`` (sampled at :data:`TRUE_RATE`).

    The recording's sample at its own time ``ts`` hears the air at ``offset + ts * (1 + drift)``:
    with the air as the screen recording's timeline, these are exactly the offset and drift
    :func:`greenscreen.sync.sync` should find. ``eq`` colours the sound ("flat", "bright": a
    thin laptop microphone, "dull": a muffled webcam), ``noise_dbfs`` adds room noise (RMS).
    """
    rng = np.random.default_rng([seed, 99])
    ts = np.arange(int(round(seconds * rate))) / rate
    air_t = offset + ts * (1.0 + drift_ppm * 1e-6)
    x = np.interp(air_t * TRUE_RATE, np.arange(len(air)), air, left=0.0, right=0.0)
    if eq == "bright":
        x = np.convolve(x, [1.0, -0.85], mode="same")
    elif eq == "dull":
        x = np.convolve(x, np.ones(6) / 6, mode="same")
    noise = rng.standard_normal(len(x)) * 10 ** (noise_dbfs / 20)
    # Room noise is mostly low rumble and hum, not white.
    noise = np.convolve(noise, np.ones(3) / np.sqrt(3), mode="same")
    return np.clip(gain * x + noise, -1, 1).astype(np.float32)


def write_clip(
    path: Path,
    *,
    seconds: float,
    size: tuple[int, int] = (64, 48),
    fps: int = 10,
    frame: Callable[[int], np.ndarray] | None = None,
    audio: np.ndarray | None = None,
    audio_rate: int = 48_000,
    audio_start: float = 0.0,
    audio_holes: Sequence[tuple[float, float]] = (),
) -> Path:
    """Write an H.264 (+ AAC) MP4: ``frame(i)`` gives frame ``i`` (BGR), else a grey picture.

    ``audio`` is mono float32 at ``audio_rate``; ``audio_start`` delays its first sample on the
    file's timeline (as some recorders do). ``audio_holes`` are (start, end) seconds whose sound
    is left out, its timestamps jumping over them, as a dropping microphone leaves them.
    """
    if audio_holes:
        return _write_with_holes(path, seconds, size, fps, audio, audio_rate, audio_holes)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "18"}
        sound = None
        if audio is not None:
            sound = out.add_stream("aac", rate=audio_rate, layout="mono")
        count = int(round(seconds * fps))
        grey = np.full((size[1], size[0], 3), 128, np.uint8)
        pos = 0
        block = 1024
        first_pts = int(round(audio_start * audio_rate))
        for i in range(count):
            vf = av.VideoFrame.from_ndarray(frame(i) if frame else grey, format="bgr24")
            vf.pts = i
            vf.time_base = Fraction(1, fps)
            for packet in video.encode(vf):
                out.mux(packet)
            if sound is not None:
                until = min(int((i + 1) / fps * audio_rate), len(audio))
                while pos < until:
                    chunk = audio[pos : min(pos + block, until)]
                    af = av.AudioFrame.from_ndarray(chunk[None, :].astype(np.float32), format="fltp", layout="mono")
                    af.sample_rate = audio_rate
                    af.pts = first_pts + pos
                    af.time_base = Fraction(1, audio_rate)
                    for packet in sound.encode(af):
                        out.mux(packet)
                    pos += len(chunk)
        for packet in video.encode(None):
            out.mux(packet)
        if sound is not None:
            for packet in sound.encode(None):
                out.mux(packet)
    return path


DEFECTS = ("clean", "gradient", "shadow", "spill", "clipped", "framing", "pumping", "flicker", "bands", "noisy", "repeats", "blur",
           "focus")


def write_defect_clip(path: Path, defect: str = "clean", *, seconds: float = 2.0,
                      size: tuple[int, int] = (640, 360), seed: int = 1, fps: int = 25) -> Path:
    """A webcam test recording (evenly lit studio-green sheet, speech) with one known defect.

    ``defect`` is one of :data:`DEFECTS`: "gradient" darkens the right of the picture to 45 %,
    "shadow" casts the speaker's shadow on the sheet beside them, "spill" tints the speaker
    green, "clipped" overexposes the picture, "framing" shows a wall over the left 15 % and
    top 10 %, "pumping" lets the exposure swing by +-25 % (a webcam's automatic exposure),
    "flicker" lets the light flicker by +-8 % at 100 Hz as the frames sample it (mains lamps;
    visible at 30 fps, not at 25), "bands" the same light seen by a rolling shutter (the rows
    read one after another over 30 ms: dark bands, 25 % deep, rolling down the picture),
    "noisy" adds strong sensor noise (a dim room), "repeats" is "noisy" from a webcam that
    slowed to half the frame rate in the dim light (the recorder repeats each picture), "blur" smears the speaker sideways by 31 px
    in every third stretch of eight frames (fast movement; the sheet behind stays sharp), "focus"
    blurs the whole picture then (an autofocus searching).
    The sound is a quiet room's; see :func:`write_sound_clip` for sound defects.
    """
    import synthetic

    if defect not in DEFECTS:
        raise ValueError(f"defect must be one of {DEFECTS}, got {defect!r}")
    w, h = size
    ramp = np.linspace(1.0, 0.45, w, dtype=np.float32)[None, :, None]

    def frame(i: int) -> np.ndarray:
        if defect == "repeats":
            i -= i % 2
        bgr, alpha = synthetic.speaker_frame(i / fps, size, seed, sheet="studio")
        img = bgr.astype(np.float32)
        a = alpha[:, :, None]
        if defect == "gradient":
            img *= ramp
        elif defect == "shadow":
            shift = np.roll(alpha, int(0.06 * w), axis=1)
            shift = cv2.GaussianBlur(cv2.dilate(shift, np.ones((15, 15), np.uint8)), (0, 0), 6)
            img *= 1 - 0.55 * (shift * (1 - alpha))[:, :, None]
        elif defect == "spill":
            img[:, :, 1:2] += 70 * a
            img[:, :, 0:1] -= 15 * a
            img[:, :, 2:3] -= 15 * a
        elif defect == "clipped":
            img *= 2.3
        elif defect == "pumping":
            img *= 1 + 0.25 * np.sin(2 * np.pi * i / fps / 1.3)
        elif defect == "flicker":  # lamps on 50 Hz mains (100 Hz) sampled by the camera's frames
            img *= 1 + 0.08 * np.sin(2 * np.pi * 100 * i / fps + 0.5)
        elif defect == "bands":
            rows = np.arange(h, dtype=np.float32)[:, None, None] / h * (0.9 / 30)  # when each row is read
            img *= 1 - 0.25 * 0.5 * (1 + np.sin(2 * np.pi * 100 * (i / fps + rows)))
        elif defect in ("noisy", "repeats"):
            img += np.random.default_rng([seed, i]).normal(0, 14, img.shape).astype(np.float32)
        elif defect == "blur" and (i // 8) % 3 == 0:
            smear = cv2.blur(alpha, (31, 1))[:, :, None]
            img = cv2.blur(img, (31, 1)) * smear + img * (1 - smear)
        elif defect == "focus" and (i // 8) % 3 == 0:
            img = cv2.GaussianBlur(img, (0, 0), 4)
        elif defect == "framing":
            wall = np.array([170, 190, 205], np.float32)  # a beige wall, BGR
            img[:, : int(0.15 * w)] = wall
            img[: int(0.10 * h)] = wall
        return np.clip(img, 0, 255).astype(np.uint8)

    rate = synthetic.AUDIO_RATE
    n = int(seconds * rate)
    rng = np.random.default_rng([seed, 5])
    # A quiet room is never digitally silent.
    voice = synthetic.speaker_audio(0, n, seed) + 0.0005 * rng.standard_normal(n)
    return write_clip(path, seconds=seconds, size=size, fps=fps, frame=frame,
                      audio=voice.astype(np.float32), audio_rate=rate)


def write_sound_clip(path: Path, defect: str = "clean", *, seconds: float = 3.0, seed: int = 1) -> Path:
    """A tiny grey video with the sound of :func:`write_defect_clip` (for the sound checks)."""
    import synthetic

    rate = synthetic.AUDIO_RATE
    n = int(seconds * rate)
    voice = synthetic.speaker_audio(0, n, seed).astype(np.float32)
    rng = np.random.default_rng([seed, 5])
    if defect == "clipping_mic":
        voice = np.clip(voice * 8, -1, 1)
    elif defect == "noisy_room":
        t = np.arange(n) / rate
        voice = voice + 0.05 * rng.standard_normal(n).astype(np.float32) + 0.05 * np.sin(2 * np.pi * 100 * t)
    elif defect == "quiet":
        voice = voice * 0.03
    elif defect in ("clean", "dropouts"):
        voice = voice + 0.0005 * rng.standard_normal(n).astype(np.float32)
    else:
        raise ValueError(f"not a sound defect: {defect!r}")
    holes = ((0.8, 1.4), (2.0, 2.5)) if defect == "dropouts" else ()
    return write_clip(path, seconds=seconds, audio=voice.astype(np.float32), audio_rate=rate, audio_holes=holes)


def _write_with_holes(
    path: Path, seconds: float, size: tuple[int, int], fps: int, audio: np.ndarray | None, rate: int,
    holes: Sequence[tuple[float, float]],
) -> Path:
    """:func:`write_clip` of a grey picture whose sound has ``holes``: the sound goes in whole
    1024-sample frames (the AAC encoder's own), so frames in a hole can be left out."""
    assert audio is not None
    with av.open(str(path), "w") as out:
        sound = out.add_stream("aac", rate=rate, layout="mono")
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "18"}
        for pos in range(0, len(audio), 1024):
            if any(start * rate <= pos < end * rate for start, end in holes):
                continue
            af = av.AudioFrame.from_ndarray(audio[None, pos : pos + 1024].astype(np.float32), format="fltp",
                                            layout="mono")
            af.sample_rate, af.pts, af.time_base = rate, pos, Fraction(1, rate)
            for packet in sound.encode(af):
                out.mux(packet)
        for packet in sound.encode(None):
            out.mux(packet)
        grey = np.full((size[1], size[0], 3), 128, np.uint8)
        for i in range(int(round(seconds * fps))):
            vf = av.VideoFrame.from_ndarray(grey, format="bgr24")
            vf.pts, vf.time_base = i, Fraction(1, fps)
            for packet in video.encode(vf):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
    return path


def write_break_clip(
    path: Path, *, before: float = 2.0, after: float = 2.0, jump: float = 60.0, fps: int = 10,
    flash_at: float = 3.0, size: tuple[int, int] = (64, 48), rate: int = 48_000,
    sound_hole: tuple[float, float] | None = None, sound: str = "jumps",
) -> Path:
    """A recording whose clock jumps ``jump`` seconds ahead after ``before`` seconds, in its
    picture and (``sound`` "jumps") its sound alike (a laptop that slept while recording), then
    runs ``after`` seconds more. With ``sound`` "runs" the sound goes on through the jump (the
    picture only stood still: a variable-frame-rate screen recorder writes no frames then); with
    "none" there is no sound track. At ``flash_at`` seconds of the picture recorded (its jump
    not counted) it flashes white for one frame, and a 1 kHz beep starts (0.2 s) at ``flash_at``
    seconds of the sound recorded; otherwise a dark grey picture and a quiet 220 Hz hum.
    ``sound_hole`` (start, end), in seconds of the sound recorded, is left out of it, its
    timestamps jumping over it (a dropout). The container follows ``path``'s suffix."""
    if sound not in ("jumps", "runs", "none"):
        raise ValueError(f"sound must be 'jumps', 'runs' or 'none', got {sound!r}")
    total = int((before + after + (jump if sound == "runs" else 0.0)) * rate)
    t = np.arange(total) / rate
    hum = (0.01 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    beep = (t >= flash_at) & (t < flash_at + 0.2)
    hum[beep] = (0.5 * np.sin(2 * np.pi * 1000 * t[beep])).astype(np.float32)
    frames = int(round((before + after) * fps))
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "18"}
        audio = out.add_stream("aac", rate=rate, layout="mono") if sound != "none" else None
        pos = 0
        for i in range(frames):
            recorded = i / fps
            shift = jump if recorded >= before else 0.0
            level = 255 if round(recorded * fps) == round(flash_at * fps) else 60
            vf = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), level, np.uint8), format="bgr24")
            vf.pts, vf.time_base = int(round((recorded + shift) * fps)), Fraction(1, fps)
            for packet in video.encode(vf):
                out.mux(packet)
            until = total if i == frames - 1 else min(int((i + 1) / fps * rate), total)
            while audio is not None and pos < until:
                n = min(1024, until - pos)
                if sound_hole is not None and sound_hole[0] * rate <= pos < sound_hole[1] * rate:
                    pos += n
                    continue
                af = av.AudioFrame.from_ndarray(hum[None, pos:pos + n], format="fltp", layout="mono")
                moved = int(round(jump * rate)) if sound == "jumps" and pos >= before * rate else 0  # the break
                af.sample_rate, af.pts, af.time_base = rate, pos + moved, Fraction(1, rate)
                for packet in audio.encode(af):
                    out.mux(packet)
                pos += n
        for stream in (video, audio) if audio is not None else (video,):
            for packet in stream.encode(None):
                out.mux(packet)
    return path
