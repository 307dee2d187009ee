"""Lower thirds: a name and a role shown for a while at the bottom of the picture, on a box,
fading in and out, on the side away from the speaker's window.

Times are on the screen recording's clock, like cuts, chapters and redactions. A lower third
without times introduces the speaker: it shows for :data:`INTRO_SECONDS` once the speaker first
appears in a picture-in-picture window (see :func:`timed`). The text is set once per lower third
(with the package's font, :mod:`greenscreen.text`) and blended on top of everything else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from greenscreen.composite.blend import blend_over, blend_over_i420
from greenscreen.errors import SettingsError
from greenscreen.io.colour import Matrix
from greenscreen.io.yuv import Planes
from greenscreen.settings import parse_clock

FADE_SECONDS = 0.3
BOX = (60, 40, 20, 0.78)
"""BGR and opacity of the box behind the text."""
ACCENT = (0, 165, 255)
"""BGR of the bar at the box's left edge."""
INTRO_DELAY = 1.0
"""Seconds after the speaker's first picture-in-picture frame that an untimed lower third comes
(after the move into the window has settled)."""
INTRO_SECONDS = 5.0
"""How long an untimed lower third shows."""


@dataclass(frozen=True)
class LowerThird:
    """``name`` (and an optional ``role`` under it) shown from ``start`` to ``end`` seconds;
    without times it introduces the speaker (see :func:`timed`)."""

    name: str
    role: str
    start: float | None = None
    end: float | None = None

    @classmethod
    def parse(cls, text: str) -> LowerThird:
        """``"Maria Muster|IT-Service@0:02-0:08"``; the role and its ``|`` may be left out, and
        so may ``@START-END`` (then it introduces the speaker)."""
        words, at, times = text.rpartition("@") if "@" in text else (text, "", "")
        name, _, role = words.partition("|")
        usage = f"lower third '{text}' must be NAME|ROLE or NAME|ROLE@START-END, e.g. 'Maria Muster|IT-Service@0:02-0:08'"
        if not name.strip():
            raise SettingsError(usage)
        if not at:
            return cls(name.strip(), role.strip())
        a, dash, b = times.partition("-")
        start, end = parse_clock(a), parse_clock(b)
        if not dash or start is None or end is None:
            raise SettingsError(usage)
        if end <= start:
            raise SettingsError(f"lower third '{text}' ends before it starts")
        return cls(name.strip(), role.strip(), start, end)


def timed(items: Sequence[LowerThird], introduced: tuple[float, float]) -> list[LowerThird]:
    """``items`` with the untimed ones placed in ``introduced``, the stretch in which the speaker
    first shows in a window (see :meth:`~greenscreen.plan.Plan.speaker_introduced`): from
    :data:`INTRO_DELAY` in (less in a short stretch) for :data:`INTRO_SECONDS`, ending with the
    stretch at the latest."""
    first, last = introduced
    start = first + min(INTRO_DELAY, (last - first) / 4)
    end = min(start + INTRO_SECONDS, last)
    return [item if item.start is not None else LowerThird(item.name, item.role, start, end) for item in items]


class LowerThirds:
    """Sets the lower thirds of one render and draws the one shown at a time.

    ``output`` is the picture's size; ``speaker_left`` whether the speaker's window sits on the
    left half (the lower third then goes right).
    """

    def __init__(self, items: Sequence[LowerThird], output: tuple[int, int], *, speaker_left: bool):
        from greenscreen.text import ellipsized, font, render_lines  # Pillow only when there is text

        width, height = output
        self._items = list(items)
        self._layers = []
        pad = max(round(height * 0.02), 2)
        # At most half the picture wide: a name that long is cut short with "…", not run off it.
        room = width * 0.5
        name_face, role_face = font(round(height * 0.045), bold=True), font(round(height * 0.032))
        for item in self._items:
            name = render_lines([ellipsized(item.name, name_face, room)], name_face)
            role = render_lines([ellipsized(item.role, role_face, room)], role_face) if item.role else None
            parts = [name] + ([role] if role is not None else [])
            bar = max(round(height * 0.008), 2)
            w = max(p.size[0] for p in parts) + 2 * pad + bar
            h = sum(p.size[1] for p in parts) + 2 * pad
            bgr = np.empty((h, w, 3), np.uint8)
            bgr[...] = BOX[:3]
            bgr[:, :bar] = ACCENT
            alpha = np.full((h, w), BOX[3], np.float32)
            alpha[:, :bar] = 1.0
            y = pad
            for part in parts:
                blend_over(bgr, part.bgr, part.alpha, x=bar + pad, y=y)
                # The text is opaque where it is drawn: coverage adds to the box's.
                region = alpha[y : y + part.size[1], bar + pad : bar + pad + part.size[0]]
                region += (1.0 - region) * part.alpha
                y += part.size[1]
            margin = round(height * 0.05)
            x = width - margin - w if speaker_left else margin
            top = round(height * 0.8) - h  # above the band burned captions use
            self._layers.append((bgr, alpha, max(x, 0), max(top, 0)))

    def __bool__(self) -> bool:
        return bool(self._items)

    def _shown(self, t: float | None) -> list[tuple[np.ndarray, np.ndarray, int, int]]:
        if t is None:
            return []
        shown = []
        for item, (bgr, alpha, x, y) in zip(self._items, self._layers):
            if item.start is not None and item.end is not None and item.start <= t < item.end:
                level = min(1.0, (t - item.start) / FADE_SECONDS, (item.end - t) / FADE_SECONDS)
                # Scaled only while fading: a fully shown lower third blends its own alpha.
                shown.append((bgr, alpha if level >= 1.0 else alpha * np.float32(max(level, 0.0)), x, y))
        return shown

    def draw_i420(self, planes: Planes, t: float | None, matrix: Matrix) -> None:
        """Draw what shows at screen time ``t`` onto I420 planes."""
        for bgr, alpha, x, y in self._shown(t):
            blend_over_i420(planes, bgr, alpha, x=x, y=y, matrix=matrix)


def never_shown(items: Sequence[LowerThird], shown: Callable[[float, float], bool]) -> list[str]:
    """Warnings for lower thirds whose time never plays: ``shown(start, end)`` says whether
    any of a stretch of source time (the screen's clock) plays (not trimmed or cut away)."""
    return [
        f"the lower third '{item.name}' ({item.start:g}-{item.end:g} s) lies outside the clip or inside a cut; not shown"
        for item in items
        if item.start is not None and item.end is not None
        and (math.isclose(item.start, item.end) or not shown(item.start, item.end))
    ]
