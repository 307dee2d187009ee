"""Blend a keyed speaker into an output frame, given as BGR or as I420 planes."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from greenscreen.frames import check_bgr
from greenscreen.io.colour import Matrix, bgr_to_i420
from greenscreen.io.yuv import Planes, i420_planes


@dataclass(frozen=True, eq=False)
class LightWrap:
    """Light of the background wrapping round the speaker's edge, as in Nuke's LightWrap.

    Just inside the matte edge the blurred background is added to the foreground, by up to
    ``amount`` (0..1) and fading over about ``size`` pixels inwards, so a speaker keyed from a
    dim bedsheet takes on the light of a bright screen behind instead of looking cut out.
    Light is added, not mixed in: a dark screen leaves the edge as it was rather than drawing a
    dark outline round the speaker.
    """

    amount: float
    size: float
    edge: np.ndarray | None = None
    """The matte whose edge is lit, if not the layer's alpha itself (float32, the layer's size):
    the speaker's alpha before a window shape cut it."""

    def weight(self, alpha: np.ndarray) -> np.ndarray:
        """Per-pixel share of the background light for a layer's ``alpha``: high on opaque
        pixels that have transparent ones within reach, 0 deep inside the speaker and where it
        is transparent."""
        reach = cv2.GaussianBlur(alpha if self.edge is None else self.edge, (0, 0), self.sigma)
        return cv2.multiply(alpha, 1.0 - reach, scale=self.amount)

    @property
    def sigma(self) -> float:
        return self.size / 2.0

    def apply(
        self, fg: np.ndarray, background: np.ndarray, weight: np.ndarray, sigma: float, black: float = 0.0
    ) -> None:
        """Add the light of ``background``, blurred by ``sigma`` and scaled by ``weight``, to the
        uint8 image ``fg`` in place (saturating). ``black`` is the background value that adds
        nothing: 0 in BGR; in studio-range YUV 16 for luma and 128 for chroma, so that adding
        plane by plane is adding in BGR (YUV is affine in BGR)."""
        light = cv2.GaussianBlur(background, (0, 0), sigma).astype(np.float32)
        light -= np.float32(black)
        if light.ndim == 3:
            weight = cv2.merge([weight] * light.shape[2])
        cv2.add(fg, cv2.multiply(light, weight), dst=fg, dtype=cv2.CV_8U)


def blend_over(
    canvas: np.ndarray, foreground: np.ndarray, alpha: np.ndarray, *, x: int, y: int,
    wrap: LightWrap | None = None,
) -> None:
    """Blend ``foreground`` (BGR uint8) with ``alpha`` (float32 in [0, 1]) onto ``canvas`` at
    ``(x, y)``, in place, with an optional light ``wrap`` from the canvas. Parts outside the
    canvas are clipped.

    ``cv2.blendLinear`` does the weighted sum in one multi-threaded pass, several times faster
    than float numpy arithmetic on the same pixels.
    """
    check_bgr(canvas, name="canvas")
    part = _visible_part(alpha, x, y, canvas.shape[1], canvas.shape[0], align=1)
    if part is None:
        return
    rows, cols, (x0, y0, x1, y1) = part
    a = np.ascontiguousarray(alpha[rows, cols])
    roi = canvas[y0:y1, x0:x1]
    if wrap is None:
        fg = np.ascontiguousarray(foreground[rows, cols])
    else:
        fg = np.array(foreground[rows, cols])  # lit in place: not the caller's (held frames recur)
        # The weight comes from the whole layer (see blend_over_i420).
        wrap.apply(fg, roi, np.ascontiguousarray(wrap.weight(alpha)[rows, cols]), wrap.sigma)
    _blend_plane(roi, fg, a, 1.0 - a)


