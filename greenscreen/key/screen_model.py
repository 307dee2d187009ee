"""The screen model: the sheet's own colour at every pixel, including behind the speaker.

A bedsheet is not one colour: folds, a side lamp, the speaker's shadow and an uneven dye make
the backdrop vary across the frame. Every later stage keys *relative to this local colour*, so
a dark fold is compared with a dark sheet and stays background, while dark hair is compared
with the sheet that would be behind it and stays foreground.

The model is estimated at reduced resolution (the sheet's colour varies slowly) in the spirit
of Nuke's IBKColour: find pixels that are surely sheet, then fill everything else by smooth
interpolation from them (a push-pull pyramid). All functions are pure: arrays in, arrays out.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Index of the screen channel and of the two other channels in BGR order.
CHANNELS: dict[str, tuple[int, int, int]] = {"green": (1, 0, 2), "blue": (0, 1, 2)}


def screen_difference(image: np.ndarray, screen: str = "green") -> np.ndarray:
    """Colour difference of each pixel: screen channel minus the larger of the other two.

    Parameters
    ----------
    image : ndarray, float32 (H, W, 3) BGR in [0, 1] (or a (3,) colour)
    screen : "green" or "blue"

    Returns
    -------
    ndarray, float32 (H, W) (or scalar); positive on the sheet, <= 0 on neutral colours.
    """
    s, o1, o2 = CHANNELS[screen]
    if image.ndim == 1:
        return np.float32(image[s] - max(image[o1], image[o2]))
    chans = cv2.split(image)
    return cv2.subtract(chans[s], cv2.max(chans[o1], chans[o2]))


def border_key_colour(image: np.ndarray, screen: str = "green", border: float = 0.03) -> np.ndarray:
    """Estimate the key colour as the median of screen-dominant pixels on the frame border.

    The speaker rarely covers all four edges, and the median ignores the part they do cover.

    Parameters
    ----------
    image : ndarray, float32 (H, W, 3) BGR in [0, 1]

    Returns
    -------
    ndarray, float32 (3,) BGR in [0, 1].
    """
    h, w = image.shape[:2]
    b = max(2, int(round(border * min(h, w))))
    ring = np.concatenate(
        [image[:b].reshape(-1, 3), image[-b:].reshape(-1, 3),
         image[:, :b].reshape(-1, 3), image[:, -b:].reshape(-1, 3)]
    )
    d = screen_difference(ring.reshape(-1, 1, 3), screen).ravel()
    keep = ring[d > 0.02]
    if len(keep) < 16:  # No sheet on the border: fall back to the whole border.
        keep = ring
    return np.median(keep, axis=0).astype(np.float32)


def push_pull_fill(image: np.ndarray, weight: np.ndarray, *, min_weight: float = 0.25) -> np.ndarray:
    """Fill the pixels where ``weight`` is 0 by smooth interpolation from those where it is 1.

    A push-pull pyramid: known values are averaged down to a level where they cover the frame,
    then the coarse estimate is pulled back up and replaced by the known values wherever enough
    of them exist. Cost is about two image passes, whatever the size of the holes.

    Parameters
    ----------
    image : ndarray, float32 (H, W, C) with C <= 3, or (H, W)
    weight : ndarray, float32 (H, W) in [0, 1]; 1 where ``image`` is known.
    min_weight : fraction of known pixels in a footprint at which a level trusts its own value.

    Returns
    -------
    ndarray, float32 of ``image``'s shape; equal to ``image`` where ``weight`` is 1.
    """
    if image.ndim == 3:
        # One channel at a time: cv2 is several times faster on single-channel images here.
        return cv2.merge([push_pull_fill(c, weight, min_weight=min_weight) for c in cv2.split(image)])
    w = np.ascontiguousarray(weight, np.float32)
    total = cv2.sumElems(w)[0]
    if total <= 0.0:
        return np.full(image.shape, float(image.mean()), np.float32)
    values = [cv2.multiply(np.ascontiguousarray(image, np.float32), w)]
    weights = [w]
    while min(weights[-1].shape) > 2:
        values.append(cv2.pyrDown(values[-1]))
        weights.append(cv2.pyrDown(weights[-1]))
    mean = cv2.sumElems(values[0])[0] / total
    wt = weights[-1]
    est = np.where(wt > 1e-6, values[-1] / np.maximum(wt, 1e-6), mean).astype(np.float32)
    eps = np.float32(1e-6)
    scale = np.float32(1.0 / min_weight)
    for v, wt in zip(reversed(values[:-1]), reversed(weights[:-1])):
        up = cv2.pyrUp(est, dstsize=(wt.shape[1], wt.shape[0]))
        own = cv2.divide(v, np.maximum(wt, eps))
        trust = np.minimum(wt * scale, np.float32(1.0))
        est = cv2.add(up, cv2.multiply(trust, cv2.subtract(own, up)))
    return est


def estimate_screen(
    small: np.ndarray,
    screen: str,
    key: np.ndarray,
    *,
    base: np.ndarray | None = None,
    iterations: int = 3,
    threshold: float = 0.08,
    erode: int = 1,
    guard: int = 0,
    guard_level: float = 0.8,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimate the clean sheet colour at every pixel of a reduced-size frame.

    1. First guess: the sheet's chromaticity (the key colour, or ``base`` at that pixel)
       scaled to each pixel's own brightness, so folds and shadows pass as sheet.
    2. Pixels that key as background against the current guess (raw alpha below
       ``threshold``), eroded by ``erode`` pixels and not within ``guard`` pixels of a surely
       opaque pixel, are taken as seen sheet; the model is filled in from them by
       :func:`push_pull_fill`. Repeated ``iterations`` times.

    Without ``base`` the sheet colour itself is filled in. With a ``base`` (an empty-sheet
    plate) only the *gain* between frame and base is filled in, so the base keeps the folds
    behind the speaker while the gain follows the speaker's shadow and exposure changes.

    Parameters
    ----------
    small : ndarray, float32 (h, w, 3) BGR in [0, 1], a downscaled frame.
    key : ndarray, float32 (3,) BGR key colour.
    base : optional float32 (h, w, 3) plate at the same size.

    Returns
    -------
    model : float32 (h, w, 3) the sheet colour.
    fill : float32 (h, w, 3) what was filled in (the colour, or the gain over ``base``).
    sheet : float32 (h, w) 1 where the sheet was seen directly.
    """
    s_idx = CHANNELS[screen][0]
    ref = key[None, None, :] if base is None else base
    scale = small[..., s_idx] / np.maximum(ref[..., s_idx], np.float32(1e-3))
    model = ref * scale[..., None]
    target = small if base is None else small / np.maximum(base, np.float32(1e-3))
    # Floor: a key colour that is not green at all (a grey or black frame) must not divide by 0.
    dk = max(float(screen_difference(key, screen)), 0.02)
    d_img = screen_difference(small, screen)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode + 1, 2 * erode + 1))
    sheet = np.zeros(small.shape[:2], np.float32)
    fill = target
    guarded = None
    # Intermediate rounds only decide which pixels are sheet, so they fill the one-channel
    # colour difference (three times cheaper); the last round fills all three channels.
    d_target = screen_difference(target, screen)
    d_base = None if base is None else screen_difference(base, screen)
    d_model = screen_difference(model, screen)
    for i in range(iterations):
        d_model = np.maximum(d_model, np.float32(0.25 * dk))
        raw = 1.0 - d_img / d_model
        ok = ((raw < threshold) & (d_img > 0.25 * dk)).astype(np.uint8)
        if erode:
            ok = cv2.erode(ok, kernel)
        if guard and i == 0:
            gk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * guard + 1, 2 * guard + 1))
            guarded = cv2.dilate((raw > guard_level).astype(np.uint8), gk)
        if guarded is not None:
            ok &= 1 - guarded
        sheet = ok.astype(np.float32)
        if i < iterations - 1:
            if base is None:
                d_model = push_pull_fill(d_target, sheet)
            else:
                ratio = d_img / np.maximum(d_base, np.float32(1e-3))
                d_model = push_pull_fill(ratio, sheet) * d_base
        else:
            fill = push_pull_fill(target, sheet)
            model = fill if base is None else fill * base
    return model, fill, sheet


