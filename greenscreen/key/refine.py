"""Matte refinement: edge-aware smoothing, choke/grow, feather, core fill and speck removal.

Each function takes a float32 (H, W) alpha in [0, 1] and returns a new one.
"""

from __future__ import annotations

import cv2
import numpy as np


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-preserving smoothing of ``src`` steered by a grey ``guide`` (He et al., 2010).

    Used with the full-resolution luma as guide, it re-sharpens a matte whose colour came from
    4:2:0 chroma (half resolution) onto the true edge, and keeps hair strands that a blur would
    smear. Built from box filters because ``cv2.ximgproc`` is not part of opencv-python.

    Parameters
    ----------
    guide : ndarray, float32 (H, W)
    src : ndarray, float32 (H, W)
    radius : box radius in pixels; eps : regularisation (in guide units squared).

    Returns
    -------
    ndarray, float32 (H, W).
    """
    a, b = _guided_coefficients(guide, src, radius, eps)
    return cv2.add(cv2.multiply(a, guide), b)


def _guided_coefficients(
    guide: np.ndarray, src: np.ndarray, radius: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """The box-averaged linear coefficients ``a``, ``b`` of the guided filter: out = a*guide + b."""
    # A separable pass of 1/(2r+1) weights is the box mean, and faster than boxFilter on float.
    kernel = np.full(2 * radius + 1, 1.0 / (2 * radius + 1), np.float32)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.sepFilter2D(x, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_REFLECT)

    mean_i = box(guide)
    mean_p = box(src)
    cov_ip = cv2.subtract(box(cv2.multiply(guide, src)), cv2.multiply(mean_i, mean_p))
    var_i = cv2.subtract(box(cv2.multiply(guide, guide)), cv2.multiply(mean_i, mean_i))
    a = cv2.divide(cov_ip, var_i + np.float32(eps))
    b = cv2.subtract(mean_p, cv2.multiply(a, mean_i))
    return box(a), box(b)


def guided_upsample(guide: np.ndarray, src_small: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Guided filter of a matte known only at reduced resolution, output at the guide's.

    The coefficients are computed against the guide shrunk to ``src_small``'s size and applied
    to the full-resolution ``guide`` (He & Sun, "Fast Guided Filter", 2015). The filter is
    affine in ``src``, so a levels map may be applied to ``src_small`` before rather than to
    the result after.

    Parameters
    ----------
    guide : ndarray, float32 (H, W)
    src_small : ndarray, float32 (h, w), the source at reduced size.
    radius : box radius in pixels of ``src_small``; eps : regularisation (guide units squared).

    Returns
    -------
    ndarray, float32 (H, W).
    """
    h, w = guide.shape
    g_s = cv2.resize(guide, (src_small.shape[1], src_small.shape[0]), interpolation=cv2.INTER_AREA)
    a, b = _guided_coefficients(g_s, src_small, radius, eps)
    out = cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
    cv2.accumulateProduct(cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR), guide, out)
    return out


def fast_guided_filter(
    guide: np.ndarray, src: np.ndarray, radius: int, eps: float, *, subsample: int = 2
) -> np.ndarray:
    """:func:`guided_filter` with its coefficients computed at 1/``subsample`` resolution.

    The linear coefficients vary smoothly, so computing them on a smaller image and applying
    them to the full-resolution guide keeps the edge detail at a fraction of the cost
    (He & Sun, "Fast Guided Filter", 2015).
    """
    if subsample <= 1:
        return guided_filter(guide, src, radius, eps)
    h, w = guide.shape
    size = (max(1, w // subsample), max(1, h // subsample))
    p_s = cv2.resize(src, size, interpolation=cv2.INTER_AREA)
    return guided_upsample(guide, p_s, max(1, int(round(radius / subsample))), eps)


def choke(alpha: np.ndarray, pixels: int) -> np.ndarray:
    """Shrink the matte by ``pixels`` (negative values grow it)."""
    if pixels == 0:
        return alpha
    size = 2 * abs(pixels) + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return (cv2.erode if pixels > 0 else cv2.dilate)(alpha, kernel)


def feather(alpha: np.ndarray, radius: float) -> np.ndarray:
    """Soften the matte edge with a Gaussian of sigma ``radius`` pixels."""
    if radius <= 0:
        return alpha
    return cv2.GaussianBlur(alpha, (0, 0), radius)


def core_fill(alpha: np.ndarray, hole_area: int, *, level: float = 0.5) -> np.ndarray:
    """Make holes inside the speaker opaque: regions below ``level`` fully enclosed by the
    speaker and smaller than ``hole_area`` pixels (e.g. a green shirt print, a reflection)."""
    if hole_area <= 0:
        return alpha
    back = (alpha < level).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(back, connectivity=4)
    small = stats[:, cv2.CC_STAT_AREA] < hole_area
    small[0] = False  # label 0 is the speaker itself
    # Regions touching the frame border are the sheet, not holes.
    h, w = alpha.shape
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    touches = (x == 0) | (y == 0) | (x + stats[:, cv2.CC_STAT_WIDTH] == w) | (y + stats[:, cv2.CC_STAT_HEIGHT] == h)
    fill = small & ~touches
    if not fill.any():
        return alpha
    return np.where(fill[labels], np.float32(1.0), alpha).astype(np.float32)


def despeckle(alpha: np.ndarray, speck_area: int, *, level: float = 0.5) -> np.ndarray:
    """Remove isolated foreground specks smaller than ``speck_area`` pixels (sheet blotches)."""
    if speck_area <= 0:
        return alpha
    fore = (alpha >= level).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fore, connectivity=8)
    small = stats[:, cv2.CC_STAT_AREA] < speck_area
    small[0] = False
    if not small.any():
        return alpha
    # Also clear the soft fringe of a speck: dilate its mask slightly.
    mask = small[labels].astype(np.uint8)
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    return np.where(mask.astype(bool), np.float32(0.0), alpha).astype(np.float32)
