"""The frame contract, written down once.

* At every stage boundary a frame is a BGR ``uint8`` array of shape ``(H, W, 3)``.
* Key maths works on ``float32`` colour in ``[0, 1]``.
* An alpha matte is ``float32`` of shape ``(H, W)`` in ``[0, 1]``; 1 is the speaker, 0 the sheet.

All conversions between these live here.
"""

from __future__ import annotations

import cv2
import numpy as np


def check_bgr(frame: np.ndarray, *, name: str = "frame") -> None:
    """Raise ``ValueError`` unless ``frame`` is a BGR uint8 ``(H, W, 3)`` array."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(
            f"{name} must be a BGR uint8 array of shape (H, W, 3), got {frame.dtype} {frame.shape}"
        )


def to_float(frame: np.ndarray) -> np.ndarray:
    """Convert a uint8 image to float32 in ``[0, 1]`` (a new array)."""
    return frame.astype(np.float32) * np.float32(1.0 / 255.0)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Convert a float image in ``[0, 1]`` to uint8 with rounding and clipping."""
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)


def hex_to_bgr(color: str) -> tuple[int, int, int]:
    """Parse ``"#rrggbb"`` into a ``(b, g, r)`` tuple of ints."""
    text = color.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"colour must look like #rrggbb, got {color!r}")
    r, g, b = (int(text[i : i + 2], 16) for i in (0, 2, 4))
    return b, g, r


def bgr_to_hex(bgr: tuple[int, int, int] | np.ndarray) -> str:
    """Format a BGR colour as ``"#rrggbb"``."""
    b, g, r = (int(round(float(c))) for c in bgr)
    return f"#{r:02x}{g:02x}{b:02x}"


def to_rgba8(foreground: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Pack a BGR uint8 foreground and a float alpha in ``[0, 1]`` into BGRA uint8 (straight)."""
    check_bgr(foreground, name="foreground")
    a8 = to_uint8(alpha)
    return np.dstack([foreground, a8])


def cover(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to cover ``size`` = ``(w, h)`` and cut to it, centred (as CSS
    ``object-fit: cover``): a background picture of any shape fills the frame undistorted."""
    w, h = size
    scale = max(w / image.shape[1], h / image.shape[0])
    sw, sh = max(w, round(image.shape[1] * scale)), max(h, round(image.shape[0] * scale))
    scaled = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    x, y = (sw - w) // 2, (sh - h) // 2
    return np.ascontiguousarray(scaled[y : y + h, x : x + w])
