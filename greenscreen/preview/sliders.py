"""Slider <-> setting mapping, derived from the settings schema (never from hard-coded names).

A trackbar holds an integer position ``0..count``. Each :class:`Slider` maps positions to
setting values and back using the field's metadata: choices become one position each, a bool
is 0/1, a numeric range gets evenly spaced "nice" steps (0.01 for a 0..1 range), and a huge
integer range (such as a pixel-area threshold up to 100000) gets a 1-2-5-like series so the
whole range fits on one slider with fine steps at the small end.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from greenscreen.config import RenderSettings

LINEAR_LIMIT = 1000
"""Numeric ranges with more steps than this use a 1-2-5-like value table instead."""

LAYOUT_SLIDERS = ("layout", "corner", "size", "margin")
"""The layout fields the preview offers sliders for (crop is set once, not tuned live)."""


@dataclass(frozen=True)
class Slider:
    """One trackbar for one settings field."""

    group: str
    name: str
    count: int
    """Largest position (OpenCV's trackbar ``count``); positions run 0..count."""
    values: tuple[Any, ...] | None = None
    """Value of every position, for choices, bools and tables; None for a linear range."""
    lo: float = 0.0
    step: float = 1.0
    integer: bool = False

    label: str = ""
    """Trackbar caption (unique in the window): the field name, or ``group.name`` on a clash."""

    def to_value(self, position: int) -> Any:
        """Setting value at trackbar ``position`` (clamped to 0..count)."""
        position = min(max(int(position), 0), self.count)
        if self.values is not None:
            return self.values[position]
        value = self.lo + position * self.step
        return int(round(value)) if self.integer else round(value, 9)

    def to_position(self, value: Any) -> int:
        """Trackbar position nearest to ``value``."""
        if self.values is not None:
            if value in self.values:
                return self.values.index(value)
            numeric = [v for v in self.values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            if len(numeric) != len(self.values) or isinstance(value, (str, bool)):
                return 0
            i = bisect.bisect_left(self.values, value)
            candidates = [j for j in (i - 1, i) if 0 <= j < len(self.values)]
            return min(candidates, key=lambda j: abs(self.values[j] - value))
        return min(max(int(round((value - self.lo) / self.step)), 0), self.count)


def _nice_step(span: float) -> float:
    """A power of ten giving between 50 and 500 steps over ``span`` (0.01 for a 0..1 range)."""
    return 10.0 ** math.floor(math.log10(span / 50.0)) if span > 0 else 1.0


def _table(lo: int, hi: int) -> tuple[int, ...]:
    """Every integer up to 10 above ``lo``, then a 1-1.2-1.5-2-2.5-3-4-5-6-8 series up to ``hi``."""
    values = set(range(lo, min(lo + 10, hi) + 1))
    exponent = 1
    while 10**exponent <= hi:
        for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8):
            v = int(round(m * 10**exponent))
            if lo <= v <= hi:
                values.add(v)
        exponent += 1
    values.add(hi)
    return tuple(sorted(values))


def slider_for(group: str, f: dataclasses.Field) -> Slider | None:
    """The slider for settings field ``f``, or None if it has no bounded range (free text)."""
    meta = f.metadata
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    if meta.get("choices"):
        choices = tuple(meta["choices"])
        return Slider(group, f.name, len(choices) - 1, values=choices)
    if kind == "bool":
        return Slider(group, f.name, 1, values=(False, True))
    lo, hi = meta.get("min"), meta.get("max")
    if lo is None or hi is None or kind not in ("int", "float"):
        return None
    if kind == "int":
        if hi - lo > LINEAR_LIMIT:
            table = _table(int(lo), int(hi))
            return Slider(group, f.name, len(table) - 1, values=table)
        return Slider(group, f.name, int(hi - lo), lo=float(lo), step=1.0, integer=True)
    step = _nice_step(hi - lo)
    return Slider(group, f.name, int(round((hi - lo) / step)), lo=float(lo), step=step)


def preview_sliders(settings: RenderSettings | None = None) -> list[Slider]:
    """Sliders for every key setting that has a range or choices, then the layout ones."""
    settings = settings or RenderSettings()
    out: list[Slider] = []
    for f in dataclasses.fields(settings.key):
        slider = slider_for("key", f)
        if slider is not None:
            out.append(slider)
    for f in dataclasses.fields(settings.layout):
        if f.name in LAYOUT_SLIDERS:
            slider = slider_for("layout", f)
            if slider is not None:
                out.append(slider)
    names = [s.name for s in out]
    return [
        dataclasses.replace(s, label=s.name if names.count(s.name) == 1 else f"{s.group}.{s.name}")
        for s in out
    ]
