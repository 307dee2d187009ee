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
    # extractChannel: cv2.split is several times slower on small float images.
    return cv2.subtract(cv2.extractChannel(image, s),
                        cv2.max(cv2.extractChannel(image, o1), cv2.extractChannel(image, o2)))


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
    # The median by sorting: np.median checks for masked arrays, which imports numpy.ma, 20 ms
    # of every render's start-up.
    ordered = np.sort(keep, axis=0)
    n = len(ordered)
    return ((ordered[(n - 1) // 2] + ordered[n // 2]) * np.float32(0.5)).astype(np.float32)


#: Below this many values a numpy operation is quicker than a cv2 call, whose fixed cost of
#: a few microseconds dominates on the coarse pyramid levels.
_NUMPY_SIZE = 4096


def push_pull_fill(image: np.ndarray, weight: np.ndarray, *, min_weight: float = 0.25) -> np.ndarray:
    """Fill the pixels where ``weight`` is 0 by smooth interpolation from those where it is 1.

    A push-pull pyramid: known values are averaged down to a level where they cover the frame,
    then the coarse estimate is pulled back up and replaced by the known values wherever enough
    of them exist. Cost is about two image passes, whatever the size of the holes.

    Parameters
    ----------
    image : ndarray, float32 (H, W, C) with C <= 3, or (H, W)
    weight : ndarray, float32 (H, W) in [0, 1]; 1 where ``image`` is known. Or a uint8 mask,
        nonzero where known: the same as a 0/1 weight, and faster, because the finest level
        then copies the known values instead of blending them in.
    min_weight : fraction of known pixels in a footprint at which a level trusts its own value.

    Returns
    -------
    ndarray, float32 of ``image``'s shape; equal to ``image`` where ``weight`` is 1.
    """
    img = np.ascontiguousarray(image, np.float32)
    channels = 1 if img.ndim == 2 else img.shape[2]
    if weight.dtype == np.uint8:
        mask = weight
        # numpy, not cv2.min: cv2 takes a 1x1 array for a scalar and returns a 4x1 one.
        w = np.minimum(mask, 1).astype(np.float32)
        total = float(cv2.countNonZero(mask))
    else:
        mask = None
        w = np.ascontiguousarray(weight, np.float32)
        total = cv2.sumElems(w)[0]
    if total <= 0.0:
        return np.broadcast_to(img.mean(axis=(0, 1)).astype(np.float32), img.shape).copy()
    # All channels go through each cv2 call together (the weight repeated per channel): on
    # these small images the cost is per call, not per pixel.
    if channels > 1:
        w = cv2.merge([w] * channels)
    values = [cv2.multiply(img, w)]
    weights = [w]
    # Stop early at a level where every pixel has enough known ones to trust its own value:
    # coarser levels would not change the result.
    while min(weights[-1].shape[:2]) > 2 and _min(weights[-1]) < min_weight:
        values.append(cv2.pyrDown(values[-1]))
        weights.append(cv2.pyrDown(weights[-1]))
    mean = np.array(cv2.sumElems(values[0])[:channels], np.float32) / np.float32(total)
    top_v, top_w = values[-1], weights[-1]
    est = np.where(top_w > 1e-6, top_v / np.maximum(top_w, np.float32(1e-6)),
                   mean if channels > 1 else mean[0]).astype(np.float32)
    # A 4-tuple is a per-channel scalar to cv2 (levels here are at least 3x3, too big for cv2
    # to take them for a scalar instead); np.maximum is several times slower on big levels.
    floor = (float(min_weight),) * 4
    floor32 = np.float32(min_weight)
    for v, wt in zip(reversed(values[:-1]), reversed(weights[:-1])):
        up = cv2.pyrUp(est, dstsize=(wt.shape[1], wt.shape[0]))
        if mask is not None and wt is weights[0]:
            # A 0/1 weight either keeps the pixel's own value or takes the coarser estimate.
            est = cv2.copyTo(img, mask, up)
            break
        # Own value v / wt, trusted by min(wt / min_weight, 1) over the coarser estimate:
        # est = up + (v - wt * up) / max(wt, min_weight), which never divides by a tiny weight.
        if wt.size <= _NUMPY_SIZE:
            est = up + (v - wt * up) / np.maximum(wt, floor32)
        else:
            est = cv2.add(up, cv2.divide(cv2.subtract(v, cv2.multiply(wt, up)), cv2.max(wt, floor)))
    return est


def _min(image: np.ndarray) -> float:
    """Smallest value of a float32 image with any number of channels."""
    return cv2.minMaxLoc(image.reshape(image.shape[0], -1))[0]


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
    shade_tolerance: float = 0.03,
    shade_level: float = 0.85,
    noise_margin: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimate the clean sheet colour at every pixel of a reduced-size frame.

    1. First guess: the sheet's chromaticity (the key colour, or ``base`` at that pixel)
       scaled to each pixel's own brightness, so folds and shadows pass as sheet.
    2. Pixels that key as background against the current guess (raw alpha below
       ``threshold``), eroded by ``erode`` pixels and not within ``guard`` pixels of a surely
       opaque pixel, are taken as seen sheet; the model is filled in from them by
       :func:`push_pull_fill`. Repeated ``iterations`` times.
    3. A pixel whose chromaticity (colour difference over screen channel) is within
       ``shade_tolerance`` of the sheet's (the key's, or ``base``'s at that pixel) counts as
       background down to ``shade_level`` of the model instead: shaded sheet.
    4. In step 2, a pixel within ``noise_margin`` (colour difference, 0..1 units) of the model
       passes the test even where ``threshold`` (or ``shade_level``) asks for less: the noise
       of a dim room's webcam scatters the sheet's colour difference, and a test tighter than
       the scatter took only its greener part for sheet, so the model filled in from it was
       too green and the whole sheet keyed as a blotchy veil. The erosion, the guard and the
       floor still apply.

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
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    s_idx = CHANNELS[screen][0]
    # Floor: a key colour that is not green at all (a grey or black frame) must not divide by 0.
    d_key = float(screen_difference(key, screen))
    dk = max(d_key, 0.02)
    d_img = screen_difference(small, screen)
    # The first guess scales the sheet's chromaticity by a non-negative factor per pixel, and
    # the colour difference scales with it, so only its difference is formed.
    small_s = cv2.extractChannel(small, s_idx)
    if base is None:
        target = small
        d_guess = cv2.multiply(small_s, d_key / max(float(key[s_idx]), 1e-3))
    else:
        # A 4-tuple is a per-channel scalar to cv2; np.maximum is several times slower.
        target = cv2.divide(small, cv2.max(base, (1e-3,) * 4))
        d_base = screen_difference(base, screen)
        d_guess = cv2.multiply(cv2.divide(small_s, cv2.max(cv2.extractChannel(base, s_idx), 1e-3)), d_base)
        # Intermediate rounds fill the gain of the frame's difference over the base's.
        ratio = cv2.divide(d_img, cv2.max(d_base, 1e-3))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode + 1, 2 * erode + 1))
    guarded = None
    # Background against the guess: raw alpha 1 - d_img / d_model below ``threshold``, i.e.
    # d_img above (1 - threshold) * d_model, with d_model floored at a quarter of the key's.
    floor_d = 0.25 * dk
    # Shaded sheet may be darker: down to ``shade_level`` of the model where its chromaticity
    # is the sheet's. d_img / d_guess is the pixel's chromaticity over the sheet's, as the
    # guess is the sheet's chromaticity at the pixel's brightness. Why: the fill below
    # extrapolates into the pixels not yet taken as sheet with a constant, the average of the
    # sheet a few pixels further out. Where the speaker's soft shadow darkens the sheet towards
    # the body that is too bright, so the shadow's rim fails the test, the erosion takes the
    # next pixel, and each round peels another model pixel off the shadow, which then keys as
    # a dark, part-opaque halo. A shadow scales all channels alike and keeps the chromaticity;
    # a mix of the sheet with dark hair or a spill-lit dark subject, which the later rounds
    # exist to reject, shifts it or is darker than ``shade_level`` (measured on the matting-dev
    # benchmark, where looser bounds key dark hair edges as sheet). One factor image, made
    # once, keeps the rounds' cv2 calls as they were.
    shaded = cv2.inRange(cv2.divide(d_img, cv2.max(d_guess, 1e-3)), 1.0 - shade_tolerance, 1.0 + shade_tolerance)
    factor = np.full(d_img.shape, 1.0 - threshold, np.float32)
    factor[shaded > 0] = min(shade_level, 1.0 - threshold)
    d_model = d_guess
    for i in range(iterations):
        d_model = cv2.max(d_model, floor_d)
        low = cv2.multiply(d_model, factor)
        if noise_margin > 0:
            low = cv2.min(low, cv2.subtract(d_model, float(noise_margin)))
        ok = cv2.compare(d_img, cv2.max(low, floor_d), cv2.CMP_GT)
        if erode:
            ok = cv2.erode(ok, kernel)
        if guard and i == 0:
            gk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * guard + 1, 2 * guard + 1))
            opaque = cv2.compare(d_img, cv2.multiply(d_model, 1.0 - guard_level), cv2.CMP_LT)
            guarded = cv2.bitwise_not(cv2.dilate(opaque, gk))
        if guarded is not None:
            ok = cv2.bitwise_and(ok, guarded)
        if i == iterations - 1:
            break
        # Intermediate rounds only decide which pixels are sheet, so they fill the one-channel
        # colour difference (three times cheaper); the last round fills all three channels.
        if base is None:
            d_model = push_pull_fill(d_img, ok)
        else:
            d_model = cv2.multiply(push_pull_fill(ratio, ok), d_base)
    fill = push_pull_fill(target, ok)
    model = fill if base is None else cv2.multiply(fill, base)
    return model, fill, cv2.multiply(ok, 1.0 / 255.0, dtype=cv2.CV_32F)


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
    seen = cv2.max(seen, sheet)
    # Never-seen pixels follow the interpolation; seen ones average towards the frame.
    towards = cv2.merge([sheet * np.float32(rate)] * 3)
    learnt = cv2.add(learnt, cv2.multiply(towards, cv2.subtract(small, learnt)))
    unseen = cv2.merge([1.0 - seen] * 3)
    learnt = cv2.add(learnt, cv2.multiply(unseen, cv2.subtract(model, learnt)))
    return learnt, seen
