"""Text drawn with a real font: captions burned into the picture (and, later, title cards).

OpenCV's built-in Hershey fonts have no umlauts, no „German quotes“ and no €; the package ships
DejaVu Sans (``greenscreen/fonts``, cut down to the Latin characters) and draws it with Pillow's
FreeType renderer. Text comes out as a BGR picture with straight alpha, the same contract as a
keyed speaker, so the compositor blends it like any other layer.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path(__file__).resolve().parent / "fonts"


@functools.lru_cache(maxsize=32)
def font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (or Sans Bold) at ``size`` pixels."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), max(int(size), 1))


def text_width(text: str, face: ImageFont.FreeTypeFont) -> float:
    """Width in pixels of ``text`` set in ``face``."""
    return float(face.getlength(text))


def wrap(text: str, face: ImageFont.FreeTypeFont, max_width: float, *, max_chars: int = 0) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width`` pixels (and, with ``max_chars``, no
    longer than that many characters), at spaces; the line breaks it already has stay. A word
    wider than a line gets a line of its own."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            fits = text_width(candidate, face) <= max_width and (not max_chars or len(candidate) <= max_chars)
            if line and not fits:
                lines.append(line)
                line = word
            else:
                line = candidate
        if line:
            lines.append(line)
    return lines


@dataclass(frozen=True)
class TextLayer:
    """Rendered text: BGR uint8 ``(h, w, 3)`` and straight alpha float32 ``(h, w)``."""

    bgr: np.ndarray
    alpha: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return self.alpha.shape[1], self.alpha.shape[0]


def render_lines(
    lines: list[str],
    face: ImageFont.FreeTypeFont,
    *,
    colour: tuple[int, int, int] = (255, 255, 255),
    box: tuple[int, int, int, float] | None = None,
    padding: int = 0,
    line_spacing: float = 1.25,
) -> TextLayer:
    """Draw ``lines`` centred under each other, optionally on a backing box.

    ``colour`` and the box's colour are BGR; the box's fourth value is its opacity (0-1). The
    layer is as large as the text plus ``padding`` on every side.
    """
    ascent, descent = face.getmetrics()
    step = round((ascent + descent) * line_spacing)
    widths = [text_width(line, face) for line in lines]
    width = int(np.ceil(max(widths, default=0))) + 2 * padding
    height = step * (len(lines) - 1) + ascent + descent + 2 * padding
    # Text and box on separate layers, so the box's opacity and the glyphs' own coverage combine
    # as "text over box" rather than replacing each other.
    ink = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(ink)
    for i, (line, line_width) in enumerate(zip(lines, widths)):
        draw.text(((width - line_width) / 2, padding + i * step), line, font=face, fill=255)
    text_alpha = np.asarray(ink, np.float32) / 255.0
    bgr = np.empty((height, width, 3), np.uint8)
    bgr[...] = colour
    if box is None:
        return TextLayer(bgr, text_alpha)
    *box_colour, opacity = box
    alpha = text_alpha + (1.0 - text_alpha) * np.float32(opacity)
    # Straight colour of "text over box": the text's share of the total coverage, the box's rest.
    share = np.divide(text_alpha, alpha, out=np.zeros_like(alpha), where=alpha > 0)[..., None]
    mixed = share * np.array(colour, np.float32) + (1.0 - share) * np.array(box_colour, np.float32)
    return TextLayer(np.clip(mixed + 0.5, 0, 255).astype(np.uint8), alpha.astype(np.float32))
