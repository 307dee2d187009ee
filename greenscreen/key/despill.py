"""Despill by unmixing: recover the speaker's own colour at soft edges.

An edge pixel is a mix ``C = a*F + (1 - a)*S`` of the speaker ``F`` and the local sheet ``S``.
Knowing ``a`` and ``S`` we solve for ``F`` instead of desaturating, so hair keeps its colour
rather than turning grey. Whatever green is left (bounce light on the speaker, errors in
``a``) is limited relative to the other two channels.
"""

from __future__ import annotations

import cv2
import numpy as np

from greenscreen.key.screen_model import CHANNELS


def unmix(image: np.ndarray, alpha: np.ndarray, screen_model: np.ndarray, *, min_alpha: float = 0.05) -> np.ndarray:
    """Solve ``C = a*F + (1 - a)*S`` for ``F``.

    Parameters
    ----------
    image, screen_model : ndarray, float32 (H, W, 3) BGR in [0, 1]
    alpha : ndarray, float32 (H, W) in [0, 1]
    min_alpha : alpha below which the division is not trusted (the result is clamped).

    Returns
    -------
    ndarray, float32 (H, W, 3) BGR clipped to [0, 1].
    """
    a = np.maximum(alpha, np.float32(min_alpha))[..., None]
    fg = image - (np.float32(1.0) - alpha)[..., None] * screen_model
    fg /= a
    return np.clip(fg, 0.0, 1.0, out=fg)


def limit_spill(
    fg: np.ndarray, screen: str = "green", *, amount: float = 1.0, limit: float = 0.0,
    weight: np.ndarray | None = None,
) -> np.ndarray:
    """Limit the screen channel to the larger other channel plus ``limit``.

    Parameters
    ----------
    fg : ndarray, float32 (H, W, 3) BGR in [0, 1] (not modified)
    amount : 0..1, how much of the excess to remove.
    limit : allowed excess of the screen channel over the larger other channel.
    weight : optional float32 (H, W) in [0, 1] scaling ``amount`` per pixel.

    Returns
    -------
    ndarray, float32 (H, W, 3).
    """
    s, o1, o2 = CHANNELS[screen]
    chans = list(cv2.split(fg))
    excess = chans[s] - cv2.max(chans[o1], chans[o2]) - np.float32(limit)
    np.maximum(excess, 0.0, out=excess)
    if weight is not None:
        excess *= weight
    chans[s] = chans[s] - excess * np.float32(amount)
    return cv2.merge(chans)
