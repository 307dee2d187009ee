"""Which recording shows the green sheet: warnings when speaker and screen look swapped, when
the sheet is of the other colour than the backdrop set, and when a clean plate is not one.

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
import numpy as np

from greenscreen.io.prefetch import close_source
from greenscreen.key.screen_model import CHANNELS

T = TypeVar("T")

SPEAKER_SHEET_AT_MOST = 0.05
"""Share of sheet-coloured pixels below which a speaker recording shows no sheet ..."""
SCREEN_SHEET_AT_LEAST = 0.3
"""... and share of screen-coloured pixels above which a screen recording looks like one."""
FRAMES_LOOKED_AT = 30
"""Speaker frames looked at (the most sheet any of them shows counts): a speaker close to the
camera may hide the sheet for a moment."""
SHEET_LEAD = 0.15
"""A sheet pixel's screen channel exceeds the larger other one by this fraction of itself (a
dim sheet in a dark room is as much a sheet as a lit one) ...
"""
SHEET_LEAD_LEVELS = 8
"""... and by at least this many levels (0-255), above sensor noise on black."""


class BackdropWatch:
    """Taps the render's speaker and screen lanes and tells whether the two look swapped."""

    def __init__(self, screen: str = "green"):
        self.screen = screen
        self.other = "blue" if screen == "green" else "green"
        """The other backdrop colour (a sheet of it means the wrong backdrop was set)."""
        self.speaker_sheet: float | None = None
        """The largest share of sheet-coloured pixels in the speaker's first frames."""
        self.speaker_other: float | None = None
        """The largest share of pixels of the other backdrop colour in the same frames."""
        self.screen_sheet: float | None = None
        """The share of sheet-coloured pixels in the screen recording's first frame."""

    def speaker_frames(self, frames: Iterator[tuple[float, np.ndarray]]) -> Iterator[tuple[float, np.ndarray]]:
        """``frames`` (the speaker's decoded ``(time, BGR frame)``), passed through; closing
        this closes ``frames`` (its decoder)."""
        try:
            for looked, item in enumerate(frames):
                if looked < FRAMES_LOOKED_AT:
                    self.speaker_sheet = max(self.speaker_sheet or 0.0, sheet_share(item[1], self.screen))
                    self.speaker_other = max(self.speaker_other or 0.0, sheet_share(item[1], self.other))
                yield item
        finally:
            close_source(frames)

    def screen_frames(self, frames: Iterator[T]) -> Iterator[T]:
        """``frames`` (the screen lane's :class:`av.VideoFrame` or None per frame), passed
        through; closing this closes ``frames``."""
        try:
            for item in frames:
                if self.screen_sheet is None and isinstance(item, av.VideoFrame):
                    small = item.reformat(width=64, height=36, format="bgr24").to_ndarray()
                    self.screen_sheet = sheet_share(small, self.screen)
                yield item
        finally:
            close_source(frames)

    def warning(self, speaker: Path, screen: Path) -> str | None:
        """A warning naming the files if they look swapped, or if the speaker's sheet is of the
        other colour than the backdrop set (a blue-screen preset on a green sheet keys the
        speaker away rather than the sheet); else None."""
        if self.speaker_sheet is None or self.speaker_sheet > SPEAKER_SHEET_AT_MOST:
            return None
        if (self.speaker_other or 0.0) >= SCREEN_SHEET_AT_LEAST:
            return (
                f"{speaker.name} shows a {self.other} sheet, but the backdrop is set to {self.screen} "
                f"(--backdrop or a preset): render with --backdrop {self.other}"
            )
        if self.screen_sheet is not None and self.screen_sheet >= SCREEN_SHEET_AT_LEAST:
            return (
                f"{speaker.name} (given as the speaker) shows no {self.screen} sheet, and {screen.name} "
                f"(given as the screen recording) is mostly {self.screen}: are the two swapped? "
                "The speaker recording comes first: greenscreen render SPEAKER SCREEN -o OUT"
            )
        return None


def sheet_share(bgr: np.ndarray, screen: str = "green") -> float:
    """Share of a BGR uint8 picture's pixels clearly of the sheet's colour (looked at small).

    Relative to the pixel's brightness, unlike ``check``'s fixed margin (which judges how good
    a sheet is): here a dim sheet in a dark room must count as a sheet all the same."""
    # Every n-th pixel, about 64 across: a share needs no filtering, and an area resize at
    # these odd ratios cost 8 M instructions a frame (0.1 s of every render's start).
    h, w = bgr.shape[:2]
    small = bgr[:: max(1, h // 36), :: max(1, w // 64)].astype(np.int16)
    s, o1, o2 = CHANNELS[screen]
    lead = small[:, :, s] - np.maximum(small[:, :, o1], small[:, :, o2])
    sheet = (lead > SHEET_LEAD_LEVELS) & (lead > SHEET_LEAD * small[:, :, s])
    return float(np.count_nonzero(sheet) / lead.size)


PLATE_SHEET_AT_LEAST = 0.5
"""Share of sheet-coloured pixels a clean plate (the empty sheet) shows at least; below it the
plate is more likely another file (the screen recording) ..."""
PLATE_MIDDLE_AT_LEAST = 0.85
"""... and the share in its middle (where the speaker stands; a room's corners may show at the
edges), below which something stands in front of the sheet: most likely the speaker (the
speaker recording given as its own plate)."""


def plate_warning(plate: np.ndarray, path: Path, screen: str = "green") -> str | None:
    """A warning naming ``path`` if the plate image ``plate`` (BGR) does not look like the
    empty sheet. The keyer takes a plate for the sheet behind the speaker: a plate with the
    speaker in it keys the speaker away where they stood, and one of something else spoils
    the key."""
    h, w = plate.shape[:2]
    whole = sheet_share(plate, screen)
    middle = sheet_share(plate[h // 5 : max(h * 4 // 5, 1), w // 4 : max(w * 3 // 4, 1)], screen)
    if whole < PLATE_SHEET_AT_LEAST:
        what = f"is only {whole:.0%} {screen} sheet"
    elif middle < PLATE_MIDDLE_AT_LEAST:
        what = f"shows something in front of the sheet ({1 - middle:.0%} of its middle: is the speaker in it?)"
    else:
        return None
    return (
        f"the plate {path.name} {what}. A plate is a few seconds of the empty sheet, and one with "
        "the speaker (or anything else) in it spoils the key: leave --plate out if this is not one"
    )

