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


class Logo:
    """``bgr`` and ``alpha`` of the logo image, placed on an ``output`` picture;
    ``speaker_top_right`` says the speaker's window takes the usual corner."""

    def __init__(self, bgr: np.ndarray, alpha: np.ndarray, output: tuple[int, int], *, speaker_top_right: bool):
        width, height = output
        h = max(round(height * HEIGHT_SHARE), 2)
        w = max(round(bgr.shape[1] * h / bgr.shape[0]), 1)
        if w > width // 4:
            w = max(width // 4, 1)
            h = max(round(bgr.shape[0] * w / bgr.shape[1]), 1)
        interpolation = cv2.INTER_AREA if h < bgr.shape[0] else cv2.INTER_LINEAR
        self.bgr = cv2.resize(bgr, (w, h), interpolation=interpolation)
        self.alpha = cv2.resize(alpha, (w, h), interpolation=interpolation) * np.float32(OPACITY)
        margin = round(height * 0.03)
        self.x = margin if speaker_top_right else width - margin - w
        self.y = margin

    def draw_i420(self, planes: Planes, matrix: Matrix) -> None:
        """Blend the logo onto I420 planes."""
        blend_over_i420(planes, self.bgr, self.alpha, x=self.x, y=self.y, matrix=matrix)
