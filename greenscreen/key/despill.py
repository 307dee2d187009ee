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
    # Alpha repeated per channel: cv2 does not broadcast, and numpy's broadcasting over a
    # last axis of 3 is several times slower than plain element-wise maths.
    a = cv2.merge([alpha] * 3)
    fg = cv2.subtract(image, cv2.multiply(np.float32(1.0) - a, screen_model))
    fg = cv2.divide(fg, np.maximum(a, np.float32(min_alpha)))
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
    excess = cv2.subtract(chans[s], cv2.max(chans[o1], chans[o2]))
    # Scalars go through numpy: cv2 can mistake an array of up to four pixels for a scalar.
    if limit:
        excess -= np.float32(limit)
    np.maximum(excess, np.float32(0.0), out=excess)
    if weight is not None:
        excess *= weight
    if amount != 1:
        excess *= np.float32(amount)
    chans[s] = cv2.subtract(chans[s], excess)
    return cv2.merge(chans)


def despill_frame(
    frame: np.ndarray,
    alpha: np.ndarray,
    screen_small: np.ndarray,
    screen: str = "green",
    *,
    amount: float = 1.0,
    limit: float = 0.0,
    band: tuple[float, float] = (0.004, 0.996),
    limit_opaque: bool = True,
    origin: tuple[int, int] = (0, 0),
    frame_size: tuple[int, int] | None = None,
    unclipped: np.ndarray | None = None,
    levels: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """Despilled straight foreground of a frame, BGR uint8 (H, W, 3).

    Opaque pixels only get the residual spill limit (cheap uint8 maths on the whole frame);
    the unmixing, which needs the sheet colour, runs only on the soft-edge pixels (alpha
    inside ``band``), usually a small fraction of the frame. The sheet colour there is sampled
    bilinearly from the reduced-size model ``screen_small`` (float32 (h, w, 3) in [0, 1]).
    Pixels with alpha below the band keep the frame colour (they are invisible).

    ``frame`` may be a crop of a larger frame: its top-left pixel at ``origin`` (x, y) of a
    frame of ``frame_size`` (width, height), which ``screen_small`` covers.

    ``unclipped`` (float32 (H, W)), if given, is ``alpha`` before its clip to [0, 1], made by
    ``levels`` (black, white) from the speaker's coverage of each pixel, which the unmixing
    then divides by instead of ``alpha``. A matte with a clip black and white is steeper than
    the coverage across a soft edge: unmixing by it overshoots the outer half of the edge away
    from the sheet (a pink rim on green) and leaves the inner half, where alpha is clipped to 1
    but the pixel still shows the sheet, a mix (an olive rim). The band is then where alpha is
    above its lower end and the coverage below its upper end (pixels above it keep their own
    colour with the spill limit, as opaque ones do).
    """
    if amount <= 0:
        return frame.copy()
    s, o1, o2 = CHANNELS[screen]
    if limit_opaque:
        chans = list(cv2.split(frame))
        ceiling = cv2.max(chans[o1], chans[o2])
        if limit > 0:
            ceiling = cv2.add(ceiling, int(round(limit * 255)))
        limited = cv2.min(chans[s], ceiling)
        if amount < 1:
            limited = cv2.addWeighted(limited, amount, chans[s], 1.0 - amount, 0.0)
        chans[s] = limited
        out = cv2.merge(chans)
    else:
        out = frame.copy()
    black, white = levels
    if unclipped is None:
        idx = np.flatnonzero((alpha > band[0]) & (alpha < band[1]))
    else:
        idx = np.flatnonzero((alpha > band[0]) & (unclipped < np.float32((band[1] - black) / (white - black))))
    if idx.size == 0:
        return out
    h, w = alpha.shape
    hs, ws = screen_small.shape[:2]
    ys, xs = np.divmod(idx, w)
    if frame_size is not None:
        w, h = frame_size
    # Pixel centres of the full frame in the small model's coordinates, as one interleaved
    # (x, y) map scaled by one cv2.transform. remap wants a map of fewer than 32767 rows, so
    # the band's points are laid out 1024 to a row.
    n = idx.size
    cols = 1024
    rows = -(-n // cols)
    points = np.zeros((rows * cols, 2), np.float32)
    points[:n, 0] = xs
    points[:n, 1] = ys
    fx, fy = ws / w, hs / h
    to_model = np.array([[fx, 0.0, (origin[0] + 0.5) * fx - 0.5], [0.0, fy, (origin[1] + 0.5) * fy - 0.5]],
                        np.float32)
    points = cv2.transform(points.reshape(rows, cols, 2), to_model)
    scr = cv2.remap(screen_small, points, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    scr = scr.reshape(-1, 3)[:n]
    col = _pixels(frame).take(idx).view(np.uint8).reshape(-1, 3).astype(np.float32)
    col *= np.float32(1.0 / 255.0)
    # unmix() and limit_spill() on (N, 3) rows, in fewer numpy passes (the band is a few
    # thousand pixels, where each call's fixed cost counts): F = S + (C - S) / a.
    if unclipped is None:
        a = np.maximum(alpha.reshape(-1).take(idx), np.float32(0.05))
    else:
        a = unclipped.reshape(-1).take(idx) * np.float32(white - black) + np.float32(black)
        np.clip(a, np.float32(0.05), np.float32(1.0), out=a)
    fg = col - scr
    fg /= a[:, None]
    fg += scr
    np.clip(fg, 0.0, 1.0, out=fg)
    # The screen channel above the larger other one plus ``limit``, removed by ``amount``.
    ceiling = np.maximum(fg[:, o1], fg[:, o2])
    if limit:
        ceiling += np.float32(limit)
    if amount >= 1:
        np.minimum(fg[:, s], ceiling, out=fg[:, s])
    else:
        excess = np.maximum(fg[:, s] - ceiling, np.float32(0.0))
        fg[:, s] -= excess * np.float32(amount)
    # fg is within [0, 1] here (clipped, the limit only lowers the screen channel to another
    # channel's level or a bit above it), so a rounding conversion is all that is left.
    _pixels(out).put(idx, _pixels(cv2.convertScaleAbs(fg.reshape(-1, 1, 3), alpha=255.0)))
    return out


def _pixels(image: np.ndarray) -> np.ndarray:
    """A contiguous uint8 (..., 3) image as a 1-D array with one 3-byte item per pixel.

    Indexing it moves whole pixels with one copy each, several times faster than indexing
    rows of an (N, 3) array.
    """
    return image.reshape(-1, 3).view(np.dtype((np.void, 3))).reshape(-1)
