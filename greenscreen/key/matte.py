"""The colour-difference matte, relative to the local screen colour.

``1 - alpha`` is how much of the sheet's colour difference (screen channel minus the larger of
the other two) a pixel still shows, measured against the sheet colour *at that pixel*. Folds
and shadows are part of the local sheet colour, so they key as background; neutral and dark
subjects have no colour difference, so they key as foreground whatever their brightness.
"""

from __future__ import annotations

import cv2
import numpy as np

from greenscreen.key.screen_model import screen_difference


def difference_matte(
    image: np.ndarray,
    screen_model: np.ndarray,
    screen: str = "green",
    *,
    fg_difference: np.ndarray | None = None,
    floor: float = 0.02,
) -> np.ndarray:
    """Raw (unclipped) alpha of each pixel against the local sheet colour.

    Parameters
    ----------
    image : ndarray, float32 (H, W, 3) BGR in [0, 1]
    screen_model : ndarray, float32 (H, W, 3) BGR in [0, 1], the sheet colour at each pixel.
    fg_difference : optional float32 (H, W) colour difference of the nearby opaque speaker.
        Classic colour difference assumes the speaker has none (``d(F) = 0``); a pink or red
        strand has ``d(F) < 0`` and would key too opaque. With it the matte solves
        ``d(C) = a*d(F) + (1 - a)*d(S)`` for ``a`` instead.
    floor : smallest sheet colour difference divided by, so a grey patch of model cannot blow up.

    Returns
    -------
    ndarray, float32 (H, W); about 0 on the sheet and >= 1 on a neutral subject (not clipped).
    """
    d_img = screen_difference(image, screen)
    d_scr = np.maximum(screen_difference(screen_model, screen), np.float32(floor))
    if fg_difference is None:
        raw = cv2.divide(d_img, d_scr)
        np.subtract(np.float32(1.0), raw, out=raw)
        return raw
    # a = (d(S) - d(C)) / (d(S) - d(F))
    return cv2.divide(cv2.subtract(d_scr, d_img), cv2.subtract(d_scr, fg_difference))


def clip_levels(raw: np.ndarray, black: float, white: float) -> np.ndarray:
    """Map ``raw <= black`` to 0, ``raw >= white`` to 1, linearly between (float32 (H, W))."""
    scale = 1.0 / max(white - black, 1e-3)
    out = (raw - np.float32(black)) * np.float32(scale)
    return np.clip(out, 0.0, 1.0, out=out)
