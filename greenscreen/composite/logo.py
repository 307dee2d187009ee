"""A logo in the top-right corner of the tutorial (top-left when the speaker sits there).

The logo (any image; a PNG's transparency is kept) is scaled once to 8 % of the picture's
height (at most a quarter of its width) and blended on top of everything, a little
translucent, as broadcasters show theirs.
"""

from __future__ import annotations

import cv2
import numpy as np

from greenscreen.composite.blend import blend_over_i420
from greenscreen.io.colour import Matrix
from greenscreen.io.yuv import Planes

HEIGHT_SHARE = 0.08
OPACITY = 0.85


def fit_image(bgr: np.ndarray, alpha: np.ndarray, box: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """An image with its alpha scaled to fit ``box`` = ``(w, h)``, keeping its shape (the logo
    in a corner, or above a card's title)."""
    h, w = bgr.shape[:2]
    scale = min(box[0] / w, box[1] / h)
    size = (max(round(w * scale), 1), max(round(h * scale), 1))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(bgr, size, interpolation=interpolation), cv2.resize(alpha, size, interpolation=interpolation)


class Logo:
    """``bgr`` and ``alpha`` of the logo image, placed on an ``output`` picture;
    ``speaker_top_right`` says the speaker's window takes the usual corner."""

    def __init__(self, bgr: np.ndarray, alpha: np.ndarray, output: tuple[int, int], *, speaker_top_right: bool):
        width, height = output
        self.bgr, alpha = fit_image(bgr, alpha, (max(width // 4, 1), max(round(height * HEIGHT_SHARE), 2)))
        self.alpha = alpha * np.float32(OPACITY)
        w = self.bgr.shape[1]
        margin = round(height * 0.03)
        self.x = margin if speaker_top_right else width - margin - w
        self.y = margin

    def draw_i420(self, planes: Planes, matrix: Matrix) -> None:
        """Blend the logo onto I420 planes."""
        blend_over_i420(planes, self.bgr, self.alpha, x=self.x, y=self.y, matrix=matrix)
