"""Test cards: small recordings made to be measured, and readers that measure an output.

The synthetic speaker of :mod:`synthetic` looks like a person; these clips say
where they came from instead. A timecode picture carries its frame number as a grey level, so
an output frame tells which speaker frame and which screen frame it shows; a soundtrack of
short beeps at known times tells which stretch of a source's sound it holds (and, by the
tone, whose). Pictures are flat areas of known Y, U, V, written as I420 without any colour
conversion, so the levels in an output can be checked to a code value or two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

AUDIO_RATE = 48_000

# Studio-range BT.601 (Y, U, V) of the colours used.
SHEET = (128, 93, 90)
"""A plain green sheet, BGR about (60, 175, 70)."""
RED = (91, 104, 198)
BLUE = (66, 198, 117)
STAINS = ((110, 99, 129), (77, 113, 112))
"""A dull yellowish stain and a dark green one on the sheet (BGR about (50, 120, 110) and
(40, 90, 45)): greenscreen's keyer leaves them (mostly) opaque without a clean plate and clears
them with one."""

SCREEN_U = 144
"""The timecode screen is bluish grey (U 144), the speaker's square neutral grey: an output
pixel says whose it is by its U, and which frame by its Y. (Tinting the square instead would
push its bright frames out of the RGB gamut when the keyer reads them.)"""
LEVEL0, LEVEL_STEP = 30, 4
LEVEL_MAX = 235
"""Frame ``i`` of a timecode clip shows Y ``LEVEL0 + LEVEL_STEP * i``, up to the top of studio
range (52 frames). Read an output rendered at a fine CRF: at CRF 23 x264 coded the last frames
of this steady fade up to two code values off, half the way to the next frame's level."""

BEEP_SECONDS = 0.1
Picture = Callable[[int], np.ndarray]
"""Frame index -> I420 uint8 ``(h * 3 // 2, w)``."""


def level(index: int) -> int:
    """The Y of timecode frame ``index``."""
    y = LEVEL0 + LEVEL_STEP * index
    if not LEVEL0 <= y <= LEVEL_MAX:
        raise ValueError(f"a timecode clip holds at most {(LEVEL_MAX - LEVEL0) // LEVEL_STEP + 1} frames")
    return y


def index_of(y: float) -> int:
    """The timecode frame whose Y is nearest ``y``."""
    return int(round((y - LEVEL0) / LEVEL_STEP))