def blend_over_i420(
    canvas: Planes, foreground: np.ndarray, alpha: np.ndarray, *, x: int, y: int,
    matrix: Matrix = "bt601", wrap: LightWrap | None = None,
) -> None:
    """:func:`blend_over` for a canvas given as I420 planes (views may be strided), in place.

    Only the speaker's rectangle is touched: the foreground (BGR uint8, the keyer's output) is
    converted to I420 and each plane is blended with ``alpha``, full size for Y and sampled at
    the top-left pixel of every 2x2 block for U and V. Because YUV is an affine function of BGR
    and the BGR->I420 conversion (with the canvas's ``matrix``) samples chroma the same way,
    the result equals blending in BGR and converting the whole frame afterwards, up to
    rounding (+-1), at a fraction of the cost: a 1080p frame is never converted.

    Parts outside the canvas are clipped. A rectangle off the 2x2 chroma grid (odd position or
    size) is padded onto it with transparent pixels, which is again what the BGR route gives.
    """
    cy, cu, cv = canvas
    part = _visible_part(alpha, x, y, cy.shape[1], cy.shape[0], align=2)
    if part is None:
        return
    rows, cols, (x0, y0, x1, y1) = part
    fg, a = foreground[rows, cols], alpha[rows, cols]
    # Taken from the whole layer: the visible box has cut away the transparent pixels that
    # tell an edge of the speaker from an edge of the webcam picture.
    w = None if wrap is None else wrap.weight(alpha)[rows, cols]
    # Grow the rectangle to even edges (the canvas size is even, so it stays on the canvas).
    left, top = x0 % 2, y0 % 2
    right, bottom = (x1 + left - x0) % 2, (y1 + top - y0) % 2
    x0, y0, x1, y1 = x0 - left, y0 - top, x1 + right, y1 + bottom
    if left or top or right or bottom:
        fg = cv2.copyMakeBorder(fg, top, bottom, left, right, cv2.BORDER_REPLICATE)
        a = cv2.copyMakeBorder(a, top, bottom, left, right, cv2.BORDER_CONSTANT, value=0.0)
        if w is not None:
            w = cv2.copyMakeBorder(w, top, bottom, left, right, cv2.BORDER_CONSTANT, value=0.0)
    fy, fu, fv = i420_planes(bgr_to_i420(np.ascontiguousarray(fg), matrix))
    a = np.ascontiguousarray(a, np.float32)
    a_c = np.ascontiguousarray(a[::2, ::2])
    inv_c = 1.0 - a_c
    xs, ys = slice(x0 // 2, x1 // 2), slice(y0 // 2, y1 // 2)
    rois = (cy[y0:y1, x0:x1], cu[ys, xs], cv[ys, xs])
    if wrap is not None:
        # Plane by plane, chroma at half resolution like everything else in I420.
        w = np.ascontiguousarray(w)
        w_c = np.ascontiguousarray(w[::2, ::2])
        for plane, roi, weight, sigma, black in zip(
            (fy, fu, fv), rois, (w, w_c, w_c), (wrap.sigma, wrap.sigma / 2, wrap.sigma / 2), (16, 128, 128)
        ):
            wrap.apply(plane, roi, weight, sigma, black)
    _blend_plane(rois[0], fy, a, 1.0 - a)
    _blend_plane(rois[1], fu, a_c, inv_c)
    _blend_plane(rois[2], fv, a_c, inv_c)


def _visible_part(
    alpha: np.ndarray, x: int, y: int, width: int, height: int, *, align: int
) -> tuple[slice, slice, tuple[int, int, int, int]] | None:
    """The part of a layer at ``(x, y)`` that can change a ``width`` x ``height`` canvas.

    Around a speaker most of the picture-in-picture rectangle is sheet (alpha 0), and blending
    it is wasted work, so the layer is cut down to the box of visible pixels, then to the
    canvas. The box's edges are moved out to multiples of ``align`` where the layer allows (2
    keeps an I420 blend on the chroma grid, sparing it a padded copy). Returns the layer's
    ``(rows, cols)`` and their canvas box ``(x0, y0, x1, y1)``, or None if nothing shows.
    """
    # Below half an 8-bit step a pixel cannot change the rounded result. (numpy, not
    # cv2.compare, which fails on a one-pixel layer and is slower here.)
    bx, by, bw, bh = cv2.boundingRect((alpha > np.float32(0.5 / 255)).view(np.uint8))
    if bw == 0 or bh == 0:
        return None
    h, w = alpha.shape
    lx0, ly0 = bx - min((x + bx) % align, bx), by - min((y + by) % align, by)
    lx1, ly1 = bx + bw, by + bh
    lx1, ly1 = min(lx1 + (x + lx1) % align, w), min(ly1 + (y + ly1) % align, h)
    # The same box on the canvas, clipped to it.
    x0, y0 = max(x + lx0, 0), max(y + ly0, 0)
    x1, y1 = min(x + lx1, width), min(y + ly1, height)
    if x1 <= x0 or y1 <= y0:
        return None
    return slice(y0 - y, y1 - y), slice(x0 - x, x1 - x), (x0, y0, x1, y1)


def _blend_plane(roi: np.ndarray, fg: np.ndarray, alpha: np.ndarray, inverse: np.ndarray) -> None:
    """``roi = alpha * fg + inverse * roi`` (``inverse`` = 1 - alpha) for one uint8 image, in
    place: blendLinear writes straight into the canvas view, no copy of the rectangle."""
    cv2.blendLinear(fg, roi, alpha, inverse, dst=roi)
