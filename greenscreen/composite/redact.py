"""Redaction: parts of the screen recording made unreadable for a while (an e-mail address, a
colleague's name that flashed up).

A redaction is a rectangle in the screen recording's own pixels with a time range on its clock.
It is mapped onto the output (through the screen's scaling and its place in the layout) and
applied to the screen picture before the speaker is blended on top, so the speaker is never
blurred. The area is shrunk to a coarse grid and smoothly enlarged again: no letter survives,
and unlike a blocky mosaic there are no sharp block edges for the eye (or a sharpening filter)
to work with.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from greenscreen.errors import SettingsError
from greenscreen.io.yuv import Planes
from greenscreen.settings import parse_clock

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Redaction:
    """``(x, y, width, height)`` of the screen recording, hidden from ``start`` to ``end`` seconds."""

    x: int
    y: int
    width: int
    height: int
    start: float = 0.0
    end: float = math.inf

    @classmethod
    def parse(cls, text: str) -> Redaction:
        """``"X,Y,W,H"`` (the whole clip) or ``"X,Y,W,H@START-END"`` (seconds or 1:20.5)."""
        box_text, at, times = text.strip().partition("@")
        numbers = re.fullmatch(r"\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*", box_text)
        if numbers is None:
            raise SettingsError(f"redaction '{text}' must be X,Y,WIDTH,HEIGHT in pixels, optionally @START-END")
        x, y, w, h = (int(n) for n in numbers.groups())
        if w == 0 or h == 0:
            raise SettingsError(f"redaction '{text}' is empty (width and height must be above 0)")
        start, end = 0.0, math.inf
        if at:
            a, dash, b = times.partition("-")
            start_value, end_value = parse_clock(a), parse_clock(b)
            if not dash or start_value is None or end_value is None or end_value <= start_value:
                raise SettingsError(f"redaction '{text}': the time must be START-END with the end after the start")
            start, end = start_value, end_value
        return cls(x, y, w, h, start, end)


class Redactor:
    """The redactions of one render, mapped onto the output picture.

    ``source`` is the screen recording's size ``(w, h)``; ``area`` where its picture lands on the
    output, ``(x, y, w, h)``.
    """

    def __init__(self, redactions: Sequence[Redaction], source: tuple[int, int], area: Box):
        sx, sy = area[2] / source[0], area[3] / source[1]
        self._boxes: list[tuple[Redaction, Box]] = []
        for r in redactions:
            x0, y0 = area[0] + math.floor(r.x * sx), area[1] + math.floor(r.y * sy)
            x1 = area[0] + min(math.ceil((r.x + r.width) * sx), area[2])
            y1 = area[1] + min(math.ceil((r.y + r.height) * sy), area[3])
            if x1 > x0 and y1 > y0:  # a box wholly outside the recording hides nothing
                self._boxes.append((r, (x0, y0, x1 - x0, y1 - y0)))
        self._block = max(8, round(area[3] / 45))

    def __bool__(self) -> bool:
        return bool(self._boxes)

    def active(self, t: float | None) -> list[Box]:
        """Output boxes to hide at source time ``t`` (all of them for None: a still)."""
        return [box for r, box in self._boxes if t is None or r.start <= t < r.end]

    def apply_i420(self, planes: Planes, t: float | None) -> None:
        """Hide the boxes active at ``t`` in I420 planes, in place (chroma at half size)."""
        for x, y, w, h in self.active(t):
            x0, y0, x1, y1 = x - x % 2, y - y % 2, x + w + (x + w) % 2, y + h + (y + h) % 2
            _obscure(planes[0][y0:y1, x0:x1], self._block)
            for chroma in planes[1:]:
                _obscure(chroma[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2], max(self._block // 2, 2))


def _obscure(region: np.ndarray, block: int) -> None:
    """Shrink ``region`` to a grid of ``block``-pixel cells and enlarge it smoothly, in place."""
    h, w = region.shape[:2]
    if h == 0 or w == 0:
        return
    small = cv2.resize(region, (max(1, round(w / block)), max(1, round(h / block))), interpolation=cv2.INTER_AREA)
    region[...] = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR).reshape(region.shape)
