"""The picture-in-picture window's frame: a soft drop shadow and a fill under the keyed speaker,
a thin border over it, all following the window's rounded corners.

Everything is made once per window geometry: the masks, the blurred shadow, and their I420
planes. A frame then copies the fill's solid middle and blends only the strips around it (the
rounded corners, the shadow's rim, the border), in I420 like the speaker, so the cost does not
grow with the output size and stays small beside the speaker's own blend.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from greenscreen.composite.layout import LayoutSettings, Placement, rounded_rect
from greenscreen.frames import hex_to_bgr
from greenscreen.io.colour import Matrix, bgr_to_i420
from greenscreen.io.yuv import Planes, i420_planes

Box = tuple[int, int, int, int]


class Window:
    """The frame of a rounded picture-in-picture window at ``placement`` (whose ``shape`` is the
    window's rounded mask) in an ``output`` of ``(W, H)``, styled by ``layout``, for frames in
    the YUV ``matrix``."""

    def __init__(
        self, placement: Placement, layout: LayoutSettings, output: tuple[int, int], matrix: Matrix = "bt601"
    ):
        x, y, w, h = placement.x, placement.y, placement.width, placement.height
        mask = placement.shape if placement.shape is not None else np.ones((h, w), np.float32)
        radius = math.ceil(min(layout.radius * h, w / 2, h / 2)) + 1
        # Shadow size scales with the output, so it looks the same at 720p and at 1080p.
        sigma = max(1.0, 0.012 * output[1])
        drop = max(1, round(sigma / 2))
        pad = int(np.ceil(3 * sigma)) + drop
        big = (h + 2 * pad, w + 2 * pad)
        fill = np.zeros(big, np.float32)
        fill[pad : pad + h, pad : pad + w] = mask
        shadow = np.zeros(big, np.float32)
        if layout.shadow > 0:
            shadow[pad + drop : pad + drop + h, pad : pad + w] = mask
            shadow = cv2.GaussianBlur(shadow, (0, 0), sigma) * np.float32(layout.shadow)
        # Fill over shadow (black): the colour is the fill's where it covers, black elsewhere.
        alpha = fill + shadow * (1.0 - fill)
        colour = np.array(hex_to_bgr(layout.window_color), np.float32)
        share = np.divide(fill, alpha, out=np.zeros_like(fill), where=alpha > 0)
        under = np.clip(share[..., None] * colour + 0.5, 0, 255).astype(np.uint8)
        # Solid fill (alpha 1) between the rounded corners, full width.
        solid = (x, y + radius, w, h - 2 * radius)
        self._under = _Layer(under, alpha, (x - pad, y - pad), output, matrix, solid, opaque=True)
        self._over: _Layer | None = None
        b = min(layout.border, w // 2, h // 2)
        if b > 0:
            inner = np.zeros((h, w), np.float32)
            inner[b : h - b, b : w - b] = rounded_rect(w - 2 * b, h - 2 * b, max(layout.radius * h - b, 0.0))
            ring = np.clip(mask - inner, 0.0, 1.0).astype(np.float32)
            border = np.empty((h, w, 3), np.uint8)
            border[:] = hex_to_bgr(layout.border_color)
            # Nothing to draw inside the border, between its rounded corners.
            hole = (x + b + 1, y + b + radius, w - 2 * b - 2, h - 2 * b - 2 * radius)
            self._over = _Layer(border, ring, (x, y), output, matrix, hole, opaque=False)

    def draw_under(self, out: Planes) -> None:
        """The shadow and the fill, before the speaker is blended in."""
        self._under.draw(out)

    def draw_over(self, out: Planes) -> None:
        """The border, over the speaker."""
        if self._over is not None:
            self._over.draw(out)


class _Layer:
    """A fixed overlay made once: the I420 planes and alpha of a BGR picture placed at ``at`` on
    an ``output``, on the 2x2 chroma grid and clipped to the frame. ``middle`` is a box of the
    output inside which the overlay is opaque (``opaque``: copied there) or transparent
    (skipped); only the strips around it are blended."""

    def __init__(
        self, bgr: np.ndarray, alpha: np.ndarray, at: tuple[int, int], output: tuple[int, int], matrix: Matrix,
        middle: Box, *, opaque: bool,
    ):
        h, w = alpha.shape
        x0, y0 = at[0] - at[0] % 2, at[1] - at[1] % 2  # out to the chroma grid, and the frame
        x1, y1 = at[0] + w + (at[0] + w) % 2, at[1] + h + (at[1] + h) % 2
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, output[0]), min(y1, output[1])
        self.box = (cx0, cy0, cx1, cy1)
        if cx1 <= cx0 or cy1 <= cy0:
            self._strips: list[tuple[Box, Planes, tuple[np.ndarray, ...]]] = []
            self._middle = None
            return
        picture = np.zeros((cy1 - cy0, cx1 - cx0, 3), np.uint8)
        a = np.zeros((cy1 - cy0, cx1 - cx0), np.float32)
        # The part of the layer on the frame, at its place in the grown box.
        lx0, ly0 = cx0 - at[0], cy0 - at[1]
        lx1, ly1 = min(w, cx1 - at[0]), min(h, cy1 - at[1])
        sx, sy = max(-lx0, 0), max(-ly0, 0)
        lx0, ly0 = max(lx0, 0), max(ly0, 0)
        picture[sy : sy + ly1 - ly0, sx : sx + lx1 - lx0] = bgr[ly0:ly1, lx0:lx1]
        a[sy : sy + ly1 - ly0, sx : sx + lx1 - lx0] = alpha[ly0:ly1, lx0:lx1]
        planes = i420_planes(bgr_to_i420(picture, matrix))
        # The middle, shrunk onto the chroma grid and into the box; the strips around it.
        mx, my, mw, mh = middle
        m0 = (max(mx + mx % 2, cx0), max(my + my % 2, cy0))
        m1 = (min((mx + mw) // 2 * 2, cx1), min((my + mh) // 2 * 2, cy1))
        if m1[0] <= m0[0] or m1[1] <= m0[1]:
            m0 = m1 = (cx0, cy0)
        strips = [
            (cx0, cy0, cx1, m0[1]), (cx0, m1[1], cx1, cy1),  # above and below the middle
            (cx0, m0[1], m0[0], m1[1]), (m1[0], m0[1], cx1, m1[1]),  # left and right of it
        ]
        self._strips = []
        for sx0, sy0, sx1, sy1 in strips:
            if sx1 <= sx0 or sy1 <= sy0:
                continue
            part = self._cut(planes, a, (sx0, sy0, sx1, sy1))
            if part[1][0].max() > 0:
                self._strips.append(((sx0, sy0, sx1, sy1), *part))  # type: ignore[arg-type]
        self._middle = None
        if opaque and m1 != m0:
            self._middle = ((*m0, *m1), self._cut(planes, a, (*m0, *m1))[0])

    def _cut(self, planes: Planes, alpha: np.ndarray, box: Box) -> tuple[Planes, tuple[np.ndarray, ...]]:
        """The planes and weights of ``box`` (x0, y0, x1, y1 on the output, even) of this layer."""
        bx0, by0 = self.box[:2]
        x0, y0, x1, y1 = box[0] - bx0, box[1] - by0, box[2] - bx0, box[3] - by0
        a = np.ascontiguousarray(alpha[y0:y1, x0:x1])
        a_c = np.ascontiguousarray(a[::2, ::2])  # chroma at the top-left pixel, as blend_over_i420
        part = tuple(
            np.ascontiguousarray(p[y0 // s : y1 // s, x0 // s : x1 // s]) for s, p in zip((1, 2, 2), planes)
        )
        return part, (a, 1.0 - a, a_c, 1.0 - a_c)  # type: ignore[return-value]

    def draw(self, out: Planes) -> None:
        """Draw onto the output's I420 planes ``out``, in place."""
        if self._middle is not None:
            (x0, y0, x1, y1), planes = self._middle
            for s, dst, src in zip((1, 2, 2), out, planes):
                dst[y0 // s : y1 // s, x0 // s : x1 // s] = src
        for (x0, y0, x1, y1), planes, (a, inv, a_c, inv_c) in self._strips:
            for s, dst, src in zip((1, 2, 2), out, planes):
                roi = dst[y0 // s : y1 // s, x0 // s : x1 // s]
                weight, rest = (a, inv) if s == 1 else (a_c, inv_c)
                cv2.blendLinear(src, roi, weight, rest, dst=roi)
