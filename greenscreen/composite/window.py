"""The picture-in-picture window's frame: a soft drop shadow and a fill under the keyed speaker,
a thin border over it, all following the window's rounded corners.

Everything is made once per window geometry (the masks, the blurred shadow); a frame then costs
two blends inside the window's rectangle (and the shadow's few pixels around it), in I420 like
the speaker, so the cost does not grow with the output size.
"""

from __future__ import annotations

import cv2
import numpy as np

from greenscreen.composite.blend import blend_over_i420
from greenscreen.composite.layout import LayoutSettings, Placement, rounded_rect
from greenscreen.frames import hex_to_bgr
from greenscreen.io.colour import Matrix
from greenscreen.io.yuv import Planes


class Window:
    """The frame of a rounded picture-in-picture window at ``placement`` (whose ``shape`` is the
    window's rounded mask) in an ``output`` of ``(W, H)``, styled by ``layout``."""

    def __init__(self, placement: Placement, layout: LayoutSettings, output: tuple[int, int]):
        w, h = placement.width, placement.height
        mask = placement.shape if placement.shape is not None else np.ones((h, w), np.float32)
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
        self._under = (np.clip(share[..., None] * colour + 0.5, 0, 255).astype(np.uint8), alpha.astype(np.float32),
                       placement.x - pad, placement.y - pad)
        self._over = None
        b = min(layout.border, w // 2, h // 2)
        if b > 0:
            radius = layout.radius * h
            inner = np.zeros((h, w), np.float32)
            inner[b : h - b, b : w - b] = rounded_rect(w - 2 * b, h - 2 * b, max(radius - b, 0.0))
            ring = np.clip(mask - inner, 0.0, 1.0).astype(np.float32)
            border = np.empty((h, w, 3), np.uint8)
            border[:] = hex_to_bgr(layout.border_color)
            self._over = (border, ring, placement.x, placement.y)

    def draw_under(self, out: Planes, matrix: Matrix) -> None:
        """The shadow and the fill, before the speaker is blended in."""
        fg, alpha, x, y = self._under
        blend_over_i420(out, fg, alpha, x=x, y=y, matrix=matrix)

    def draw_over(self, out: Planes, matrix: Matrix) -> None:
        """The border, over the speaker."""
        if self._over is not None:
            fg, alpha, x, y = self._over
            blend_over_i420(out, fg, alpha, x=x, y=y, matrix=matrix)