def update_learnt_plate(
    learnt: np.ndarray | None,
    seen: np.ndarray | None,
    small: np.ndarray,
    model: np.ndarray,
    sheet: np.ndarray,
    *,
    rate: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """Fold one frame into the clean plate learnt over time.

    Where the sheet is seen now (``sheet`` = 1) the plate moves towards the frame by ``rate``
    (a running average that also tracks slow light changes). Where it has never been seen,
    the plate is this frame's interpolated ``model``. Where it was seen before but is hidden
    now, the remembered sheet stays, so the folds behind a speaker who has moved away are
    known the next time the speaker stands in front of them.

    Parameters
    ----------
    learnt : float32 (h, w, 3) or None; seen : float32 (h, w) in [0, 1] or None.
    small, model : float32 (h, w, 3) the frame and its sheet model; sheet : float32 (h, w).

    Returns
    -------
    The new ``(learnt, seen)``; inputs are not modified.
    """
    if learnt is None or seen is None:
        return model.copy(), sheet.copy()
    seen = np.maximum(seen, sheet)
    # Never-seen pixels follow the interpolation; seen ones average towards the frame.
    towards = cv2.merge([sheet * np.float32(rate)] * 3)
    learnt = cv2.add(learnt, cv2.multiply(towards, cv2.subtract(small, learnt)))
    unseen = cv2.merge([1.0 - seen] * 3)
    learnt = cv2.add(learnt, cv2.multiply(unseen, cv2.subtract(model, learnt)))
    return learnt, seen
