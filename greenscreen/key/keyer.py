"""The keyer: turns webcam frames of a speaker before a green sheet into foreground + alpha."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from greenscreen.frames import check_bgr, hex_to_bgr
from greenscreen.key.settings import KeySettings


@dataclass(frozen=True)
class KeyResult:
    """One keyed frame.

    ``foreground`` is BGR uint8 ``(H, W, 3)`` with spill removed (straight, not premultiplied);
    ``alpha`` is float32 ``(H, W)`` in ``[0, 1]``.
    """

    foreground: np.ndarray
    alpha: np.ndarray


class Keyer:
    """Keys a stream of frames of one recording.

    The keyer carries state from frame to frame (the measured backdrop colour), so one instance
    serves one recording, fed in display order through :meth:`key`.
    """

    def __init__(self, settings: KeySettings | None = None, *, plate: np.ndarray | None = None):
        self.settings = settings or KeySettings()
        self.plate = plate
        self._key_bgr: np.ndarray | None = None

    def reset(self) -> None:
        """Forget what was learnt from earlier frames (e.g. after seeking)."""
        self._key_bgr = None

    def key(self, frame: np.ndarray) -> KeyResult:
        """Key one BGR uint8 frame and return its despilled foreground and alpha."""
        check_bgr(frame)
        s = self.settings
        img = frame.astype(np.float32)
        key = self._key_colour(frame)
        # Colour difference: how much the screen channel exceeds the larger of the other two.
        # It ignores brightness, so folds keep the sign of the sheet.
        screen_ch, others = (1, (0, 2)) if s.screen == "green" else (0, (1, 2))
        diff = img[..., screen_ch] - np.maximum(img[..., others[0]], img[..., others[1]])
        key_diff = max(float(key[screen_ch] - max(key[others[0]], key[others[1]])), 8.0)
        ratio = diff / key_diff  # ~1 on the sheet, <= 0 on a neutral subject
        high = 1.0 - 0.5 * s.tolerance
        low = max(high - max(s.softness, 0.02), -1.0)
        alpha = np.clip((high - ratio) / (high - low), 0.0, 1.0)
        alpha = self._refine(alpha)
        fg = img
        if s.spill > 0:
            limit = np.maximum(img[..., others[0]], img[..., others[1]])
            excess = np.maximum(img[..., screen_ch] - limit, 0.0)
            fg = img.copy()
            fg[..., screen_ch] -= s.spill * excess
        return KeyResult(np.clip(fg + 0.5, 0, 255).astype(np.uint8), alpha.astype(np.float32))

    def _key_colour(self, frame: np.ndarray) -> np.ndarray:
        if self.settings.key_color != "auto":
            return np.array(hex_to_bgr(self.settings.key_color), np.float32)
        if self._key_bgr is None:
            border = np.concatenate(
                [frame[:4].reshape(-1, 3), frame[:, :4].reshape(-1, 3), frame[:, -4:].reshape(-1, 3)]
            )
            self._key_bgr = np.median(border, axis=0).astype(np.float32)
        return self._key_bgr

    def _refine(self, alpha: np.ndarray) -> np.ndarray:
        s = self.settings
        if s.choke:
            size = 2 * abs(s.choke) + 1
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
            op = cv2.erode if s.choke > 0 else cv2.dilate
            alpha = op(alpha, kernel)
        if s.feather > 0:
            alpha = cv2.GaussianBlur(alpha, (0, 0), s.feather)
        return alpha
