"""Temporal stabilisation of the matte: calm the flicker of still edges, never smear motion.

Webcam noise and compression make a still edge's alpha shimmer from frame to frame. Where the
picture has not changed since the previous frame, the new alpha is pulled towards the previous
(already smoothed) one: a recursive average. Where the picture changed (the speaker moved), the
weight drops to zero, so the matte follows the motion at once and leaves no ghost.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import cv2
import numpy as np


def motion_weight(
    signal: np.ndarray | Sequence[np.ndarray], prev_signal: np.ndarray | Sequence[np.ndarray],
    strength: float, threshold: float,
) -> np.ndarray:
    """Per-pixel weight of the previous matte: ``strength`` where still, 0 where moving.

    Parameters
    ----------
    signal, prev_signal : ndarray, uint8 or float32 (H, W) or (H, W, C), or a sequence of
        (H, W) planes: this and the previous frame's picture signals (e.g. luma, and the colour
        difference in the same units); a pixel moves when any of them changes.
    strength : 0..1, weight of the previous matte on a perfectly still pixel.
    threshold : change (in ``signal``'s units) at which a pixel counts as moving.

    Returns
    -------
    ndarray, float32 (H, W) in [0, strength].
    """
    if isinstance(signal, np.ndarray):
        diff = cv2.absdiff(signal, prev_signal)
        # cv2, not diff.max(axis=2): numpy's reduction is ~25x slower on these small images.
        planes = cv2.split(diff) if diff.ndim == 3 else [diff]
    else:
        # Planes apart spare a merge and a split.
        planes = [cv2.absdiff(a, b) for a, b in zip(signal, prev_signal)]
    diff = functools.reduce(cv2.max, planes)
    # A 5x5 mean makes the test about a neighbourhood, so noise alone does not read as motion
    # and a moving edge also releases the pixels right beside it.
    diff = cv2.blur(diff.astype(np.float32, copy=False), (5, 5))
    w = 1.0 - diff * np.float32(1.0 / threshold)
    np.clip(w, 0.0, 1.0, out=w)
    w *= np.float32(strength)
    return w


def stabilise(alpha: np.ndarray, prev_alpha: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Blend towards the previous matte: ``alpha + weight * (prev_alpha - alpha)`` (float32 (H, W))."""
    out = cv2.subtract(prev_alpha, alpha)
    cv2.multiply(out, weight, dst=out)
    return cv2.add(out, alpha, dst=out)
