"""Synthetic test recordings: a speaker before a green bedsheet and a screen recording.

The files written here stand in for real footage in samples, tests and benchmarks. They are
made to be awkward in the same ways home recordings are awkward:

* the speaker clip shows a person-like subject (hair, face, shirt, soft anti-aliased edges and
  fine flyaway hairs) in front of a dyed, desaturated green bedsheet with hanging folds,
  storage creases, a lamp gradient from one side, lens vignetting, the speaker's soft shadow
  on the sheet, green spill on the subject's edges and per-frame sensor noise. The subject
  sways, tilts the head, blinks and talks: the mouth opens with the same syllable envelope
  that drives the speech-like audio track.
* the screen clip looks like an editor window on a desktop: flat colours, text, a scrolling
  document, a terminal that is typed into, a notification toast and a moving mouse cursor.
  It can be written with a variable frame rate (irregular timestamps in a 1/1000 time base),
  as screen recorders do.

Every frame is a pure function of its time: :func:`speaker_frame` returns the frame together
with its ground-truth alpha matte, :func:`screen_frame` returns a screen frame. The writers
stream frame by frame through PyAV (libx264 ``yuv420p`` video, AAC audio; MP4, MOV or MKV
chosen by the file extension) and never hold a clip in memory.

Frame contract (see :mod:`greenscreen.frames`): frames are BGR ``uint8`` ``(H, W, 3)``; alpha
is ``float32`` ``(H, W)`` in ``[0, 1]``, 1 on the speaker and 0 on the sheet.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import cv2
import numpy as np

__all__ = [
    "AUDIO_RATE",
    "SheetKind",
    "screen_frame",
    "sheet_plate",
    "speaker_audio",
    "speaker_frame",
    "vfr_timestamps_ms",
    "write_corrupt_copy",
    "write_not_a_video",
    "write_screen_clip",
    "write_speaker_clip",
]

SheetKind = Literal["bedsheet", "studio", "blue"]
"""Backdrop of the speaker clip: a wrinkled home bedsheet, an evenly lit studio green screen,
or a blue cloth backdrop."""

AUDIO_RATE = 48_000
"""Sample rate of every audio track written here, in Hz."""

_AUDIO_BLOCK = 12_000  # samples generated at a time (PyAV re-chunks for the AAC encoder)
_CONTAINERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}
_SHEETS = ("bedsheet", "studio", "blue")
_AA = cv2.LINE_AA
_SHIFT = 4  # fixed-point bits for sub-pixel drawing with OpenCV
_ONE = 1 << _SHIFT


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _check_size(size: tuple[int, int], name: str = "size") -> tuple[int, int]:
    """Validate a ``(width, height)`` pair; both even (yuv420p) and at least 64."""
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (width, height) pair, got {size!r}") from None
    if w < 64 or h < 64 or w % 2 or h % 2:
        raise ValueError(f"{name} must be even and at least 64x64 for yuv420p, got {w}x{h}")
    return w, h


def _as_rate(fps: float | Fraction) -> Fraction:
    """Turn a frame rate into an exact fraction; 29.97-style rates become N*1000/1001."""
    if isinstance(fps, Fraction):
        rate = fps
    else:
        value = float(fps)
        if not math.isfinite(value):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        ntsc = value * 1001 / 1000
        if abs(ntsc - round(ntsc)) < 1e-3 and abs(value - round(value)) > 1e-3:
            rate = Fraction(round(ntsc) * 1000, 1001)
        else:
            rate = Fraction(value).limit_denominator(1001)
    if not 1 <= rate <= 240:
        raise ValueError(f"fps must be between 1 and 240, got {fps!r}")
    return rate


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_seconds(seconds: float) -> float:
    seconds = float(seconds)
    if not (math.isfinite(seconds) and 0 < seconds <= 3600):
        raise ValueError(f"seconds must be in (0, 3600], got {seconds!r}")
    return seconds


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def _rgb(r: float, g: float, b: float) -> np.ndarray:
    """An RGB triple in 0..255 as a BGR float32 colour in [0, 1]."""
    return np.array([b, g, r], np.float32) / np.float32(255.0)


def _fx(v: float) -> int:
    """A coordinate in pixels as an OpenCV fixed-point integer."""
    return int(round(v * _ONE))


def _ellipse(mask: np.ndarray, center, axes, angle: float = 0.0, start: float = 0.0,
             end: float = 360.0, thickness: int = -1, value: int = 255) -> np.ndarray:
    """Draw an anti-aliased ellipse with sub-pixel centre and axes onto a uint8 mask."""
    cv2.ellipse(mask, (_fx(center[0]), _fx(center[1])),
                (max(_fx(axes[0]), 1), max(_fx(axes[1]), 1)),
                float(angle), float(start), float(end), value, thickness, _AA, _SHIFT)
    return mask


def _poly(mask: np.ndarray, points: np.ndarray, value: int = 255) -> np.ndarray:
    """Fill an anti-aliased polygon (float pixel coordinates) onto a uint8 mask."""
    pts = np.round(np.asarray(points, np.float64) * _ONE).astype(np.int32)
    cv2.fillPoly(mask, [pts], value, _AA, _SHIFT)
    return mask


def _paint(prem: np.ndarray, alpha: np.ndarray, color, mask: np.ndarray) -> None:
    """Paint ``color`` (BGR triple or image) over a premultiplied layer through ``mask``.

    ``prem`` is premultiplied BGR float32 ``(h, w, 3)``, ``alpha`` float32 ``(h, w)``;
    ``mask`` is float32 ``(h, w)`` in ``[0, 1]``. Both arrays are updated in place.
    """
    m = _c3(mask)
    prem *= 1.0 - m
    prem += np.asarray(color, np.float32) * m
    alpha *= 1.0 - mask
    alpha += mask


def _c3(plane: np.ndarray) -> np.ndarray:
    """Stack one float32 plane into three channels.

    Broadcasting an ``(h, w, 1)`` array against ``(h, w, 3)`` makes NumPy's innermost loop
    three elements long, which is several times slower than operating on equal shapes.
    """
    return cv2.merge([plane, plane, plane])


def _m(mask_u8: np.ndarray) -> np.ndarray:
    return mask_u8.astype(np.float32) * np.float32(1.0 / 255.0)


def _lowfreq(rng: np.random.Generator, shape: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """Smooth random field: a coarse normal grid upscaled with cubic interpolation."""
    coarse = rng.standard_normal((grid[1], grid[0])).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


# --------------------------------------------------------------------------------------------
# Speech-like audio and the syllable rhythm shared with the mouth
# --------------------------------------------------------------------------------------------

# Formant frequencies (Hz) of five vowels, roughly a, e, i, o, u of an adult voice.
_VOWELS = np.array(
    [[730, 1090, 2440], [530, 1840, 2480], [300, 2250, 3000], [570, 840, 2410], [320, 900, 2240]],
    np.float64,
)
_FORMANT_GAIN = np.array([1.0, 0.55, 0.25])
_FORMANT_BW = np.array([110.0, 140.0, 200.0])
_BLOCK = 8.0  # seconds of speech planned at a time


class _Speech:
    """Deterministic speech rhythm for one seed: phrases of syllables separated by pauses.

    The schedule is planned in blocks of :data:`_BLOCK` seconds so that any time can be looked
    up without planning from zero, and the same seed always gives the same speech.
    """

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng([seed, 4242])
        self.seed = seed
        self.f0 = float(rng.uniform(105, 150))
        self.vib = rng.uniform(0, 2 * np.pi, 3)
        self._blocks: dict[int, tuple[np.ndarray, ...]] = {}

    def _block(self, k: int) -> tuple[np.ndarray, ...]:
        """Syllables starting in ``[k * _BLOCK, (k + 1) * _BLOCK)``: starts, ends, vowel,
        loudness and fricative flag, planned once and kept."""
        if k not in self._blocks:
            self._blocks[k] = self._plan(k)
        return self._blocks[k]

    def _plan(self, k: int) -> tuple[np.ndarray, ...]:
        rng = np.random.default_rng([self.seed, 777, k])
        starts, ends, vowel, loud, fric = [], [], [], [], []
        t = k * _BLOCK + rng.uniform(0.0, 0.3)
        end_block = (k + 1) * _BLOCK
        while True:
            n_syll = int(rng.integers(3, 10))
            phrase_loud = rng.uniform(0.75, 1.0)
            for i in range(n_syll):
                dur = rng.uniform(0.13, 0.27)
                if t + dur > end_block:
                    break
                starts.append(t)
                ends.append(t + dur)
                vowel.append(int(rng.integers(0, len(_VOWELS))))
                # Phrases fade towards their end, like a falling sentence.
                loud.append(phrase_loud * rng.uniform(0.6, 1.0) * (1.0 - 0.25 * i / n_syll))
                fric.append(rng.random() < 0.45)
                t += dur + rng.uniform(0.015, 0.06)
            else:
                t += rng.uniform(0.25, 0.75)
                if t < end_block:
                    continue
            break
        return (np.array(starts), np.array(ends), np.array(vowel, np.int64),
                np.array(loud), np.array(fric, bool))

    def _lookup(self, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per time: syllable position ``u`` (NaN outside), loudness, vowel, fricative flag."""
        tau = np.asarray(tau, np.float64)
        u = np.full(tau.shape, np.nan)
        loud = np.zeros(tau.shape)
        vowel = np.zeros(tau.shape, np.int64)
        fric = np.zeros(tau.shape, bool)
        blocks = np.floor(tau / _BLOCK).astype(np.int64)
        for k in np.unique(blocks):
            if k < 0:
                continue
            sel = blocks == k
            starts, ends, vw, ld, fr = self._block(int(k))
            if starts.size == 0:
                continue
            i = np.clip(np.searchsorted(starts, tau[sel], side="right") - 1, 0, starts.size - 1)
            pos = (tau[sel] - starts[i]) / (ends[i] - starts[i])
            inside = (pos >= 0) & (pos < 1)
            u[sel] = np.where(inside, pos, np.nan)
            loud[sel] = ld[i]
            vowel[sel] = vw[i]
            fric[sel] = fr[i] & inside
        return u, loud, vowel, fric

    def envelope(self, tau: np.ndarray | float) -> np.ndarray:
        """Loudness envelope in ``[0, 1]`` at local speech time ``tau`` (0 before speech)."""
        tau_arr = np.atleast_1d(np.asarray(tau, np.float64))
        u, loud, _, _ = self._lookup(tau_arr)
        shape = np.sin(np.pi * np.nan_to_num(u, nan=0.0)) ** 0.7
        env = np.where(np.isnan(u) | (tau_arr < 0), 0.0, shape * loud)
        return env

    def _phase(self, tau: np.ndarray) -> np.ndarray:
        """Phase of the glottal fundamental; integrated analytically so chunks join smoothly."""
        f0 = self.f0
        w1, w2 = 2 * np.pi * 0.9, 2 * np.pi * 2.7
        a1, a2 = 0.07, 0.025
        p1, p2 = self.vib[0], self.vib[1]
        return 2 * np.pi * f0 * (tau - a1 / w1 * np.cos(w1 * tau + p1) - a2 / w2 * np.cos(w2 * tau + p2))

    @functools.cached_property
    def _gains(self) -> np.ndarray:
        """Harmonic amplitudes per vowel, float32 ``(n_vowels, n_harmonics)``.

        The formants shape fixed harmonic numbers (at the mean pitch); the vowel changes only
        between syllables, where the envelope is zero, so switching gains makes no click.
        """
        n_harm = int(4000 // self.f0)
        fk = self.f0 * np.arange(1, n_harm + 1)
        g = (_FORMANT_GAIN[None, None, :] * np.exp(
            -0.5 * ((fk[None, :, None] - _VOWELS[:, None, :]) / _FORMANT_BW[None, None, :]) ** 2)).sum(-1)
        tilt = 1.0 / np.arange(1, n_harm + 1) ** 0.9
        return (tilt[None, :] * (0.25 + 2.0 * g)).astype(np.float32)

    def samples(self, n0: int, n: int, t0: float) -> np.ndarray:
        """Mono float32 samples ``n0 .. n0+n`` at :data:`AUDIO_RATE`; speech starts at ``t0``.

        The voice is deterministic; the breath noise is seeded per call, so different
        chunkings of the same range differ only in that noise.
        """
        t = (n0 + np.arange(n)) / AUDIO_RATE
        tau = t - t0
        u, loud, vowel, fric = self._lookup(tau)
        inside = ~np.isnan(u) & (tau >= 0)
        u0 = np.nan_to_num(u)
        env = np.where(inside, np.sin(np.pi * u0) ** 0.7 * loud, 0.0)
        signal = np.zeros(n)
        idx = np.flatnonzero(env > 0)
        if idx.size:
            gains = self._gains
            phase = np.mod(self._phase(tau[idx]), 2 * np.pi).astype(np.float32)
            k = np.arange(1, gains.shape[1] + 1, dtype=np.float32)[:, None]
            harm = np.sin(k * phase[None, :])
            voiced = np.einsum("kn,nk->n", harm, gains[vowel[idx]])
            signal[idx] = env[idx] * voiced * 0.2
        rng = np.random.default_rng([self.seed, 31, n0])
        white = rng.standard_normal(n + 1)
        hiss = np.diff(white)  # a crude high-pass: fricatives are bright
        onset = np.where(fric, np.exp(-(((u0 - 0.08) / 0.09) ** 2)), 0.0)
        signal += 0.03 * onset * loud * hiss
        signal += 0.0015 * white[:n]  # room tone
        return (np.tanh(signal * 1.4) * 0.7).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Speaker scene
# --------------------------------------------------------------------------------------------

_SKIN = [(233, 192, 163), (214, 163, 128), (186, 130, 95), (141, 92, 62), (224, 175, 145)]
_HAIR = [(38, 28, 22), (72, 48, 32), (22, 20, 19), (118, 82, 50), (160, 120, 78)]
_SHIRT = [(38, 52, 92), (124, 36, 46), (118, 118, 124), (186, 146, 52), (150, 176, 206),
          (36, 36, 40), (222, 222, 216), (92, 58, 110)]


@dataclass(frozen=True)
class _Pose:
    visible: bool
    nx: float  # neck base, frame pixels
    ny: float
    hx: float  # head offset from the neck base, pixels
    hy: float
    tilt: float  # degrees
    mouth: float  # 0 closed .. 1 wide open
    blink: float  # 0 open .. 1 closed


class _SpeakerScene:
    """Everything about a speaker clip that does not change over time, computed once."""

    # Sprite extents in neck-base coordinates, in units of the frame height.
    TORSO_BOX = (-0.33, -0.14, 0.33, 0.52)  # x0, y0, x1, y1
    HEAD_BOX = (-0.165, -0.415, 0.165, -0.05)  # in head design units, before HEAD_SCALE
    HEAD_SCALE = 1.18  # the head is drawn this much larger about the pivot
    PIVOT = (0.0, -0.10)  # the head tilts about the top of the neck

    def __init__(self, size: tuple[int, int], seed: int, sheet: str) -> None:
        self.w, self.h = size
        self.seed = seed
        # Supersampling factor for drawing the sprites: fine edges at small sizes, bounded
        # cost at large ones.
        self.SS = 3 if self.h <= 400 else (2 if self.h <= 760 else 1)
        rng = np.random.default_rng([seed, 1])
        self.skin = _rgb(*_SKIN[int(rng.integers(len(_SKIN)))])
        self.hair = _rgb(*_HAIR[int(rng.integers(len(_HAIR)))])
        self.shirt = _rgb(*_SHIRT[int(rng.integers(len(_SHIRT)))])
        self.lamp_left = bool(rng.integers(2))
        self.phases = rng.uniform(0, 2 * np.pi, 8)
        self.speech = _Speech(seed)
        self.sheet_kind = sheet
        self.lamp = self._lamp(rng)
        self.sheet = self._sheet(rng, sheet)  # lit sheet, BGR float32 [0, 1]
        self.vignette = self._vignette()
        # Camera-space versions: vignetting and the 0..255 scale folded in once.
        self.sheet_v = (self.sheet * self.vignette).astype(np.float32)
        self.light_v = (self.lamp * np.float32(1.05) * self.vignette).astype(np.float32)
        self.torso = self._torso_sprite(rng)
        self.head = self._head_sprite(rng)
        self.noise_bank = self._noise_bank()
        self.base = (self.w * 0.5, 0.62 * self.h)
        self.spill_strength = {"bedsheet": 0.35, "studio": 0.45, "blue": 0.3}[sheet]
        del self.lamp, self.sheet, self.vignette  # only the camera-space versions are used
        for arr in (self.sheet_v, self.light_v, self.torso, self.head, self.noise_bank):
            arr.setflags(write=False)

    # ---- static layers -------------------------------------------------------------------

    def _lamp(self, rng: np.random.Generator) -> np.ndarray:
        """Illumination of a desk lamp from one side, slightly warm, BGR float32 (H, W, 3)."""
        h, w = self._work_size()
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        lx = -0.15 * w if self.lamp_left else 1.15 * w
        ly = 0.2 * h
        d2 = ((x - lx) ** 2 + (y - ly) ** 2) / (0.85 * w) ** 2
        light = 0.55 + 0.75 * np.exp(-d2)
        light /= float(light[h // 2, w // 2])
        warm = np.clip((light - 0.8) * 0.25, 0, 0.12)
        lamp = np.stack([light * (1 - warm), light, light * (1 + 0.5 * warm)], axis=-1)
        return self._full(lamp.astype(np.float32))

    def _work_size(self) -> tuple[int, int]:
        """(h, w) at which smooth fields are computed before being scaled to the frame."""
        ws = min(self.w, 640)
        return max(int(round(self.h * ws / self.w)), 1), ws

    def _full(self, field: np.ndarray) -> np.ndarray:
        """Scale a smooth field computed at :meth:`_work_size` up to the frame size."""
        if field.shape[:2] == (self.h, self.w):
            return field
        return cv2.resize(field, (self.w, self.h), interpolation=cv2.INTER_CUBIC)

    NOISE_PAD = 32

    def _noise_bank(self) -> np.ndarray:
        """A few frames of sensor noise (int8, sigma ~3 levels); each frame crops one of them
        at a random offset, which is much cheaper than drawing fresh noise every frame."""
        rng = np.random.default_rng([self.seed, 98])
        pad = self.NOISE_PAD
        shape = (2, self.h + pad, self.w + pad, 3)
        luma = rng.standard_normal(shape[:3] + (1,), dtype=np.float32) * 2.2
        chroma = rng.standard_normal(shape, dtype=np.float32) * 1.8
        return np.clip(np.rint(luma + chroma), -127, 127).astype(np.int8)

    def _vignette(self) -> np.ndarray:
        """Lens vignetting, already scaled to 0..255, float32 (H, W, 1)."""
        h, w = self._work_size()
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((x - w / 2) / (w / 2)) ** 2 * 0.8 + ((y - h / 2) / (h / 2)) ** 2 * 0.45
        return self._full((255.0 * (1.0 - 0.28 * r2) ** 1.5).astype(np.float32))[..., None]

    def _sheet(self, rng: np.random.Generator, kind: str) -> np.ndarray:
        """The lit, empty backdrop: dyed cloth with folds, creases and texture.

        The smooth shading is computed at :meth:`_work_size` and scaled up; only the woven
        texture is drawn at full resolution.
        """
        h, w = self._work_size()
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        X, Y = x / w, y / h
        if kind == "studio":
            albedo = _rgb(18, 178, 72)
            shading = self._full(1.0 + 0.02 * _lowfreq(rng, (h, w), (4, 3)))
            lamp = 1.0 + 0.35 * (self.lamp - 1.0)  # two soft boxes: nearly even
            cloth = albedo * shading[..., None] * lamp
            return np.clip(cloth, 0, 1).astype(np.float32)
        albedo = _rgb(60, 140, 70) if kind == "bedsheet" else _rgb(28, 72, 168)
        amount = 1.0 if kind == "bedsheet" else 0.6
        shading = np.zeros((h, w), np.float32)
        # Hanging folds: mostly vertical, wobbling, fading towards the floor.
        for _ in range(6):
            fx = rng.uniform(1.2, 4.5)
            wobble = rng.uniform(0.2, 0.9) * np.sin(2 * np.pi * (rng.uniform(0.3, 1.2) * Y + rng.random()))
            amp = rng.uniform(0.03, 0.07) * (1.15 - 0.5 * Y)
            wave = np.sin(2 * np.pi * (fx * X + rng.random()) + wobble)
            shading += amp * np.sign(wave) * np.abs(wave) ** 0.6  # crisper fold ridges
        # Local wrinkles in random directions.
        for _ in range(7):
            ang = rng.uniform(0, np.pi)
            freq = rng.uniform(5, 14)
            cx, cy = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)
            blob = np.exp(-(((X - cx) / 0.22) ** 2 + ((Y - cy) / 0.3) ** 2))
            s = X * np.cos(ang) + Y * np.sin(ang) * h / w
            shading += 0.05 * blob * np.sin(2 * np.pi * freq * s + rng.random() * 6)
        # Storage creases from folding the sheet: a light/dark pair along slightly tilted lines.
        for vertical, pos in ((True, 1 / 3), (True, 2 / 3), (False, 0.5)):
            p = pos + rng.uniform(-0.06, 0.06)
            tilt = rng.uniform(-0.05, 0.05)
            d = (X - p - tilt * (Y - 0.5)) if vertical else (Y - p - tilt * (X - 0.5))
            width = 0.006
            shading += -0.09 * (d / width) * np.exp(-((d / width) ** 2))
        shading += 0.045 * _lowfreq(rng, (h, w), (6, 4))
        shading *= amount
        dye = [_lowfreq(rng, (h, w), (3, 3)) * 0.03 for _ in range(3)]
        shading = self._full(np.stack([shading + d for d in dye], axis=-1))
        # Woven texture: fine static noise, softened a little.
        h, w = self.h, self.w
        tex = rng.standard_normal((h, w), dtype=np.float32)
        tex = cv2.GaussianBlur(tex, (0, 0), 0.7) * 0.025
        cloth = np.empty((h, w, 3), np.float32)
        for c in range(3):
            cloth[..., c] = albedo[c] * (1.0 + shading[..., c] + tex)
        cloth *= self.lamp
        return np.clip(cloth, 0, 1).astype(np.float32)

    # ---- sprites --------------------------------------------------------------------------

    def _canvas(self, box: tuple[float, float, float, float], scale: float = 1.0
                ) -> tuple[int, int, Callable[[float, float], tuple[float, float]], float]:
        """Size of a supersampled sprite canvas and a map from design units to its pixels."""
        x0, y0, x1, y1 = box
        ss, h = self.SS, self.h * scale
        cw = int(math.ceil((x1 - x0) * h)) * ss
        ch = int(math.ceil((y1 - y0) * h)) * ss

        def to_px(x: float, y: float) -> tuple[float, float]:
            return (x - x0) * h * ss, (y - y0) * h * ss

        return cw, ch, to_px, h * ss

    def _finish(self, prem: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """Downsample a supersampled premultiplied sprite to (h, w, 4) float32."""
        ss = self.SS
        rgba = np.concatenate([prem, alpha[..., None]], axis=-1)
        h, w = alpha.shape
        small = cv2.resize(rgba, (w // ss, h // ss), interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(small, np.float32)

    def _torso_sprite(self, rng: np.random.Generator) -> np.ndarray:
        cw, ch, P, u = self._canvas(self.TORSO_BOX)
        prem = np.zeros((ch, cw, 3), np.float32)
        alpha = np.zeros((ch, cw), np.float32)
        skin, shirt = self.skin, self.shirt
        # Neck, darker under the chin.
        neck = np.zeros((ch, cw), np.uint8)
        (ax, ay), (bx, by) = P(-0.043, -0.14), P(0.043, 0.03)
        _poly(neck, np.array([[ax, ay], [bx, ay], [bx + 0.006 * u, by], [ax - 0.006 * u, by]]))
        yy = np.linspace(0, 1, ch, dtype=np.float32)[:, None, None]
        neck_shade = skin * (0.72 + 0.2 * np.clip((yy - 0.0) * 3.0, 0, 1))
        _paint(prem, alpha, neck_shade, _m(neck))
        # Shoulders and chest: a sloping neckline, rounded shoulders, arms going down.
        side = []
        for i in range(12):
            s = i / 11
            side.append((-0.045 - s * 0.15, -0.03 + 0.075 * s ** 1.6))
        for a in np.linspace(-90, -180, 14):
            side.append((-0.195 + 0.09 * math.cos(math.radians(a)),
                         0.135 + 0.09 * math.sin(math.radians(a))))
        side.append((-0.3, 0.52))
        left = np.array(side)
        right = left[::-1] * np.array([-1, 1])
        pts = np.array([P(x, y) for x, y in np.concatenate([left, right])])
        body = np.zeros((ch, cw), np.uint8)
        _poly(body, pts)
        xx = np.linspace(self.TORSO_BOX[0], self.TORSO_BOX[2], cw, dtype=np.float32)[None, :]
        yy2 = np.linspace(self.TORSO_BOX[1], self.TORSO_BOX[3], ch, dtype=np.float32)[:, None]
        shade = 1.0 - 0.45 * (xx / 0.3) ** 2  # rounded body
        for _ in range(4):  # cloth folds
            k = rng.uniform(10, 22)
            across, along = rng.uniform(0.6, 1.4), rng.uniform(-0.8, 0.8)
            shade = shade + 0.05 * np.sin(k * (xx * across + yy2 * along) + rng.random() * 6)
        arm_gap = np.exp(-(((np.abs(xx) - 0.218) / 0.007) ** 2)) * np.clip((yy2 - 0.17) * 8, 0, 1)
        shade = shade - 0.3 * arm_gap
        _paint(prem, alpha, shirt * np.clip(shade, 0.2, 1.2)[..., None], _m(body))
        # Round neckline: skin in shadow, then a collar band.
        neckline = np.zeros((ch, cw), np.uint8)
        _ellipse(neckline, P(0, -0.035), (0.05 * u, 0.045 * u), 0, 0, 180)
        _paint(prem, alpha, skin * 0.7, _m(neckline))
        collar = np.zeros((ch, cw), np.uint8)
        _ellipse(collar, P(0, -0.035), (0.054 * u, 0.049 * u), 0, 0, 180,
                 thickness=max(int(0.008 * u), 1))
        _paint(prem, alpha, shirt * 0.78, _m(collar))
        return self._finish(prem, alpha)

    def _head_sprite(self, rng: np.random.Generator) -> np.ndarray:
        cw, ch, P, u = self._canvas(self.HEAD_BOX, self.HEAD_SCALE)
        prem = np.zeros((ch, cw, 3), np.float32)
        alpha = np.zeros((ch, cw), np.float32)
        skin, hair = self.skin, self.hair
        xx = np.linspace(self.HEAD_BOX[0], self.HEAD_BOX[2], cw, dtype=np.float32)[None, :]
        yy = np.linspace(self.HEAD_BOX[1], self.HEAD_BOX[3], ch, dtype=np.float32)[:, None]
        long_hair = bool(rng.random() < 0.4)
        # Hair at the back, reaching below the ears (or to the shoulders).
        back = np.zeros((ch, cw), np.uint8)
        _ellipse(back, P(0, -0.245), (0.114 * u, 0.128 * u))
        if long_hair:
            _poly(back, np.array([P(-0.112, -0.25), P(0.112, -0.25), P(0.122, -0.12),
                                  P(-0.122, -0.12)]))
            _ellipse(back, P(0, -0.12), (0.122 * u, 0.05 * u))
        hair_shade = 0.75 + 0.35 * np.exp(-(((xx + 0.03) / 0.06) ** 2 + ((yy + 0.33) / 0.04) ** 2))
        hair_img = hair * hair_shade[..., None]
        _paint(prem, alpha, hair_img * 0.8, _m(back))
        # Ears, unless long hair covers them.
        if not long_hair:
            ears = np.zeros((ch, cw), np.uint8)
            for sx in (-1, 1):
                _ellipse(ears, P(sx * 0.094, -0.2), (0.017 * u, 0.03 * u))
            _paint(prem, alpha, skin * 0.85, _m(ears))
        # Face: skull and jaw, shaded towards the edges.
        face = np.zeros((ch, cw), np.uint8)
        _ellipse(face, P(0, -0.232), (0.094 * u, 0.11 * u))
        _ellipse(face, P(0, -0.195), (0.08 * u, 0.118 * u))
        r2 = (xx / 0.095) ** 2 + ((yy + 0.21) / 0.13) ** 2
        face_img = skin * (1.08 - 0.3 * np.clip(r2, 0, 1) ** 2)[..., None]
        nose_shadow = np.exp(-(((xx - 0.01) / 0.008) ** 2 + ((yy + 0.185) / 0.025) ** 2))
        face_img = face_img * (1.0 - 0.12 * nose_shadow)[..., None]
        _paint(prem, alpha, face_img, _m(face))
        # Fringe: the hair in front of the forehead, parted to one side.
        fringe_outer = np.zeros((ch, cw), np.uint8)
        _ellipse(fringe_outer, P(0, -0.245), (0.114 * u, 0.128 * u))
        cut = np.zeros((ch, cw), np.uint8)
        part = rng.uniform(-0.03, 0.03)
        _ellipse(cut, P(part, -0.305), (0.115 * u, 0.075 * u), angle=rng.uniform(-8, 8))
        fringe = _m(fringe_outer) * _m(cut)
        _paint(prem, alpha, hair_img, fringe)
        # Flyaway hairs: thin strands leaving the outline, for fine alpha detail.
        strands = np.zeros((ch, cw), np.uint8)
        for _ in range(40):
            a = math.radians(rng.uniform(195, 345))
            x0, y0 = 0.112 * math.cos(a), -0.245 + 0.126 * math.sin(a)
            length = rng.uniform(0.01, 0.035)
            curl = rng.uniform(-0.6, 0.6)
            pts = []
            for s in np.linspace(0, 1, 8):
                ang = a + curl * s
                pts.append(P(x0 + math.cos(ang) * length * s, y0 + math.sin(ang) * length * s))
            pts_fx = np.round(np.array(pts) * _ONE).astype(np.int32)
            # Without supersampling a 1 px line is too heavy for a single hair: fade it.
            strength = int(rng.integers(150, 256) * (self.SS / 3) ** 0.5)
            cv2.polylines(strands, [pts_fx], False, strength, 1, _AA, _SHIFT)
        _paint(prem, alpha, hair, _m(strands))
        # Eyebrows and eyes.
        feat = np.zeros((ch, cw), np.uint8)
        for sx in (-1, 1):
            brow = np.array([P(sx * 0.018, -0.238), P(sx * 0.04, -0.244), P(sx * 0.062, -0.237)])
            cv2.polylines(feat, [np.round(brow * _ONE).astype(np.int32)], False, 255,
                          max(int(0.008 * u), 1), _AA, _SHIFT)
        _paint(prem, alpha, hair * 0.9, _m(feat))
        whites = np.zeros((ch, cw), np.uint8)
        iris = np.zeros((ch, cw), np.uint8)
        glint = np.zeros((ch, cw), np.uint8)
        for sx in (-1, 1):
            _ellipse(whites, P(sx * 0.04, -0.214), (0.0155 * u, 0.0075 * u))
            _ellipse(iris, P(sx * 0.04 + 0.002, -0.214), (0.0068 * u, 0.0068 * u))
            _ellipse(glint, P(sx * 0.04 + 0.0045, -0.2165), (0.0016 * u, 0.0016 * u))
        _paint(prem, alpha, _rgb(228, 224, 218), _m(whites))
        _paint(prem, alpha, _rgb(60, 42, 30), _m(iris) * _m(whites))
        _paint(prem, alpha, _rgb(250, 250, 250), _m(glint) * 0.8)
        return self._finish(prem, alpha)

    # ---- per frame -------------------------------------------------------------------------

    @staticmethod
    def speech_start(empty_seconds: float) -> float:
        """Time at which the speaker starts talking."""
        return _speech_start(empty_seconds)

    def pose(self, t: float, empty_seconds: float) -> _Pose:
        w, h, ph = self.w, self.h, self.phases
        if t < empty_seconds:
            return _Pose(False, 0, 0, 0, 0, 0, 0, 0)
        two_pi = 2 * math.pi
        nx = self.base[0] + w * (0.035 * math.sin(two_pi * 0.13 * t + ph[0])
                                 + 0.012 * math.sin(two_pi * 0.41 * t + ph[1]))
        ny = self.base[1] + h * 0.008 * math.sin(two_pi * 0.23 * t + ph[2])
        if empty_seconds > 0:  # walking in from the side
            s = _smoothstep((t - empty_seconds) / 0.9)
            nx += (1.0 - s) * 0.78 * w * (1 if self.lamp_left else -1)
            ny += 0.015 * h * abs(math.sin(math.pi * 3 * s)) * (1 - s)
        env = float(self.speech.envelope(t - 0.02 - self.speech_start(empty_seconds))[0])
        hx = h * 0.01 * math.sin(two_pi * 0.31 * t + ph[3])
        hy = -h * 0.004 * env
        tilt = 3.5 * math.sin(two_pi * 0.19 * t + ph[4]) + 1.2 * math.sin(two_pi * 0.7 * t + ph[5])
        # Blink every few seconds, for about 130 ms.
        period = 3.3
        k = math.floor(t / period)
        jitter = np.random.default_rng([self.seed, 5, k % 2**32]).uniform(0, period - 0.2)
        bt = t - k * period - jitter
        blink = max(0.0, 1.0 - abs(bt - 0.065) / 0.065) if 0 <= bt <= 0.13 else 0.0
        return _Pose(True, nx, ny, hx, hy, tilt, min(env * 1.1, 1.0), blink)

    def _head_with_face(self, pose: _Pose) -> np.ndarray:
        """The head sprite with this frame's mouth and eyelids drawn on."""
        head = self.head.copy()
        h = self.h * self.HEAD_SCALE
        x0, y0 = self.HEAD_BOX[0], self.HEAD_BOX[1]

        def P(x: float, y: float) -> tuple[float, float]:
            return (x - x0) * h, (y - y0) * h

        # Work on a small patch around the mouth and eyes only.
        px0, py0 = P(-0.07, -0.235)
        px1, py1 = P(0.07, -0.115)
        ix0, iy0, ix1, iy1 = int(px0), int(py0), int(math.ceil(px1)), int(math.ceil(py1))
        patch = head[iy0:iy1, ix0:ix1, :3]

        def L(x: float, y: float) -> tuple[float, float]:
            a, b = P(x, y)
            return a - ix0, b - iy0

        shape = patch.shape[:2]
        skin = self.skin
        o = pose.mouth
        lips = np.zeros(shape, np.uint8)
        _ellipse(lips, L(0, -0.141), (0.017 * h, (0.0045 + 0.011 * o) * h))
        lip_col = skin * np.array([0.78, 0.72, 0.98], np.float32) * 0.92
        m = _m(lips)
        patch *= 1.0 - m[..., None]
        patch += lip_col * m[..., None]
        if o > 0.05:
            inner = np.zeros(shape, np.uint8)
            _ellipse(inner, L(0, -0.141), (0.0125 * h, 0.0095 * o * h))
            teeth = np.zeros(shape, np.uint8)
            _ellipse(teeth, L(0, -0.141 - 0.006 * o), (0.01 * h, 0.0035 * o * h))
            mi = _m(inner)
            mt = _m(teeth) * mi * min(o * 2, 1)
            patch *= 1.0 - mi[..., None]
            patch += _rgb(52, 22, 26) * mi[..., None]
            patch *= 1.0 - mt[..., None]
            patch += _rgb(215, 210, 200) * mt[..., None]
        else:
            line = np.zeros(shape, np.uint8)
            a, b = L(-0.014, -0.141), L(0.014, -0.141)
            cv2.line(line, (_fx(a[0]), _fx(a[1])), (_fx(b[0]), _fx(b[1])), 255, 1, _AA, _SHIFT)
            ml = _m(line) * 0.6
            patch *= 1.0 - ml[..., None]
            patch += _rgb(90, 40, 40) * ml[..., None]
        if pose.blink > 0:
            lid = np.zeros(shape, np.uint8)
            for sx in (-1, 1):
                _ellipse(lid, L(sx * 0.04, -0.2215 + 0.0075 * pose.blink),
                         (0.017 * h, 0.0095 * h * pose.blink + 0.001 * h))
            ml = _m(lid)
            patch *= 1.0 - ml[..., None]
            patch += skin * 0.93 * ml[..., None]
        return head

    def _placements(self, pose: _Pose) -> tuple[np.ndarray, np.ndarray]:
        """Affine maps (sprite pixels -> frame pixels) for the torso and the head."""
        h = self.h
        tx0, ty0 = self.TORSO_BOX[0] * h, self.TORSO_BOX[1] * h
        m_torso = np.array([[1, 0, pose.nx + tx0], [0, 1, pose.ny + ty0]], np.float64)
        k = self.HEAD_SCALE
        cx, cy = self.PIVOT[0] * h, self.PIVOT[1] * h
        ox = -(cx + k * (self.HEAD_BOX[0] * h - cx))
        oy = -(cy + k * (self.HEAD_BOX[1] * h - cy))
        a = math.radians(pose.tilt)
        r = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        shift = -r @ np.array([ox + cx, oy + cy]) + np.array([cx + pose.nx + pose.hx, cy + pose.ny + pose.hy])
        m_head = np.hstack([r, shift[:, None]])
        return m_torso, m_head

    @staticmethod
    def _bbox(m: np.ndarray, sprite: np.ndarray) -> tuple[float, float, float, float]:
        sh, sw = sprite.shape[:2]
        corners = np.array([[0, 0, 1], [sw, 0, 1], [0, sh, 1], [sw, sh, 1]], np.float64)
        pts = corners @ m.T
        return pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()

    def render(self, t: float, empty_seconds: float, noise: bool) -> tuple[np.ndarray, np.ndarray]:
        w, h = self.w, self.h
        out = self.sheet_v.copy()  # float32, 0..255 camera units
        alpha = np.zeros((h, w), np.float32)
        pose = self.pose(t, empty_seconds)
        if pose.visible:
            m_torso, m_head = self._placements(pose)
            head = self._head_with_face(pose)
            boxes = [self._bbox(m_torso, self.torso), self._bbox(m_head, head)]
            x0 = max(int(math.floor(min(b[0] for b in boxes))) - 1, 0)
            y0 = max(int(math.floor(min(b[1] for b in boxes))) - 1, 0)
            x1 = min(int(math.ceil(max(b[2] for b in boxes))) + 1, w)
            y1 = min(int(math.ceil(max(b[3] for b in boxes))) + 1, h)
            if x1 > x0 and y1 > y0:
                self._composite(out, alpha, (x0, y0, x1, y1), m_torso, m_head, head)
        if not noise:
            return cv2.add(out, 0.0, dtype=cv2.CV_8U), alpha
        rng = np.random.default_rng([self.seed, 99, int(round(t * 1000)) % 2**32])
        i, dx, dy = (int(v) for v in rng.integers(0, [len(self.noise_bank), self.NOISE_PAD, self.NOISE_PAD]))
        grain = self.noise_bank[i, dy:dy + h, dx:dx + w]
        return cv2.add(out, grain, dtype=cv2.CV_8U), alpha

    def _composite(self, out: np.ndarray, alpha_full: np.ndarray, roi: tuple[int, int, int, int],
                   m_torso: np.ndarray, m_head: np.ndarray, head: np.ndarray) -> None:
        x0, y0, x1, y1 = roi
        size = (x1 - x0, y1 - y0)
        off = np.array([[0, 0, x0], [0, 0, y0]], np.float64)
        flags = dict(flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        torso = cv2.warpAffine(self.torso, m_torso - off, size, **flags)
        head_w = cv2.warpAffine(head, m_head - off, size, **flags)
        th_, tc = cv2.split(torso)[3], torso[..., :3]
        ah = head_w[..., 3].copy()
        a = np.clip(ah + th_ * (1.0 - ah), 0.0, 1.0)
        alpha_full[y0:y1, x0:x1] = a
        h = self.h
        self._shadow(out, alpha_full)
        # Green spill: light bounced off the sheet tints the subject near its outline. With
        # the sheet already in camera units (lit, vignetted, 0..255) the composite is
        #   out = sheet * (1 - a + spill * a) + prem * light * (1 - spill)
        # where prem is the subject's premultiplied reflectance.
        rw, rh = size
        small = cv2.resize(a, (max(rw // 2, 1), max(rh // 2, 1)), interpolation=cv2.INTER_AREA)
        blur = cv2.resize(cv2.GaussianBlur(small, (0, 0), max(0.006 * h, 0.5)), size,
                          interpolation=cv2.INTER_LINEAR)
        spill = self.spill_strength * a * np.clip((1.0 - blur) * 2.2, 0.0, 1.0)
        keep = 1.0 - spill
        prem = cv2.multiply(tc, _c3((1.0 - ah) * keep))
        prem += cv2.multiply(head_w[..., :3], _c3(keep))
        prem *= self.light_v[y0:y1, x0:x1]
        sheet_roi = out[y0:y1, x0:x1]
        sheet_roi *= _c3(1.0 - a * keep)
        sheet_roi += prem

    def _shadow(self, out: np.ndarray, alpha_full: np.ndarray) -> None:
        """Darken the sheet with the speaker's soft shadow, cast away from the lamp.

        Computed at quarter resolution and applied only where it is not negligible.
        """
        h, w = self.h, self.w
        sw, sh = max(w // 4, 1), max(h // 4, 1)
        small = cv2.resize(alpha_full, (sw, sh), interpolation=cv2.INTER_AREA)
        dx = (0.07 if self.lamp_left else -0.07) * h / 4
        shift = np.array([[1, 0, dx], [0, 1, 0.03 * h / 4]], np.float64)
        small = cv2.warpAffine(small, shift, (sw, sh), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        small = cv2.GaussianBlur(small, (0, 0), 0.035 * h / 4)
        rows = np.flatnonzero(small.max(axis=1) > 2e-3)
        cols = np.flatnonzero(small.max(axis=0) > 2e-3)
        if rows.size and cols.size:
            sy0, sy1 = max(rows[0] * 4 - 4, 0), min(rows[-1] * 4 + 8, h)
            sx0, sx1 = max(cols[0] * 4 - 4, 0), min(cols[-1] * 4 + 8, w)
            shadow = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)[sy0:sy1, sx0:sx1]
            out[sy0:sy1, sx0:sx1] *= _c3(1.0 - 0.42 * shadow)


@functools.lru_cache(maxsize=4)
def _speaker_scene(size: tuple[int, int], seed: int, sheet: str) -> _SpeakerScene:
    return _SpeakerScene(size, seed, sheet)


def _check_sheet(sheet: str) -> str:
    if sheet not in _SHEETS:
        raise ValueError(f"sheet must be one of {', '.join(_SHEETS)}; got {sheet!r}")
    return sheet


def speaker_frame(
    t: float,
    size: tuple[int, int] = (640, 360),
    seed: int = 0,
    *,
    sheet: SheetKind = "bedsheet",
    empty_seconds: float = 0.0,
    noise: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Render one frame of the synthetic speaker clip and its ground-truth alpha.

    A pure function: the same arguments always give the same arrays. The static parts of the
    scene (sheet, lighting, sprites) are cached per ``(size, seed, sheet)``.

    Parameters
    ----------
    t : float
        Time in seconds; negative times are treated as 0.
    size : (int, int)
        Frame ``(width, height)``; both even, at least 64.
    seed : int
        Non-negative. Chooses the person (skin, hair, shirt), the sheet's folds, the lamp side, the motion
        and the speech rhythm.
    sheet : {"bedsheet", "studio", "blue"}
        Backdrop: a wrinkled, unevenly lit dyed bedsheet; an even studio green; a blue cloth.
    empty_seconds : float
        The first ``empty_seconds`` show only the sheet; then the speaker walks in from the
        side (about 0.9 s) and starts talking.
    noise : bool
        Add per-frame sensor noise (deterministic for a given ``seed`` and ``t``).

    Returns
    -------
    bgr : ndarray, uint8, shape (H, W, 3)
        The frame as the camera would record it, before video compression.
    alpha : ndarray, float32, shape (H, W), range [0, 1]
        Coverage of the speaker; 0 on the sheet, 1 inside the speaker, fractional on the
        anti-aliased outline and on flyaway hairs.
    """
    size = _check_size(size)
    scene = _speaker_scene(size, _check_seed(seed), _check_sheet(sheet))
    return scene.render(max(float(t), 0.0), float(empty_seconds), bool(noise))


def sheet_plate(size: tuple[int, int] = (640, 360), seed: int = 0, *,
                sheet: SheetKind = "bedsheet") -> np.ndarray:
    """The noise-free empty backdrop (a perfect clean plate) for the speaker clip of ``seed``.

    Returns a BGR ``uint8`` ``(H, W, 3)`` array: the lit sheet with vignetting, no speaker,
    no shadow, no noise.
    """
    size = _check_size(size)
    scene = _speaker_scene(size, _check_seed(seed), _check_sheet(sheet))
    return cv2.add(scene.sheet_v, 0.0, dtype=cv2.CV_8U)


def speaker_audio(n0: int, n: int, seed: int = 0, *, empty_seconds: float = 0.0) -> np.ndarray:
    """Mono float32 speech-like samples ``n0 .. n0+n`` at :data:`AUDIO_RATE`, range [-1, 1].

    The syllable rhythm is the one that opens the mouth in :func:`speaker_frame`.
    """
    return _speech(_check_seed(seed)).samples(int(n0), int(n), _speech_start(float(empty_seconds)))


def _speech_start(empty_seconds: float) -> float:
    """The speaker starts talking shortly after being in the picture."""
    return empty_seconds + (1.2 if empty_seconds > 0 else 0.25)


@functools.lru_cache(maxsize=8)
def _speech(seed: int) -> _Speech:
    return _Speech(seed)


# --------------------------------------------------------------------------------------------
# Screen scene
# --------------------------------------------------------------------------------------------

_FONT = cv2.FONT_HERSHEY_SIMPLEX

_CODE = '''\
"""Key a speaker recorded before a green sheet."""
from __future__ import annotations

import numpy as np
import cv2

from greenscreen.frames import to_float, to_uint8

# distance in chroma space, soft edges
def soft_matte(frame, screen, *, low=0.08, high=0.22):
    """Return alpha in [0, 1] for one BGR frame."""
    img = to_float(frame)
    diff = img - screen[None, None, :]
    dist = np.sqrt((diff * diff).sum(axis=-1))
    alpha = (dist - low) / (high - low)
    return np.clip(alpha, 0.0, 1.0)


def despill(frame, alpha, strength=0.8):
    b, g, r = cv2.split(to_float(frame))
    limit = np.maximum(b, r)
    g = np.where(g > limit, limit + (g - limit) * (1 - strength), g)
    return to_uint8(cv2.merge([b, g, r]))


class CleanPlate:
    """Running estimate of the empty sheet."""

    def __init__(self, rate=0.05):
        self.rate = rate
        self.plate = None

    def update(self, frame, alpha):
        if self.plate is None:
            self.plate = to_float(frame)
            return self.plate
        keep = (alpha < 0.02)[..., None]
        mix = self.rate * keep
        self.plate = self.plate * (1 - mix) + to_float(frame) * mix
        return self.plate


def composite(screen, speaker, alpha, box=(0.72, 0.68, 0.26)):
    x, y, scale = box
    h, w = screen.shape[:2]
    size = int(w * scale), int(w * scale * 9 / 16)
    for i in range(3):
        pass  # TODO: feather the corners
    return screen
'''

_README = [
    ("#", "greenscreen"),
    ("", ""),
    ("p", "Turn a webcam recording before a green bedsheet and a screen"),
    ("p", "recording into a finished tutorial video."),
    ("", ""),
    ("##", "Install"),
    ("", ""),
    ("code", "pip install greenscreen"),
    ("", ""),
    ("##", "Quick start"),
    ("", ""),
    ("code", "greenscreen render talk.mp4 screen.mp4 -o out.mp4"),
    ("", ""),
    ("p", "The speaker is keyed with a soft matte, despilled and placed"),
    ("p", "in the lower right corner. Presets tune the key for your room."),
    ("", ""),
    ("img", ""),
    ("", ""),
    ("##", "Presets"),
    ("", ""),
    ("p", "bedsheet   wrinkled home sheet, uneven lamp"),
    ("p", "studio     evenly lit green screen"),
    ("p", "blue       blue cloth backdrop"),
    ("", ""),
    ("##", "License"),
    ("", ""),
    ("p", "MIT"),
]

_TERMINAL = [
    ("$ ", "python -m pytest -q tests/test_matte.py"),
    ("", "........................                       [100%]"),
    ("", "24 passed in 1.84s"),
    ("$ ", "greenscreen render talk.mp4 screen.mp4 -o out.mp4"),
    ("", "keying   ########################--------  71%  212/300"),
    ("", "done: out.mp4 (1280x720, 30 fps, 00:00:10)"),
    ("$ ", "git status --short"),
    ("", " M greenscreen/key/matte.py"),
]

_KEYWORDS = {"def", "class", "return", "import", "from", "for", "in", "if", "is", "None",
             "self", "pass", "with", "as", "not", "and", "or", "else", "elif", "lambda"}


@dataclass(frozen=True)
class _Theme:
    desk_top: tuple[int, int, int]
    desk_bottom: tuple[int, int, int]
    title: tuple[int, int, int]
    title_text: tuple[int, int, int]
    activity: tuple[int, int, int]
    sidebar: tuple[int, int, int]
    editor: tuple[int, int, int]
    gutter_text: tuple[int, int, int]
    text: tuple[int, int, int]
    dim: tuple[int, int, int]
    keyword: tuple[int, int, int]
    string: tuple[int, int, int]
    comment: tuple[int, int, int]
    func: tuple[int, int, int]
    number: tuple[int, int, int]
    tab_active: tuple[int, int, int]
    tab_idle: tuple[int, int, int]
    terminal: tuple[int, int, int]
    status: tuple[int, int, int]
    select: tuple[int, int, int]
    toast: tuple[int, int, int]


def _bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return rgb[2], rgb[1], rgb[0]


_DARK = _Theme(
    desk_top=(28, 56, 104), desk_bottom=(96, 52, 118), title=(60, 60, 62), title_text=(204, 204, 204),
    activity=(51, 51, 51), sidebar=(37, 37, 38), editor=(30, 30, 30), gutter_text=(110, 118, 129),
    text=(212, 212, 212), dim=(150, 150, 150), keyword=(197, 134, 192), string=(206, 145, 120),
    comment=(106, 153, 85), func=(220, 220, 170), number=(181, 206, 168), tab_active=(30, 30, 30),
    tab_idle=(45, 45, 45), terminal=(24, 24, 24), status=(0, 122, 204), select=(55, 55, 61),
    toast=(52, 52, 56),
)
_LIGHT = _Theme(
    desk_top=(84, 140, 190), desk_bottom=(210, 160, 120), title=(221, 221, 221), title_text=(60, 60, 60),
    activity=(44, 44, 44), sidebar=(243, 243, 243), editor=(255, 255, 255), gutter_text=(150, 150, 150),
    text=(36, 41, 46), dim=(100, 100, 100), keyword=(175, 0, 219), string=(163, 21, 21),
    comment=(0, 128, 0), func=(121, 94, 38), number=(9, 134, 88), tab_active=(255, 255, 255),
    tab_idle=(236, 236, 236), terminal=(250, 250, 250), status=(0, 122, 204), select=(228, 230, 241),
    toast=(246, 246, 246),
)


class _ScreenScene:
    """The static parts of the screen recording, pre-rendered once per size and seed."""

    SCROLL_PERIOD = 2.6
    CURSOR_PERIOD = 1.5
    TAB_PERIOD = 12.0
    TYPE_PERIOD = 10.0

    def __init__(self, size: tuple[int, int], seed: int) -> None:
        self.w, self.h = w, h = size
        self.seed = seed
        self.s = s = h / 720.0
        self.theme = th = _DARK if seed % 2 == 0 else _LIGHT
        self.font = 0.42 * s
        self.thick = 1
        self.line_h = max(int(round(19 * s)), 8)
        # Layout.
        self.win = (int(36 * s), int(22 * s), w - int(36 * s), h - int(52 * s))
        x0, y0, x1, y1 = self.win
        self.title_h = int(30 * s)
        self.menu_h = int(24 * s)
        self.act_w = int(44 * s)
        self.side_w = int(210 * s)
        self.tab_h = int(32 * s)
        self.status_h = int(22 * s)
        self.term_h = int(150 * s)
        self.body_y = y0 + self.title_h + self.menu_h
        self.side = (x0 + self.act_w, self.body_y, x0 + self.act_w + self.side_w, y1 - self.status_h)
        ex0 = self.side[2]
        self.editor = (ex0, self.body_y + self.tab_h, x1, y1 - self.status_h - self.term_h)
        self.term = (ex0, y1 - self.status_h - self.term_h, x1, y1 - self.status_h)
        self.gutter_w = int(50 * s)
        self.side_items = self._side_items()
        self.base = self._chrome()
        self.docs = [self._code_doc(), self._readme_doc()]
        self.term_lines = [self._text_strip(p + c, th.text if p else th.dim, th.terminal,
                                            prompt=len(p)) for p, c in _TERMINAL]
        self.cursor_img, self.cursor_alpha = self._cursor_sprite()
        self.tab_imgs = [self._tabs(i) for i in range(2)]
        self.toast = self._toast()

    # ---- pre-rendering -------------------------------------------------------------------

    def _text(self, img: np.ndarray, text: str, org: tuple[float, float], color, scale: float = 1.0) -> int:
        """Draw UI text; returns its width in pixels."""
        cv2.putText(img, text, (int(org[0]), int(org[1])), _FONT, self.font * scale, _bgr(color),
                    self.thick, _AA)
        return cv2.getTextSize(text, _FONT, self.font * scale, self.thick)[0][0]

    def _side_items(self) -> list[tuple[int, str, int]]:
        """(indent, name, kind) of the file tree: kind 0 folder, 1 file."""
        return [(0, "greenscreen", 0), (1, "composite", 0), (2, "blend.py", 1), (2, "layout.py", 1),
                (1, "io", 0), (2, "reader.py", 1), (2, "writer.py", 1), (1, "key", 0),
                (2, "matte.py", 1), (2, "despill.py", 1), (2, "plate.py", 1), (1, "cli.py", 1),
                (1, "pipeline.py", 1), (0, "tests", 0), (1, "test_matte.py", 1), (0, "README.md", 1),
                (0, "pyproject.toml", 1)]

    def _chrome(self) -> np.ndarray:
        w, h, s, th = self.w, self.h, self.s, self.theme
        yy = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        xx = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
        top, bottom = np.array(_bgr(th.desk_top), np.float32), np.array(_bgr(th.desk_bottom), np.float32)
        mix = np.clip(0.7 * yy + 0.3 * xx, 0, 1)
        img = (top * (1 - mix) + bottom * mix).astype(np.uint8)
        # Taskbar.
        tb = h - int(36 * s)
        img[tb:] = (30, 30, 34)
        for i in range(7):
            cx = int(w / 2 + (i - 3) * 40 * s)
            col = [(66, 133, 244), (234, 67, 53), (251, 188, 5), (52, 168, 83), (160, 160, 170),
                   (0, 120, 215), (230, 120, 30)][i]
            cv2.rectangle(img, (cx - int(12 * s), tb + int(6 * s)), (cx + int(12 * s), tb + int(30 * s)),
                          _bgr(col), -1, _AA)
        self._text(img, "10:42", (w - 60 * s, tb + 23 * s), (230, 230, 230))
        x0, y0, x1, y1 = self.win
        # Window drop shadow, then the window.
        shadow = np.zeros((h, w), np.float32)
        cv2.rectangle(shadow, (x0 + int(4 * s), y0 + int(8 * s)), (x1 + int(4 * s), y1 + int(10 * s)),
                      1.0, -1)
        shadow = cv2.GaussianBlur(shadow, (0, 0), 9 * s) * 0.45
        img = (img * (1 - shadow[..., None])).astype(np.uint8)
        cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), _bgr(th.editor), -1)
        cv2.rectangle(img, (x0, y0), (x1 - 1, y0 + self.title_h), _bgr(th.title), -1)
        for i, col in enumerate([(255, 95, 86), (255, 189, 46), (39, 201, 63)]):
            cv2.circle(img, (_fx(x0 + (16 + 20 * i) * s), _fx(y0 + self.title_h / 2)), _fx(6 * s),
                       _bgr(col), -1, _AA, _SHIFT)
        title = "main.py - greenscreen - Code"
        tw = cv2.getTextSize(title, _FONT, self.font, 1)[0][0]
        self._text(img, title, ((x0 + x1 - tw) / 2, y0 + self.title_h / 2 + 5 * s), th.title_text)
        # Menu bar.
        my = y0 + self.title_h
        cv2.rectangle(img, (x0, my), (x1 - 1, my + self.menu_h), _bgr(th.title), -1)
        cv2.line(img, (x0, my), (x1 - 1, my), _bgr(th.sidebar), 1)
        x = x0 + 12 * s
        for item in ("File", "Edit", "Selection", "View", "Go", "Run", "Terminal", "Help"):
            x += self._text(img, item, (x, my + 16 * s), th.title_text, 0.95) + 16 * s
        # Search box in the menu bar.
        sx0, sx1 = x1 - int(300 * s), x1 - int(20 * s)
        cv2.rectangle(img, (sx0, my + int(3 * s)), (sx1, my + self.menu_h - int(3 * s)), _bgr(th.sidebar), -1)
        self._text(img, "Search files", (sx0 + 10 * s, my + 16 * s), th.dim, 0.9)
        # Activity bar with icons.
        ax0 = x0
        cv2.rectangle(img, (ax0, self.body_y), (ax0 + self.act_w, y1 - self.status_h), _bgr(th.activity), -1)
        for i in range(5):
            cy = self.body_y + int((28 + 46 * i) * s)
            col = (215, 215, 215) if i == 0 else (130, 130, 130)
            if i % 2 == 0:
                cv2.rectangle(img, (ax0 + int(12 * s), cy - int(10 * s)),
                              (ax0 + int(32 * s), cy + int(10 * s)),
                              _bgr(col), max(int(2 * s), 1), _AA)
            else:
                cv2.circle(img, (_fx(ax0 + 22 * s), _fx(cy)), _fx(9 * s), _bgr(col), max(int(2 * s), 1),
                           _AA, _SHIFT)
        # Marker of the active view.
        cv2.rectangle(img, (ax0, self.body_y + int(16 * s)), (ax0 + int(2 * s), self.body_y + int(40 * s)),
                      (255, 255, 255), -1)
        # Sidebar with the file tree.
        sx0, sy0, sx1, sy1 = self.side
        cv2.rectangle(img, (sx0, sy0), (sx1, sy1), _bgr(th.sidebar), -1)
        self._text(img, "EXPLORER", (sx0 + 14 * s, sy0 + 22 * s), th.dim, 0.85)
        for i, (indent, name, kind) in enumerate(self.side_items):
            y = sy0 + int((46 + i * 22) * s)
            x = sx0 + int((16 + 14 * indent) * s)
            if kind == 0:
                pts = np.array([[x, y - 9 * s], [x + 8 * s, y - 4 * s], [x, y + 1 * s]])
                cv2.fillPoly(img, [np.round(pts * _ONE).astype(np.int32)], _bgr(th.dim), _AA, _SHIFT)
            else:
                col = (86, 156, 214) if name.endswith(".py") else (229, 192, 123)
                cv2.rectangle(img, (int(x), int(y - 9 * s)), (int(x + 8 * s), int(y + 1 * s)), _bgr(col), -1)
            self._text(img, name, (x + 14 * s, y), th.text, 0.95)
        # Status bar.
        cv2.rectangle(img, (x0, y1 - self.status_h), (x1 - 1, y1 - 1), _bgr(th.status), -1)
        self._text(img, "main   0 problems", (x0 + 10 * s, y1 - 6 * s), (255, 255, 255), 0.9)
        self._text(img, "Ln 12, Col 8   UTF-8   Python 3.11", (x1 - 260 * s, y1 - 6 * s),
                   (255, 255, 255), 0.9)
        # Terminal panel header.
        tx0, ty0, tx1, ty1 = self.term
        cv2.rectangle(img, (tx0, ty0), (tx1 - 1, ty1), _bgr(th.terminal), -1)
        cv2.line(img, (tx0, ty0), (tx1 - 1, ty0), _bgr(th.select), 1)
        x = tx0 + 14 * s
        for i, item in enumerate(("PROBLEMS", "OUTPUT", "TERMINAL", "PORTS")):
            wd = self._text(img, item, (x, ty0 + 20 * s), th.text if i == 2 else th.dim, 0.85)
            if i == 2:
                cv2.line(img, (int(x), ty0 + int(25 * s)), (int(x + wd), ty0 + int(25 * s)), _bgr(th.text), 1)
            x += wd + 20 * s
        return img

    def _highlight(self, line: str) -> list[tuple[str, tuple[int, int, int]]]:
        th = self.theme
        stripped = line.lstrip()
        if stripped.startswith("#"):
            return [(line, th.comment)]
        tokens: list[tuple[str, tuple[int, int, int]]] = []
        word = ""
        in_str: str | None = None
        i = 0
        while i < len(line):
            ch = line[i]
            if in_str:
                word += ch
                if ch == in_str:
                    tokens.append((word, th.string))
                    word, in_str = "", None
            elif ch in "\"'":
                if word:
                    tokens.append((word, th.text))
                word, in_str = ch, ch
            elif ch.isalnum() or ch == "_":
                word += ch
            else:
                if word:
                    nxt = line[i] if i < len(line) else ""
                    if word in _KEYWORDS:
                        col = th.keyword
                    elif word[0].isdigit():
                        col = th.number
                    elif nxt == "(":
                        col = th.func
                    else:
                        col = th.text
                    tokens.append((word, col))
                    word = ""
                tokens.append((ch, th.text))
            i += 1
        if word:
            tokens.append((word, th.string if in_str else (th.keyword if word in _KEYWORDS else th.text)))
        return tokens

    def _code_doc(self) -> np.ndarray:
        th, s = self.theme, self.s
        lines = _CODE.splitlines() * 3
        width = self.editor[2] - self.editor[0]
        lh = self.line_h
        img = np.empty((lh * (len(lines) + 2), width, 3), np.uint8)
        img[:] = _bgr(th.editor)
        space = max(cv2.getTextSize(" ", _FONT, self.font, 1)[0][0], 2)
        for n, line in enumerate(lines):
            y = lh * (n + 1) - int(5 * s)
            num = str(n + 1)
            nw = cv2.getTextSize(num, _FONT, self.font, 1)[0][0]
            self._text(img, num, (self.gutter_w - 12 * s - nw, y), th.gutter_text)
            x = self.gutter_w + 6 * s + space * (len(line) - len(line.lstrip()))
            for tok, col in self._highlight(line.lstrip()):
                if tok == " ":
                    x += space
                    continue
                x += self._text(img, tok, (x, y), col)
        return img

    def _readme_doc(self) -> np.ndarray:
        th, s = self.theme, self.s
        width = self.editor[2] - self.editor[0]
        lh = self.line_h
        img = np.empty((lh * (len(_README) * 2 + 16), width, 3), np.uint8)
        img[:] = _bgr(th.editor)
        y = int(10 * s)
        x = int(40 * s)
        for kind, text in _README * 2:
            if kind == "#":
                y += int(34 * s)
                self._text(img, text, (x, y), th.text, 2.2)
                y += int(14 * s)
                cv2.line(img, (x, y), (width - x, y), _bgr(th.select), 1)
            elif kind == "##":
                y += int(28 * s)
                self._text(img, text, (x, y), th.text, 1.6)
                y += int(8 * s)
            elif kind == "code":
                cv2.rectangle(img, (x, y + int(4 * s)), (width - x, y + int(30 * s)), _bgr(th.select), -1)
                self._text(img, text, (x + 10 * s, y + 22 * s), th.string)
                y += int(34 * s)
            elif kind == "img":
                bx1, by1 = x + int(360 * s), y + int(160 * s)
                cv2.rectangle(img, (x, y), (bx1, by1), (200, 120, 60), -1)
                cv2.circle(img, (x + int(260 * s), y + int(55 * s)), int(26 * s), (80, 210, 250), -1, _AA)
                pts = np.array([[x, by1], [x + 120 * s, y + 70 * s], [x + 230 * s, by1]], np.int32)
                cv2.fillPoly(img, [pts], (70, 110, 60), _AA)
                y = by1 + int(8 * s)
            elif kind == "p":
                y += int(22 * s)
                self._text(img, text, (x, y), th.text, 1.05)
            else:
                y += int(8 * s)
            if y > img.shape[0] - 60 * s:
                break
        return img

    def _text_strip(self, text: str, color, bg, *, prompt: int) -> tuple[np.ndarray, np.ndarray]:
        """One terminal line and the x position after each character (for typing)."""
        s = self.s
        width = self.term[2] - self.term[0]
        img = np.empty((self.line_h, width, 3), np.uint8)
        img[:] = _bgr(bg)
        x0 = int(14 * s)
        base = self.line_h - int(5 * s)
        if prompt:
            wp = self._text(img, text[:prompt], (x0, base), (78, 201, 176))
            self._text(img, text[prompt:], (x0 + wp, base), color)
        else:
            self._text(img, text, (x0, base), color)
        xs = np.array([x0 + cv2.getTextSize(text[:i], _FONT, self.font, 1)[0][0]
                       for i in range(len(text) + 1)], np.int64)
        return img, xs

    def _tabs(self, active: int) -> np.ndarray:
        th, s = self.theme, self.s
        width = self.w - self.side[2] - (self.w - self.win[2])
        img = np.empty((self.tab_h, width, 3), np.uint8)
        img[:] = _bgr(th.tab_idle)
        x = 0
        for i, name in enumerate(("main.py", "README.md", "matte.py")):
            tw = int(130 * s)
            col = th.tab_active if i == active else th.tab_idle
            cv2.rectangle(img, (x, 0), (x + tw, self.tab_h), _bgr(col), -1)
            if i == active:
                cv2.line(img, (x, 0), (x + tw, 0), _bgr(th.status), max(int(2 * s), 1))
            self._text(img, name, (x + 16 * s, self.tab_h / 2 + 5 * s),
                       th.text if i == active else th.dim, 0.95)
            self._text(img, "x", (x + tw - 20 * s, self.tab_h / 2 + 5 * s), th.dim, 0.85)
            x += tw + 1
        return img

    def _toast(self) -> np.ndarray:
        th, s = self.theme, self.s
        tw, tht = int(320 * s), int(74 * s)
        img = np.empty((tht, tw, 3), np.uint8)
        img[:] = _bgr(th.toast)
        cv2.rectangle(img, (0, 0), (tw - 1, tht - 1), _bgr(th.select), 1)
        cv2.circle(img, (int(22 * s), int(24 * s)), int(8 * s), _bgr(th.status), -1, _AA)
        self._text(img, "Render finished", (40 * s, 29 * s), th.text)
        self._text(img, "out.mp4 was written (12.4 MB).", (40 * s, 52 * s), th.dim, 0.9)
        return img

    def _cursor_sprite(self) -> tuple[np.ndarray, np.ndarray]:
        s = max(self.s, 0.5)
        ss = 4
        shape = np.array([[0, 0], [0, 17], [4, 13.2], [7, 20], [9.6, 19], [6.7, 12.3], [12, 12.3]])
        size = (int(16 * s * ss), int(24 * s * ss))
        pts = (shape * s + 1.5) * ss
        outline = np.zeros(size[::-1], np.uint8)
        cv2.fillPoly(outline, [np.round(pts).astype(np.int32)], 255, _AA)
        cv2.polylines(outline, [np.round(pts).astype(np.int32)], True, 255, max(int(1.6 * ss * s), 1), _AA)
        inner = np.zeros(size[::-1], np.uint8)
        cv2.fillPoly(inner, [np.round(pts).astype(np.int32)], 255, _AA)
        small = (size[0] // ss, size[1] // ss)
        a = cv2.resize(outline.astype(np.float32) / 255, small, interpolation=cv2.INTER_AREA)
        white = cv2.resize(inner.astype(np.float32) / 255, small, interpolation=cv2.INTER_AREA)
        white = cv2.erode(white, np.ones((2, 2), np.uint8))
        col = np.repeat(white[..., None], 3, axis=-1) * 255.0
        return col.astype(np.float32), a.astype(np.float32)

    # ---- time functions -------------------------------------------------------------------

    def scroll(self, t: float, doc: int) -> float:
        """Scroll offset (pixels) of a document at time ``t``: steps with smooth animation."""
        k = int(math.floor(t / self.SCROLL_PERIOD))
        view_h = self.editor[3] - self.editor[1]
        max_off = max(self.docs[doc].shape[0] - view_h, 0)
        pos = 0.0
        prev = 0.0
        rng = np.random.default_rng([self.seed, 13, doc])
        steps = rng.integers(-4, 12, size=max(k + 2, 1)) * self.line_h
        for i in range(k + 1):
            prev = pos
            pos = float(np.clip(pos + steps[i], 0, max_off))
        frac = _smoothstep((t - k * self.SCROLL_PERIOD) / 0.45)
        return prev + (pos - prev) * frac

    def cursor(self, t: float) -> tuple[float, float, bool]:
        """Mouse position and whether it is pressed, moving between random targets."""
        k = int(math.floor(t / self.CURSOR_PERIOD))
        x0, y0, x1, y1 = self.win

        def target(i: int) -> np.ndarray:
            r = np.random.default_rng([self.seed, 17, i % 2**32]).random(2)
            return np.array([x0 + 40 + r[0] * (x1 - x0 - 80), y0 + 40 + r[1] * (y1 - y0 - 80)])

        a, b = target(k), target(k + 1)
        u = (t - k * self.CURSOR_PERIOD) / self.CURSOR_PERIOD
        f = _smoothstep(u / 0.55)
        bend = math.sin(math.pi * f) * 0.12 * np.array([-(b - a)[1], (b - a)[0]])
        p = a + (b - a) * f + bend
        pressed = 0.62 <= u <= 0.68
        return float(p[0]), float(p[1]), pressed

    def render(self, t: float) -> np.ndarray:
        th, s = self.theme, self.s
        img = self.base.copy()
        doc = 0 if (t % self.TAB_PERIOD) < 7.0 else 1
        # Tabs and the visible part of the document.
        tab = self.tab_imgs[doc]
        ex0, ey0, ex1, ey1 = self.editor
        img[ey0 - self.tab_h:ey0, ex0:ex0 + tab.shape[1]] = tab[:, : ex1 - ex0]
        off = int(round(self.scroll(t, doc)))
        view = self.docs[doc][off:off + (ey1 - ey0)]
        img[ey0:ey0 + view.shape[0], ex0:ex1] = view
        # Blinking text caret.
        if doc == 0 and (t % 1.0) < 0.5:
            cy = int(ey0 + 11 * self.line_h - off + 0.5)
            if ey0 <= cy - self.line_h + 3 and cy < ey1:
                cx = int(ex0 + self.gutter_w + 130 * s)
                cv2.line(img, (cx, cy - self.line_h + 4), (cx, cy - 2), _bgr(th.text), max(int(2 * s), 1))
        # Terminal: commands typed at ~14 characters per second, output appearing at once.
        self._terminal(img, t)
        # Hover highlight in the file tree.
        mx, my, pressed = self.cursor(t)
        sx0, sy0, sx1, sy1 = self.side
        if sx0 <= mx < sx1:
            i = int(round((my - sy0 - 46 * s + 6 * s) / (22 * s)))
            if 0 <= i < len(self.side_items):
                y = sy0 + int((46 + i * 22) * s)
                row = img[y - int(15 * s):y + int(6 * s), sx0:sx1]
                bg = np.array(_bgr(th.sidebar), np.int16)
                hi = np.array(_bgr(th.select), np.int16)
                mask = np.all(np.abs(row.astype(np.int16) - bg) < 3, axis=-1)
                row[mask] = hi
        # Notification toast sliding in from the right.
        tt = t % 9.0
        if 4.0 <= tt < 7.0:
            slide = _smoothstep((tt - 4.0) / 0.3) * (1.0 - _smoothstep((tt - 6.7) / 0.3))
            toast = self.toast
            x1 = self.win[2] - int(16 * s)
            tx = int(x1 - toast.shape[1] * slide) + int((1 - slide) * 16 * s)
            ty = self.term[1] - toast.shape[0] - int(16 * s)
            vis = min(toast.shape[1], self.w - tx)
            if vis > 0:
                img[ty:ty + toast.shape[0], tx:tx + vis] = toast[:, :vis]
        self._draw_cursor(img, mx, my, pressed)
        return img

    def _terminal(self, img: np.ndarray, t: float) -> None:
        tx0, ty0, tx1, ty1 = self.term
        cycle = t % self.TYPE_PERIOD
        shown: list[np.ndarray] = []
        clock = 0.3
        for (prompt, _), (strip, xs) in zip(_TERMINAL, self.term_lines):
            if prompt:
                n = len(xs) - 1 - len(prompt)
                dur = n / 14.0
                if cycle < clock:
                    break
                typed = min(n, int((cycle - clock) * 14.0))
                line = strip.copy()
                cut = xs[len(prompt) + typed]
                line[:, cut:] = _bgr(self.theme.terminal)
                if typed < n or (cycle % 1.0) < 0.5:
                    cv2.rectangle(line, (int(cut) + 1, 3), (int(cut + 7 * self.s), self.line_h - 3),
                                  _bgr(self.theme.text), -1)
                shown.append(line)
                clock += dur + 0.6
                if typed < n:
                    break
            else:
                if cycle < clock:
                    break
                shown.append(strip)
                clock += 0.25
        rows = (ty1 - ty0 - int(34 * self.s)) // self.line_h
        shown = shown[-rows:]
        y = ty0 + int(32 * self.s)
        for line in shown:
            img[y:y + self.line_h, tx0:tx1] = line[:, : tx1 - tx0]
            y += self.line_h

    def _draw_cursor(self, img: np.ndarray, x: float, y: float, pressed: bool) -> None:
        col, a = self.cursor_img, self.cursor_alpha
        if pressed:
            cv2.circle(img, (int(x), int(y)), int(12 * self.s), (200, 200, 200), 1, _AA)
        h, w = a.shape
        xi, yi = int(x), int(y)
        x0, y0 = max(xi, 0), max(yi, 0)
        x1, y1 = min(xi + w, self.w), min(yi + h, self.h)
        if x1 <= x0 or y1 <= y0:
            return
        region = img[y0:y1, x0:x1].astype(np.float32)
        aa = a[y0 - yi:y1 - yi, x0 - xi:x1 - xi, None]
        cc = col[y0 - yi:y1 - yi, x0 - xi:x1 - xi]
        img[y0:y1, x0:x1] = (region * (1 - aa) + cc * aa + 0.5).astype(np.uint8)


@functools.lru_cache(maxsize=4)
def _screen_scene(size: tuple[int, int], seed: int) -> _ScreenScene:
    return _ScreenScene(size, seed)


def screen_frame(t: float, size: tuple[int, int] = (1280, 720), seed: int = 0) -> np.ndarray:
    """Render one frame of the synthetic screen recording: a BGR uint8 ``(H, W, 3)`` array.

    A pure function of its arguments. An even ``seed`` gives a dark editor theme, an odd one a
    light theme; the seed also drives scrolling and the cursor path.
    """
    size = _check_size(size)
    return _screen_scene(size, _check_seed(seed)).render(max(float(t), 0.0))


def _screen_audio(n0: int, n: int, seed: int, scene: _ScreenScene) -> np.ndarray:
    """Stereo float32 (2, n): a quiet pad chord plus a click on every mouse press."""
    t = (n0 + np.arange(n)) / AUDIO_RATE
    trem = 0.6 + 0.4 * np.sin(2 * np.pi * 0.25 * t)
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 261.63, 329.63)) * 0.03 * trem
    period = scene.CURSOR_PERIOD
    rel = t - (np.floor(t / period) * period + 0.62 * period)
    click = np.where((rel >= 0) & (rel < 0.02), np.exp(-rel / 0.003), 0.0)
    rng = np.random.default_rng([seed, 23, n0])
    click = click * rng.uniform(-0.4, 0.4, n)
    left = chord + click
    right = chord * 0.9 + click * 0.7
    return np.stack([left, right]).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Writing files
# --------------------------------------------------------------------------------------------


class _ClipWriter:
    """Stream BGR frames and float audio into an H.264/AAC file with PyAV.

    Video timestamps are either frame indices in a ``1/fps`` time base (constant frame rate)
    or milliseconds in a ``1/1000`` time base (variable frame rate). Packet durations are
    set explicitly so the container reports the full duration.
    """

    def __init__(self, path: Path, size: tuple[int, int], rate: Fraction, *, vfr: bool, crf: int,
                 preset: str, audio_channels: int) -> None:
        fmt = _CONTAINERS.get(path.suffix.lower())
        if fmt is None:
            raise ValueError(f"unsupported extension {path.suffix!r} for {path}; use one of "
                             f"{', '.join(sorted(_CONTAINERS))}")
        if not 0 <= int(crf) <= 51:
            raise ValueError(f"crf must be in 0..51, got {crf!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        options: dict[str, str] = {}
        if fmt in ("mp4", "mov"):
            options["movflags"] = "+faststart"
            if vfr:
                options["video_track_timescale"] = "1000"
        self.container = av.open(str(path), mode="w", format=fmt, options=options)
        try:
            self._add_streams(size, rate, vfr=vfr, crf=crf, preset=preset,
                              audio_channels=audio_channels)
        except BaseException:
            self.abort()
            path.unlink(missing_ok=True)
            raise

    def _add_streams(self, size: tuple[int, int], rate: Fraction, *, vfr: bool, crf: int,
                     preset: str, audio_channels: int) -> None:
        stream = self.container.add_stream("libx264", rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(int(crf)), "preset": preset}
        cc = stream.codec_context
        cc.gop_size = max(int(round(2 * float(rate))), 1)
        # swscale's bgr24 -> yuv420p conversion is BT.601, limited range: say so in the stream.
        cc.color_range = 1
        cc.colorspace = 6
        cc.color_primaries = 6
        cc.color_trc = 6
        # VFR: millisecond timestamps, as screen recorders write them. libx264 ignores frame
        # durations, so packet durations are set by hand in _mux_video.
        self.time_base = Fraction(1, 1000) if vfr else 1 / rate
        cc.time_base = self.time_base
        if vfr:
            stream.time_base = Fraction(1, 1000)
        self.video = stream
        self.durations: dict[int, int] = {}
        self.audio = None
        self.audio_pos = 0
        if audio_channels:
            self.layout = {1: "mono", 2: "stereo"}[audio_channels]
            self.audio = self.container.add_stream("aac", rate=AUDIO_RATE, layout=self.layout)
            self.audio.bit_rate = 64_000 * audio_channels

    def write_video(self, bgr: np.ndarray, pts: int, duration: int) -> None:
        frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
        frame.pts = pts
        frame.time_base = self.time_base
        self.durations[pts] = duration
        self._mux_video(self.video.encode(frame))

    def _mux_video(self, packets) -> None:
        for packet in packets:
            if packet.pts is not None:
                packet.duration = self.durations.pop(packet.pts, 0)
            self.container.mux(packet)

    def write_audio(self, samples: np.ndarray) -> None:
        """Append float32 samples shaped (channels, n) in [-1, 1]."""
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, np.float32), format="fltp",
                                           layout=self.layout)
        frame.sample_rate = AUDIO_RATE
        frame.pts = self.audio_pos
        frame.time_base = Fraction(1, AUDIO_RATE)
        self.audio_pos += samples.shape[1]
        for packet in self.audio.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        self._mux_video(self.video.encode(None))
        if self.audio is not None:
            for packet in self.audio.encode(None):
                self.container.mux(packet)
        self.container.close()

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - best effort while already failing
            pass


def _write(path: str | Path, size: tuple[int, int], rate: Fraction, seconds: float,
           times_ms: list[int] | None, render: Callable[[float], np.ndarray], crf: int, preset: str,
           audio: Callable[[int, int], np.ndarray] | None, audio_channels: int) -> Path:
    """The shared frame loop: render, encode, interleave audio, finish the file."""
    out = Path(path)
    writer = _ClipWriter(out, size, rate, vfr=times_ms is not None, crf=crf, preset=preset,
                         audio_channels=audio_channels if audio else 0)
    total_samples = int(round(seconds * AUDIO_RATE))

    def feed_audio(until: float) -> None:
        if audio is None:
            return
        limit = min(int(until * AUDIO_RATE), total_samples)
        while writer.audio_pos < limit:
            n = min(_AUDIO_BLOCK, total_samples - writer.audio_pos)
            writer.write_audio(audio(writer.audio_pos, n))

    try:
        for t, pts, dur in _frame_times(seconds, rate, times_ms):
            feed_audio(t + 0.1)
            writer.write_video(render(t), pts, dur)
        feed_audio(seconds + 1.0)
        writer.close()
    except BaseException:
        writer.abort()
        out.unlink(missing_ok=True)
        raise
    return out


def _frame_times(seconds: float, rate: Fraction,
                 times_ms: list[int] | None) -> Iterator[tuple[float, int, int]]:
    """Yield ``(t, pts, duration)`` for every frame, in the writer's video time base."""
    if times_ms is None:
        n = max(int(round(seconds * rate)), 1)
        for i in range(n):
            yield float(i / rate), i, 1
        return
    end = int(round(seconds * 1000))
    for i, ms in enumerate(times_ms):
        nxt = times_ms[i + 1] if i + 1 < len(times_ms) else end
        yield ms / 1000.0, ms, nxt - ms


def vfr_timestamps_ms(seconds: float, fps: float = 30.0, seed: int = 0) -> list[int]:
    """Irregular frame times in milliseconds, as a screen recorder writes them.

    Mostly one frame every ``1000/fps`` ms with jitter, sometimes a gap of several frames (the
    screen did not change, so no frame was captured) and sometimes two frames close together.
    Starts at 0, strictly increasing, all below ``seconds * 1000``.
    """
    rng = np.random.default_rng([seed, 11])
    step = 1000.0 / float(fps)
    end = float(seconds) * 1000.0
    times: list[int] = []
    t = 0.0
    while t < end - 1.0:
        ms = int(round(t))
        if not times or ms > times[-1]:
            times.append(ms)
        r = rng.random()
        if r < 0.07:
            t += step * int(rng.integers(3, 9))
        elif r < 0.14:
            t += step * rng.uniform(0.3, 0.55)
        else:
            t += step * rng.uniform(0.8, 1.25)
    return times


def write_speaker_clip(
    path: str | Path,
    *,
    size: tuple[int, int] = (640, 360),
    fps: float | Fraction = 30.0,
    seconds: float = 4.0,
    audio: bool = True,
    seed: int = 0,
    sheet: SheetKind = "bedsheet",
    crf: int = 23,
    empty_seconds: float = 0.0,
    preset: str = "veryfast",
    audio_channels: int = 1,
) -> Path:
    """Write a webcam-like clip of a talking speaker before a green bedsheet.

    Frames are those of :func:`speaker_frame` (with sensor noise), encoded with libx264
    ``yuv420p`` at constant frame rate. With ``audio`` a speech-like AAC track at
    :data:`AUDIO_RATE` whose syllables match the mouth movement is added; without it the file
    has no audio stream at all.

    Parameters
    ----------
    path : str or Path
        Output file; ``.mp4``, ``.mov`` or ``.mkv`` chooses the container. Parent folders are
        created. A partly written file is removed if writing fails.
    size, seed, sheet, empty_seconds
        As for :func:`speaker_frame`.
    fps : float or Fraction
        Frame rate; 29.97 and friends are stored exactly as 30000/1001.
    seconds : float
        Duration of the clip.
    crf : int
        x264 constant rate factor, 0..51 (lower is better and bigger).
    preset : str
        x264 speed preset; ``"veryfast"`` keeps generation quick, ``"slow"`` gives smaller files.
    audio_channels : {1, 2}
        Mono like most webcam microphones, or stereo (both channels the same voice).

    Returns
    -------
    Path
        The written file.
    """
    size = _check_size(size)
    rate = _as_rate(fps)
    seconds = _check_seconds(seconds)
    scene = _speaker_scene(size, _check_seed(seed), _check_sheet(sheet))
    if audio_channels not in (1, 2):
        raise ValueError(f"audio_channels must be 1 or 2, got {audio_channels!r}")
    empty = float(empty_seconds)
    speech = _speech(int(seed))
    start = scene.speech_start(empty)

    def render(t: float) -> np.ndarray:
        return scene.render(t, empty, True)[0]

    def sound(n0: int, n: int) -> np.ndarray:
        mono = speech.samples(n0, n, start)
        return np.repeat(mono[None, :], audio_channels, axis=0)

    return _write(path, size, rate, seconds, None, render, crf, preset,
                  sound if audio else None, audio_channels)


def write_screen_clip(
    path: str | Path,
    *,
    size: tuple[int, int] = (1280, 720),
    fps: float | Fraction = 30.0,
    seconds: float = 4.0,
    audio: bool = False,
    vfr: bool = False,
    seed: int = 0,
    crf: int = 23,
    preset: str = "veryfast",
) -> Path:
    """Write a UI-like screen recording (editor window, terminal, cursor, scrolling).

    Parameters
    ----------
    path : str or Path
        Output file; ``.mp4``, ``.mov`` or ``.mkv`` chooses the container.
    size : (int, int)
        Frame ``(width, height)``; both even.
    fps : float or Fraction
        Nominal frame rate. With ``vfr`` it is the typical rate between irregular frames.
    seconds : float
        Duration of the clip; with ``vfr`` the last frame lasts until exactly this time.
    audio : bool
        Add a quiet stereo AAC track (pad chord and mouse clicks); otherwise no audio stream.
    vfr : bool
        Variable frame rate: timestamps from :func:`vfr_timestamps_ms` in a 1/1000 time base,
        stored as such in the container (MP4 track timescale 1000, or Matroska).
    seed : int
        Theme (even: dark, odd: light), scrolling and cursor path.
    crf, preset
        x264 quality and speed, as for :func:`write_speaker_clip`.

    Returns
    -------
    Path
        The written file.
    """
    size = _check_size(size)
    rate = _as_rate(fps)
    seconds = _check_seconds(seconds)
    scene = _screen_scene(size, _check_seed(seed))
    times = vfr_timestamps_ms(seconds, float(rate), int(seed)) if vfr else None

    def sound(n0: int, n: int) -> np.ndarray:
        return _screen_audio(n0, n, int(seed), scene)

    return _write(path, size, rate, seconds, times, scene.render, crf, preset,
                  sound if audio else None, 2)


# --------------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------------


def write_corrupt_copy(src: str | Path, dst: str | Path, *, mode: Literal["garble", "truncate"] = "garble",
                       seed: int = 0) -> Path:
    """Copy a real media file and damage the copy, for bad-input tests.

    ``mode="garble"`` overwrites the middle tenth of the file with random bytes: the header
    survives, so the file still opens, but decoding the middle fails or gives broken frames.
    ``mode="truncate"`` keeps only the first half, like an interrupted download or a recorder
    that crashed.

    With the files written here (MP4 with the index at the front, ``+faststart``), PyAV 18
    raises ``av.error.InvalidDataError`` part-way through decoding a garbled MP4 and decodes a
    truncated MP4 silently with fewer frames than the container promises; Matroska copies
    decode with a few frames lost in both modes. Tests should expect either an error or a
    short read, not a particular one.

    Returns the path of the damaged copy. ``src`` is not modified.
    """
    data = bytearray(Path(src).read_bytes())
    if len(data) < 1024:
        raise ValueError(f"{src} is too small ({len(data)} bytes) to corrupt meaningfully")
    if mode == "garble":
        rng = np.random.default_rng([seed, 61])
        a, b = int(len(data) * 0.45), int(len(data) * 0.55)
        data[a:b] = rng.integers(0, 256, b - a, dtype=np.uint8).tobytes()
    elif mode == "truncate":
        del data[len(data) // 2:]
    else:
        raise ValueError(f"mode must be 'garble' or 'truncate', got {mode!r}")
    out = Path(dst)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(bytes(data))
    return out


def write_not_a_video(dst: str | Path) -> Path:
    """Write a small file that is not media at all (text and noise), whatever its extension."""
    out = Path(dst)
    out.parent.mkdir(parents=True, exist_ok=True)
    junk = np.random.default_rng(404).integers(0, 256, 2048, dtype=np.uint8).tobytes()
    out.write_bytes(b"This is not a video file; it only has a video-like name.\n" + junk)
    return out
