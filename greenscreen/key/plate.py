"""Clean plates: an image of the empty sheet, built from a short capture without the speaker."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from greenscreen.frames import check_bgr


def plate_from_frames(frames: Iterable[np.ndarray], *, max_frames: int = 60) -> np.ndarray:
    """Median of up to ``max_frames`` BGR uint8 frames of the empty sheet.

    The median removes webcam noise and compression flicker, and ignores a hand or a passing
    shadow seen in fewer than half the frames. Frames are taken evenly from the first
    ``max_frames`` given (at most that many are held in memory).

    Returns
    -------
    ndarray, BGR uint8 (H, W, 3) of the first frame's size.
    """
    stack: list[np.ndarray] = []
    for frame in frames:
        check_bgr(frame)
        if stack and frame.shape != stack[0].shape:
            raise ValueError(f"plate frames differ in size: {frame.shape} vs {stack[0].shape}")
        stack.append(frame)
        if len(stack) >= max_frames:
            break
    if not stack:
        raise ValueError("no frames to build a plate from")
    if len(stack) == 1:
        return stack[0].copy()
    return np.median(np.stack(stack), axis=0).round().astype(np.uint8)
