"""The colour-difference matte, relative to the local screen colour.

``1 - alpha`` is how much of the sheet's colour difference (screen channel minus the larger of
the other two) a pixel still shows, measured against the sheet colour *at that pixel*. Folds
and shadows are part of the local sheet colour, so they key as background; neutral and dark
subjects have no colour difference, so they key as foreground whatever their brightness.
"""

from __future__ import annotations

import cv2
import numpy as np

from greenscreen.key.screen_model import push_pull_fill, screen_difference


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
    return solve_alpha(d_img, d_scr, fg_difference)


MIN_DIFFERENCE = 1e-4
"""Smallest sheet-minus-speaker colour difference :func:`solve_alpha` divides by."""


def solve_alpha(d_image: np.ndarray, d_screen: np.ndarray, d_foreground: np.ndarray | None) -> np.ndarray:
    """Solve ``d(C) = a*d(F) + (1 - a)*d(S)`` for ``a`` per pixel (``d(F) = 0`` if not given).

    All inputs float32 (H, W) in the same units; ``d_screen`` should exceed ``d_foreground``.
    Returns the raw alpha, float32 (H, W), not clipped, and always finite.
    """
    num = cv2.subtract(d_screen, d_image)
    den = d_screen if d_foreground is None else cv2.subtract(d_screen, d_foreground)
    # Where the sheet model is no sheet (a clean plate that shows the speaker, e.g. the speaker
    # recording given as --plate), the difference is 0 or negative and 0/0 made NaN pixels.
    # Valid models keep it above 0.01 (0..1 units) or 2.5 (0..255), so this changes nothing
    # there; elsewhere a pixel less green than the "sheet" keys as speaker.
    return cv2.divide(num, cv2.max(den, MIN_DIFFERENCE))


def levels(raw: np.ndarray, black: float, white: float) -> np.ndarray:
    """Map ``black`` to 0 and ``white`` to 1 linearly, without clipping (float32 (H, W)).

    The linear part of :func:`clip_levels`, for use before a filter that is affine in its
    input (the guided filter), so the clip can wait until after it.
    """
    scale = 1.0 / max(white - black, 1e-3)
    return (raw - np.float32(black)) * np.float32(scale)


def clip_levels(raw: np.ndarray, black: float, white: float) -> np.ndarray:
    """Map ``raw <= black`` to 0, ``raw >= white`` to 1, linearly between (float32 (H, W))."""
    out = levels(raw, black, white)
    return np.clip(out, 0.0, 1.0, out=out)


def foreground_difference(
    d_image: np.ndarray, d_screen: np.ndarray, *, level: float = 0.7, max_ratio: float = 0.5
) -> np.ndarray:
    """Colour difference of the speaker near each pixel, filled in from surely opaque pixels.

    Parameters
    ----------
    d_image : ndarray, float32 (h, w) colour difference of a (downscaled) frame.
    d_screen : ndarray, float32 (h, w) colour difference of the sheet model, > 0.
    level : raw alpha (classic, ``d(F) = 0``) above which a pixel counts as opaque speaker.
    max_ratio : cap of the result as a fraction of ``d_screen``; keeps the solve in
        :func:`difference_matte` well away from a division by zero for green subjects.

    Returns
    -------
    ndarray, float32 (h, w).
    """
    # Raw alpha 1 - d_image / d_screen above ``level``, i.e. d_image below (1 - level) * d_screen.
    sure = cv2.compare(d_image, d_screen * np.float32(1.0 - level), cv2.CMP_LT)
    # Erode so edge pixels (already a mix with the sheet) do not count as speaker colour.
    sure = cv2.erode(sure, np.ones((3, 3), np.uint8))
    filled = push_pull_fill(d_image, sure)
    return cv2.min(filled, d_screen * np.float32(max_ratio))


def shaded_sheet(
    screen8: np.ndarray,
    d_image: np.ndarray,
    d_screen: np.ndarray,
    screen_level: np.ndarray,
    raw: np.ndarray,
    *,
    chroma: float = 0.05,
    gradient: float = 3.0,
    below: float = 0.45,
) -> np.ndarray:
    """Pixels that are the sheet in shadow rather than a faint mix with the speaker.

    Beside the speaker a soft shadow darkens the sheet more than the screen model, which is
    smooth, can follow, so it keys as a faint dark halo. Colour alone cannot tell it from a
    thin mix of dark hair and sheet: both keep the sheet's chromaticity and are darker. A
    shadow is smooth, though, while the edge of hair or clothes is a sharp change of
    brightness. So a pixel counts as shaded sheet where its chromaticity (colour difference
    over screen channel) is the local sheet's within ``chroma``, it is darker than the sheet,
    the screen channel changes by less than ``gradient`` levels per pixel around it, and its
    raw alpha is above 0 but below ``below`` (a faint mix at most).

    Parameters
    ----------
    screen8 : uint8 (h, w), the image's screen channel; d_image : float32 (h, w) its colour
        difference, in the same 0..255 units as
    d_screen, screen_level : float32 (h, w), the sheet's colour difference and screen channel.
    raw : float32 (h, w), the raw alpha.

    Returns
    -------
    uint8 (h, w): 255 where the pixel is shaded sheet, else 0.
    """
    level = screen8.astype(np.float32)
    # (d_image / level) / (d_screen / screen_level), without dividing twice.
    ratio = cv2.divide(cv2.multiply(d_image, screen_level), cv2.max(cv2.multiply(level, d_screen), 1e-3))
    mask = cv2.inRange(ratio, 1.0 - chroma, 1.0 + chroma)
    mask = cv2.bitwise_and(mask, cv2.compare(level, screen_level, cv2.CMP_LT))
    # The range of the 3x3 neighbourhood, not a derivative: a derivative is 0 on the middle
    # of a one-pixel strand. On a ramp the range is two steps.
    steep = cv2.morphologyEx(screen8, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    mask = cv2.bitwise_and(mask, cv2.compare(steep, 2.0 * gradient, cv2.CMP_LT))
    # Pixels at or below 0 are sheet already and keep their raw value (the guided filter
    # after this is affine in it).
    return cv2.bitwise_and(mask, cv2.inRange(raw, 1e-6, below))
