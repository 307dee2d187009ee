"""Which recording shows the green sheet: a warning when speaker and screen look swapped.

Both are usually ``.mp4`` files and nothing on screen says which comes first, so giving them in
the wrong order is an easy mistake: the webcam then fills the picture and the screen recording
is "keyed" into a corner. The render notices it on the frames it decodes anyway: the "speaker"
shows almost no sheet colour, while the "screen" is mostly sheet-coloured.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import av
import cv2
import numpy as np

from greenscreen.key.screen_model import CHANNELS

T = TypeVar("T")

SPEAKER_SHEET_AT_MOST = 0.05
"""Share of the picture keyed as sheet below which a speaker recording shows no sheet ..."""
SCREEN_SHEET_AT_LEAST = 0.3
"""... and share of screen-coloured pixels above which a screen recording looks like one."""
FRAMES_LOOKED_AT = 30
"""Speaker frames looked at (the most sheet any of them shows counts): a speaker close to the
camera may hide the sheet for a moment."""
SCREEN_COLOURED = 25
"""Levels (0-255) by which the screen channel must exceed the other two for a sheet pixel."""


class BackdropWatch:
    """Taps the render's speaker and screen lanes and tells whether the two look swapped."""

    def __init__(self, screen: str = "green"):
        self.screen = screen
        self.speaker_sheet: float | None = None
        """The largest share of sheet-coloured pixels in the speaker's first frames."""
        self.screen_sheet: float | None = None
        """The share of sheet-coloured pixels in the screen recording's first frame."""

    def speaker_frames(self, frames: Iterator[tuple[float, np.ndarray]]) -> Iterator[tuple[float, np.ndarray]]:
        """``frames`` (the speaker's decoded ``(time, BGR frame)``), passed through."""
        for looked, item in enumerate(frames):
            if looked < FRAMES_LOOKED_AT:
                self.speaker_sheet = max(self.speaker_sheet or 0.0, sheet_share(item[1], self.screen))
            yield item

    def screen_frames(self, frames: Iterator[T]) -> Iterator[T]:
        """``frames`` (the screen lane's :class:`av.VideoFrame` or None per frame), passed through."""
        for item in frames:
            if self.screen_sheet is None and isinstance(item, av.VideoFrame):
                small = item.reformat(width=64, height=36, format="bgr24").to_ndarray()
                self.screen_sheet = sheet_share(small, self.screen)
            yield item

    def warning(self, speaker: Path, screen: Path) -> str | None:
        """A warning naming both files if they look swapped, else None."""
        if self.speaker_sheet is None or self.screen_sheet is None:
            return None
        if self.speaker_sheet <= SPEAKER_SHEET_AT_MOST and self.screen_sheet >= SCREEN_SHEET_AT_LEAST:
            return (
                f"{speaker.name} (given as the speaker) shows no {self.screen} sheet, and {screen.name} "
                f"(given as the screen recording) is mostly {self.screen}: are the two swapped? "
                "The speaker recording comes first: greenscreen render SPEAKER SCREEN -o OUT"
            )
        return None


def sheet_share(bgr: np.ndarray, screen: str = "green") -> float:
    """Share of a BGR uint8 picture's pixels clearly of the sheet's colour (looked at small)."""
    small = cv2.resize(bgr, (64, 36), interpolation=cv2.INTER_AREA) if bgr.shape[1] > 64 else bgr
    small = small.astype(np.int16)
    s, o1, o2 = CHANNELS[screen]
    lead = small[:, :, s] - np.maximum(small[:, :, o1], small[:, :, o2])
    return float(np.count_nonzero(lead > SCREEN_COLOURED) / lead.size)
