"""Captions burned into the picture: readable, on a backing box, never under the speaker.

The style follows common subtitle guidelines (EBU, Netflix): at most two lines of about 42
characters, a font about 1/20 of the picture's height, white on a dark translucent box, centred
near the bottom. A longer cue is rewrapped and shown two lines at a time, its time shared out
between them, as a subtitler would split it; cues that overlap (two speakers) take a line each.
Where the speaker's window covers that place, the captions move beside it, or to the top of the
picture when there is not room beside it. Markup (``<i>``, ``&amp;``) is not drawn: the cue's plain text is.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING

from greenscreen.composite.blend import blend_over_i420
from greenscreen.io.captions import Cue
from greenscreen.io.colour import Matrix
from greenscreen.io.yuv import Planes
from greenscreen.text import TextLayer, font, render_lines, wrap

if TYPE_CHECKING:
    from PIL import ImageFont

MAX_CHARS = 42
MAX_LINES = 2
BRIEF_OVERLAP = 0.5
"""Seconds a cue may run into the next and still give way to it (not shown beside it)."""
BOX = (16, 16, 16, 0.72)
"""Backing box: BGR and opacity."""

Box = tuple[int, int, int, int]


def _free_spans(width: int, band: tuple[int, int], avoid: Box | None) -> list[tuple[int, int]]:
    """Horizontal stretches of a band of rows ``band = (y0, y1)`` that ``avoid`` leaves free."""
    if avoid is None:
        return [(0, width)]
    x, y, w, h = avoid
    if y >= band[1] or y + h <= band[0]:
        return [(0, width)]
    return [(a, b) for a, b in ((0, max(x, 0)), (min(x + w, width), width)) if b > a]


class CaptionBurner:
    """Draws the cue shown at each output time onto the output's I420 planes.

    ``avoid`` is the speaker's window ``(x, y, w, h)`` in the output (None: nothing to avoid);
    ``size`` the font size as a share of the picture's height (0.05: 54 px at 1080p).
    Each cue is set once and kept, so a frame costs one small blend while a cue shows.
    """

    def __init__(
        self, cues: Sequence[Cue], output: tuple[int, int], *, avoid: Box | None, matrix: Matrix,
        size: float = 0.05,
    ):
        self._cues = sorted(cues, key=lambda cue: cue.start)
        self._starts = [cue.start for cue in self._cues]
        self._width, self._height = output
        self._matrix = matrix
        self._size = max(round(self._height * size), 10)
        self._margin = max(round(self._height * 0.04), 4)
        self._padding = max(round(self._size * 0.3), 2)
        self._top, self._span = self._place(avoid)
        self._per_page = _lines_per_page(self._cues)
        # Only the cues and the layer on screen are kept set: a layer is about a megabyte at
        # 1080p, and a long tutorial has hundreds of cues (memory must not grow with its length).
        self._paged: dict[int, tuple[list[list[str]], float]] = {}
        self._shown: tuple[tuple[tuple[int, int], ...], tuple[TextLayer, int, int]] | None = None
        self._first = 0
        """Cues before this one have ended (time only moves forward in a render)."""
        self._last_t = float("-inf")

    def _place(self, avoid: Box | None) -> tuple[bool, tuple[int, int]]:
        """Whether captions go at the top, and the horizontal span they are centred in."""
        face = font(self._size)
        ascent, descent = face.getmetrics()
        block = round((ascent + descent) * 1.25) * MAX_LINES + 2 * self._padding
        h, m = self._height, self._margin
        for top, band in ((False, (h - m - block, h - m)), (True, (m, m + block))):
            spans = _free_spans(self._width, band, avoid)
            widest = max(spans, key=lambda s: s[1] - s[0], default=None)
            if widest is not None and widest[1] - widest[0] >= self._width // 2:
                return top, widest
        return False, (0, self._width)  # the speaker fills the picture: bottom, over them

    def _pages(self, index: int) -> tuple[list[list[str]], float]:
        """Cue ``index`` rewrapped (its own line breaks would make three lines of a long cue),
        its lines per page to a page, and the font scale they are set in."""
        text = " ".join(self._cues[index].plain.split())
        room = self._span[1] - self._span[0] - 2 * self._margin - 2 * self._padding
        per_page = self._per_page[index]
        # Shrink the font a little where that saves a page; where it does not, full size.
        for scale in (1.0, 0.85, 0.7, 1.0):
            lines = wrap(text, font(round(self._size * scale)), room, max_chars=MAX_CHARS)
            if len(lines) <= per_page:
                break
        return [lines[i : i + per_page] for i in range(0, len(lines), per_page)], scale

    def _layer(self, lines: list[str], face: ImageFont.FreeTypeFont) -> tuple[TextLayer, int, int]:
        layer = render_lines(lines, face, box=BOX, padding=self._padding)
        w, h = layer.size
        x = self._span[0] + (self._span[1] - self._span[0] - w) // 2
        y = self._margin if self._top else self._height - self._margin - h
        return layer, x, y

    def draw(self, t: float, planes: Planes) -> bool:
        """Draw the cues shown at ``t`` seconds onto ``planes``; True if there were any."""
        if t < self._last_t:
            self._first = 0
        self._last_t = t
        while self._first < len(self._cues) and self._cues[self._first].end <= t:
            self._first += 1
        # Cues may overlap: every cue that has started and not ended is shown, stacked.
        started = bisect_right(self._starts, t)
        on = [i for i in range(self._first, started) if self._cues[i].end > t]
        # A cue that runs only briefly into the next (speech-to-text tools write them) gives
        # way to it at once rather than crowd it.
        key = [i for n, i in enumerate(on)
               if not any(self._cues[i].end - self._cues[j].start < BRIEF_OVERLAP for j in on[n + 1 :])]
        if not key:
            return False
        # Each cue turns its own pages over its own time, whatever else is on screen.
        shown = []
        for i in key:
            if i not in self._paged:
                self._paged[i] = self._pages(i)
            pages, _ = self._paged[i]
            cue = self._cues[i]
            shown.append((i, min(int((t - cue.start) / max(cue.end - cue.start, 1e-9) * len(pages)), len(pages) - 1)))
        for gone in [i for i in self._paged if i not in key]:
            del self._paged[gone]
        if self._shown is None or self._shown[0] != tuple(shown):
            lines = [line for i, page in shown for line in self._paged[i][0][page]]
            face = font(round(self._size * min(self._paged[i][1] for i in key)))
            self._shown = (tuple(shown), self._layer(lines, face))
        layer, x, y = self._shown[1]
        blend_over_i420(planes, layer.bgr, layer.alpha, x=x, y=y, matrix=self._matrix)
        return True


def _lines_per_page(cues: Sequence[Cue]) -> list[int]:
    """Lines a page of each cue (sorted by start) may take: :data:`MAX_LINES`, or one for a
    cue that another overlaps for :data:`BRIEF_OVERLAP` or longer, so two speakers at once
    still take two lines between them."""
    per_page = [MAX_LINES] * len(cues)
    on: list[tuple[float, int]] = []  # (end, index) of the cues still showing
    for i, cue in enumerate(cues):
        on = [(end, j) for end, j in on if end - cue.start >= BRIEF_OVERLAP]
        if on:
            per_page[i] = 1
            for _, j in on:
                per_page[j] = 1
        on.append((cue.end, i))
    return per_page
