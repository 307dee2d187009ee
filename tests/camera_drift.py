"""Test recordings of a camera that changes its colour while recording.

Webcams and phones run automatic white balance and exposure: while the speaker moves, the whole
picture drifts (yellow-green to mint within half a second) or pumps brighter and darker. These
clips put the synthetic speaker (:func:`synthetic.speaker_frame`) on the move
across its own noisy empty sheet and apply such a drift as per-channel gains in linear light,
as a camera applies them to the sensor's values before its tone curve.

Test media only: it lives with the tests (and the benchmarks import it from here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic import speaker_frame

FPS = 30.0


@dataclass(frozen=True)
class DriftClip:
    """A generated clip: BGR uint8 frames, their GT alphas (float32, 1 = speaker) and the
    BGR gain applied to each frame."""

    frames: list[np.ndarray]
    alphas: list[np.ndarray]
    gains: list[tuple[float, float, float]]


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(c, 1 / 2.4) - 0.055)


def _shift_x(image: np.ndarray, dx: int) -> np.ndarray:
    """``image`` moved ``dx`` pixels right (left if negative), zero-filled."""
    out = np.zeros_like(image)
    if dx > 0:
        out[:, dx:] = image[:, :-dx]
    elif dx < 0:
        out[:, :dx] = image[:, -dx:]
    else:
        out[:] = image
    return out


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


def drift_clip(
    gains: list[tuple[float, float, float]],
    offsets: list[int],
    *,
    size: tuple[int, int] = (320, 180),
    seed: int = 1,
) -> DriftClip:
    """The speaker at horizontal offset ``offsets[i]`` (pixels) in frame ``i``, the whole
    picture scaled by the BGR ``gains[i]`` in linear light.

    The speaker (with its sway, blinks and talking) is cut from ``speaker_frame`` by its GT
    alpha and laid over the same sheet without the speaker (``empty_seconds``), so it can
    stand anywhere; its edge pixels keep the sheet mix and spill they were rendered with.
    """
    frames, alphas = [], []
    for i, (gain, dx) in enumerate(zip(gains, offsets, strict=True)):
        t = 1.0 + i / FPS
        person, alpha = speaker_frame(t, size, seed)
        sheet, _ = speaker_frame(t, size, seed, empty_seconds=1e6)
        a = _shift_x(alpha, dx)[..., None].astype(np.float64)
        comp = a * _shift_x(person, dx) + (1 - a) * sheet
        lin = _srgb_to_linear(comp / 255.0) * np.array(gain, np.float64)
        frames.append(np.rint(_linear_to_srgb(np.clip(lin, 0, 1)) * 255).astype(np.uint8))
        alphas.append(a[..., 0].astype(np.float32))
    return DriftClip(frames, alphas, list(gains))


def white_balance_swing(
    *, size: tuple[int, int] = (320, 180), seed: int = 1, swing: tuple[float, float, float] = (1.28, 1.0, 0.76)
) -> DriftClip:
    """Auto white balance swinging from yellow-green to mint while the speaker walks away.

    Frames 0-9: the speaker stands left of centre, the camera steady (the keyer learns the
    sheet around them). Frames 10-24 (half a second): the BGR gains ramp to ``swing`` (blue
    +28 %, red -24 %) as the speaker starts to move. Frames 25-44: the camera holds the new
    colour while the speaker walks right, uncovering sheet the keyer last saw before the swing.
    """
    w = size[0]
    n = 45
    gains, offsets = [], []
    for i in range(n):
        s = _smoothstep((i - 10) / 15)
        gains.append(tuple(1.0 + (g - 1.0) * s for g in swing))
        offsets.append(int(round(-0.18 * w + 0.4 * w * _smoothstep((i - 12) / 30))))
    return drift_clip(gains, offsets, size=size, seed=seed)


def exposure_pump(*, size: tuple[int, int] = (320, 180), seed: int = 2, depth: float = 0.35) -> DriftClip:
    """Auto exposure hunting: the picture brightens by ``depth``, falls below where it started
    and settles (about a second), while the speaker walks across."""
    w = size[0]
    n = 40
    gains, offsets = [], []
    for i in range(n):
        phase = i / (n - 1)
        g = 1.0 + depth * np.sin(2 * np.pi * phase) * (1.0 - 0.5 * phase)
        gains.append((float(g),) * 3)
        offsets.append(int(round(0.15 * w - 0.3 * w * phase)))
    return drift_clip(gains, offsets, size=size, seed=seed)


def interrupted(
    fill: tuple[int, int, int], *, size: tuple[int, int] = (320, 180), seed: int = 1, frames: tuple[int, int] = (10, 25)
) -> DriftClip:
    """The camera sees one flat BGR colour ``fill`` for ``frames`` = (first, end) of 60 frames
    (the lens covered: black; the sheet filling the picture: a flat green) while the speaker
    walks on, then the speaker before the sheet again. The flat frames' GT alpha is 0 for a
    green ``fill`` (sheet) and 1 otherwise (the covered lens is not sheet)."""
    w = size[0]
    n = 60
    offsets = [int(round(-0.18 * w + 0.4 * w * _smoothstep(i / (n - 1)))) for i in range(n)]
    clip = drift_clip([(1.0, 1.0, 1.0)] * n, offsets, size=size, seed=seed)
    green = fill[1] > max(fill[0], fill[2])
    for i in range(*frames):
        clip.frames[i] = np.full_like(clip.frames[i], fill)
        clip.alphas[i] = np.full_like(clip.alphas[i], 0.0 if green else 1.0)
    return clip


def sheet_mask(alpha: np.ndarray, margin: int = 4) -> np.ndarray:
    """bool (H, W): True on sheet at least ``margin`` pixels from any speaker pixel."""
    import cv2

    near = cv2.dilate((alpha > 0).astype(np.uint8), np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    return near == 0