def i420(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Full-size Y, U, V planes as I420, taking every second chroma sample (height a multiple of 4)."""
    h, w = y.shape
    return np.concatenate([y, u[::2, ::2].reshape(h // 4, w), v[::2, ::2].reshape(h // 4, w)])


def planes(size: tuple[int, int], colour: tuple[int, int, int]) -> tuple[np.ndarray, ...]:
    """Three full-size planes filled with ``colour`` (Y, U, V)."""
    w, h = size
    return tuple(np.full((h, w), c, np.uint8) for c in colour)


def square(size: tuple[int, int]) -> tuple[slice, slice]:
    """Where the timecode speaker's square is: centred, half the frame's height on a side."""
    w, h = size
    return np.s_[h // 4 : h - h // 4, w // 2 - h // 4 : w // 2 + h // 4]


def stain_mask(size: tuple[int, int]) -> list[np.ndarray]:
    """The two stains of a stained sheet: discs in the top-left and bottom-right of the frame."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    r = h // 6
    return [(xx - w // 5) ** 2 + (yy - h // 4) ** 2 < r * r, (xx - 4 * w // 5) ** 2 + (yy - 3 * h // 4) ** 2 < r * r]


def sheet(size: tuple[int, int], *, stained: bool = False) -> tuple[np.ndarray, ...]:
    """The empty green sheet as Y, U, V planes, with its two stains if ``stained``."""
    y, u, v = planes(size, SHEET)
    if stained:
        for mask, colour in zip(stain_mask(size), STAINS):
            y[mask], u[mask], v[mask] = colour
    return y, u, v


def empty_sheet(size: tuple[int, int], *, stained: bool = False) -> Picture:
    """A clean plate: the sheet of :func:`timecode_speaker` without anyone in front of it."""
    frame = i420(*sheet(size, stained=stained))
    return lambda i: frame


def timecode_speaker(size: tuple[int, int], *, stained: bool = False) -> Picture:
    """The sheet with a grey square in the middle counting the frames (see :func:`level`)."""
    where = square(size)

    def picture(i: int) -> np.ndarray:
        y, u, v = sheet(size, stained=stained)
        y[where], u[where], v[where] = level(i), 128, 128
        return i420(y, u, v)

    return picture


def marked_speaker(size: tuple[int, int], box: tuple[int, int, int, int], grey: int = 150) -> Picture:
    """The sheet with a neutral ``grey`` rectangle at ``box`` = ``(x0, y0, x1, y1)``, a red bar
    down the left 50 pixels and a blue bar down the right 15: a crop that should cut the bars
    away shows whether it did, and where the rectangle lands shows how the rest was placed."""
    w, h = size
    y, u, v = sheet(size)
    x0, y0, x1, y1 = box
    y[y0:y1, x0:x1], u[y0:y1, x0:x1], v[y0:y1, x0:x1] = grey, 128, 128
    y[:, :50], u[:, :50], v[:, :50] = RED
    y[:, w - 15 :], u[:, w - 15 :], v[:, w - 15 :] = BLUE
    frame = i420(y, u, v)
    return lambda i: frame


def flat(size: tuple[int, int], colour: tuple[int, int, int]) -> Picture:
    """Every frame one ``colour`` (Y, U, V)."""
    frame = i420(*planes(size, colour))
    return lambda i: frame


def timecode_screen(size: tuple[int, int]) -> Picture:
    """The whole frame in a bluish grey counting the frames (see :func:`level`)."""
    return lambda i: i420(*planes(size, (level(i), SCREEN_U, 128)))


def beeps(times: Sequence[float], *, tone: float) -> Callable[[int, int], np.ndarray]:
    """Mono samples: ``BEEP_SECONDS`` sine beeps of ``tone`` Hz starting at ``times`` seconds."""

    def sound(n0: int, n: int) -> np.ndarray:
        t = (n0 + np.arange(n)) / AUDIO_RATE
        on = np.zeros(n, bool)
        for start in times:
            on |= (t >= start) & (t < start + BEEP_SECONDS)
        return (0.5 * np.sin(2 * np.pi * tone * t) * on).astype(np.float32)

    return sound


def write_clip(
    path: Path,
    picture: Picture,
    *,
    fps: int = 25,
    seconds: float = 2.0,
    sound: Callable[[int, int], np.ndarray] | None = None,
) -> Path:
    """Write ``picture(i)`` for each frame and, if given, mono ``sound(n0, n)`` as H.264 + AAC.

    The pictures go in as I420, as they are: a conversion from BGR would round (and tint) the
    levels before the test starts. CRF 8 keeps flat areas exact.
    """
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        first = picture(0)
        video.height, video.width = first.shape[0] * 2 // 3, first.shape[1]
        video.pix_fmt = "yuv420p"
        video.options = {"crf": "8", "preset": "veryfast"}
        audio = None
        if sound is not None:
            audio = container.add_stream("aac", rate=AUDIO_RATE)
            audio.layout = "mono"
        written = 0
        for i in range(round(seconds * fps)):
            container.mux(video.encode(av.VideoFrame.from_ndarray(picture(i), format="yuv420p")))
            if audio is not None and sound is not None:
                upto = round((i + 1) * AUDIO_RATE / fps)
                frame = av.AudioFrame.from_ndarray(sound(written, upto - written)[None, :], format="fltp", layout="mono")
                frame.sample_rate = AUDIO_RATE
                frame.pts = written
                frame.time_base = Fraction(1, AUDIO_RATE)
                container.mux(audio.encode(frame))
                written = upto
        container.mux(video.encode(None))
        if audio is not None:
            container.mux(audio.encode(None))
    return path


def yuv(path: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The Y, U and V planes of every frame of a (small) video, as written."""
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            buf = frame.to_ndarray(format="yuv420p")
            h, w = frame.height, frame.width
            chroma = buf[h:].reshape(2, h // 2, w // 2)
            out.append((buf[:h], chroma[0], chroma[1]))
    return out


def sound_of(path: Path) -> np.ndarray:
    """The first audio stream as mono float32 at 48 kHz (channels averaged)."""
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=AUDIO_RATE)
        chunks = [out.to_ndarray()[0] for frame in container.decode(audio=0) for out in resampler.resample(frame)]
        chunks += [out.to_ndarray()[0] for out in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.float32)


def beep_onsets(samples: np.ndarray, *, threshold: float = 0.15) -> list[float]:
    """Start times in seconds of the beeps in mono 48 kHz ``samples``.

    The envelope is the peak of each 2 ms; a beep starts where it rises above ``threshold``
    after at least 50 ms below it.
    """
    window = AUDIO_RATE // 500
    n = len(samples) // window
    envelope = np.abs(samples[: n * window]).reshape(n, window).max(axis=1)
    onsets: list[float] = []
    last = -(10**9)
    for k in np.flatnonzero(envelope > threshold):
        if k - last > 25:
            onsets.append(round(float(k * window / AUDIO_RATE), 3))
        last = k
    return onsets


def tone_at(samples: np.ndarray, start: float) -> float:
    """The strongest frequency in Hz of the beep that starts at ``start`` seconds."""
    a = round((start + 0.01) * AUDIO_RATE)
    chunk = samples[a : a + round((BEEP_SECONDS - 0.02) * AUDIO_RATE)]
    spectrum = np.abs(np.fft.rfft(chunk * np.hanning(len(chunk))))
    return float(np.fft.rfftfreq(len(chunk), 1 / AUDIO_RATE)[int(spectrum.argmax())])


def x264_options(path: Path) -> dict[str, str]:
    """The settings x264 wrote into the video stream (its SEI text "... options: k=v k=v")."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            data = bytes(packet)
            at = data.find(b"x264 - core")
            if at >= 0:
                text = data[at : data.index(b"\x00", at)].decode("ascii", "replace")
                return dict(item.split("=", 1) for item in text.split("options: ", 1)[1].split() if "=" in item)
    raise AssertionError(f"{path}: no x264 settings in the video stream")
