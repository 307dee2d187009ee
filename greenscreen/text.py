"""Text drawn with a real font: captions burned into the picture (and, later, title cards).

OpenCV's built-in Hershey fonts have no umlauts, no „German quotes“ and no €; the package ships
DejaVu Sans (``greenscreen/fonts``, cut down to the Latin, Greek and Cyrillic alphabets) and draws
it with Pillow's FreeType renderer. Text comes out as a BGR picture with straight alpha, the same
contract as a keyed speaker, so the compositor blends it like any other layer. Characters the
font has no glyph for (Chinese, emoji) are left out rather than drawn as gaps; see
:func:`missing_characters` for warning about them.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
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


@functools.lru_cache(maxsize=4)
def _reference(path: str) -> tuple[ImageFont.FreeTypeFont, tuple[object, float]]:
    """The font file at one size, and how it draws a character it has no glyph for."""
    face = ImageFont.truetype(path, 40)
    return face, _drawn("\uffff", face)


def _drawn(char: str, face: ImageFont.FreeTypeFont) -> tuple[object, float]:
    mask = face.getmask(char)
    return (face.getbbox(char), bytes(mask) if mask.size[1] else b""), face.getlength(char)


@functools.lru_cache(maxsize=8192)
def _has_glyph(path: str, char: str) -> bool:
    category = unicodedata.category(char)
    if category in ("Cc", "Cf") or category[0] == "Z":  # spaces, line breaks, invisible format characters
        return True
    face, missing = _reference(path)
    # Pillow has no "has glyph" query: a character without one is drawn as the font's empty
    # placeholder glyph, as a character that exists nowhere (U+FFFF) is.
    return _drawn(char, face) != missing


def drawable(text: str, face: ImageFont.FreeTypeFont) -> str:
    """``text`` without the characters ``face`` has no glyph for."""
    path = str(face.path)
    # Composed first: macOS writes "ř" as r + a combining caron, which the font has no glyph
    # of its own for, though it has "ř".
    text = unicodedata.normalize("NFC", text)
    kept = "".join(c for c in text if _has_glyph(path, c))
    # "Hallo 😀 Welt" would keep both spaces around the gap.
    return kept if len(kept) == len(text) else re.sub(r" {2,}", " ", kept).strip()


def missing_characters(texts: Iterable[str], *, bold: bool = False) -> str:
    """The distinct characters of ``texts`` the shipped font cannot draw, in order of first
    appearance (empty if it draws them all)."""
    path = str(font(40, bold=bold).path)
    seen: dict[str, None] = {}
    for text in texts:
        for c in unicodedata.normalize("NFC", text):
            if c not in seen and not _has_glyph(path, c):
                seen[c] = None
    return "".join(seen)


def text_width(text: str, face: ImageFont.FreeTypeFont) -> float:
    """Width in pixels of ``text`` set in ``face`` (as drawn: see :func:`drawable`)."""
    return float(face.getlength(drawable(text, face)))


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


def fit(
    text: str, size: float, max_width: float, *, bold: bool = False, max_lines: int = 3, smallest: float = 0.5
) -> tuple[list[str], ImageFont.FreeTypeFont]:
    """``text`` wrapped to lines no wider than ``max_width``, and the face to draw them in: the
    largest size from ``size`` down to ``smallest`` times it at which it takes at most
    ``max_lines`` lines. A word still too wide at the smallest size is broken where the line
    ends (a long German compound in a title ran off both sides of the card), and text still too
    long for ``max_lines`` lines then ends in "…" on the last."""
    scale = 1.0
    while True:
        face = font(round(size * scale), bold=bold)
        lines = wrap(text, face, max_width)
        fits = len(lines) <= max_lines and all(text_width(line, face) <= max_width for line in lines)
        if fits or scale * 0.9 < smallest:
            break
        scale *= 0.9
    pieces = [part for line in lines for part in _broken(line, face, max_width)]
    if len(pieces) > max_lines:
        pieces[max_lines - 1:] = [ellipsized(" ".join(pieces[max_lines - 1:]), face, max_width)]
    return pieces, face


def _broken(line: str, face: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    """``line`` cut into pieces no wider than ``max_width``, at characters."""
    if text_width(line, face) <= max_width:
        return [line]
    pieces, piece = [], ""
    for char in line:
        if piece and text_width(piece + char, face) > max_width:
            pieces.append(piece.rstrip())
            piece = char.lstrip()
        else:
            piece += char
    return pieces + ([piece] if piece else [])


def ellipsized(text: str, face: ImageFont.FreeTypeFont, max_width: float) -> str:
    """``text`` cut short with "…" so that it is no wider than ``max_width`` (as it is, if it fits)."""
    if text_width(text, face) <= max_width:
        return text
    while text and text_width(text.rstrip() + "…", face) > max_width:
        text = text[:-1]
    return text.rstrip() + "…"


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
        draw.text(((width - line_width) / 2, padding + i * step), drawable(line, face), font=face, fill=255)
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
