"""Title and outro cards: the picture a tutorial opens and closes with.

A card is a plain background with a title (bold, wrapped and centred) and an optional line
under it, drawn with the package's font (:mod:`greenscreen.text`). It is made once per render,
converted to I420 once, and faded in from and out to black frame by frame. The cards come
before and after the whole composite, or, as a speaker intro, stands behind the speaker over the
recordings' first seconds (a piece of the plan, see :func:`greenscreen.pipeline.speaker_intro`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from greenscreen.composite.blend import blend_over
from greenscreen.composite.logo import fit_image
from greenscreen.frames import cover, hex_to_bgr
from greenscreen.io.colour import Matrix, bgr_to_i420
from greenscreen.io.yuv import Planes, i420_planes
from greenscreen.settings import HEX_COLOUR, HEX_COLOUR_HINT, check_fields, setting



@dataclass(frozen=True)
class CardSettings:
    """The title card before the tutorial and the outro card after it (no text: no card)."""

    title: str = setting("", help="Title card text; the card opens the clip (empty = no title card).")
    subtitle: str = setting("", help="Smaller line under the title (a department, a date).")
    outro: str = setting("", help="Outro card text; the card closes the clip (empty = no outro card).")
    seconds: float = setting(3.0, min=0.5, max=30.0, help="How long each card shows, fades included.")
    fade: float = setting(0.5, min=0.0, max=5.0, help="Fade from and to black at each card's ends, in seconds.")
    background: str = setting(
        "#1f3a5f", pattern=HEX_COLOUR, pattern_hint=HEX_COLOUR_HINT, help="Card background colour."
    )
    color: str = setting("#ffffff", pattern=HEX_COLOUR, pattern_hint=HEX_COLOUR_HINT, help="Card text colour.")
    speaker: bool = setting(
        False, help="Speaker intro: the speaker stands keyed on the title card, greeting, with the "
        "title beside them; the card then covers the recordings' first seconds (their sound plays) "
        "instead of coming before them, and crossfades into the tutorial.",
    )

    def __post_init__(self) -> None:
        check_fields(self)


def card_problems(settings: CardSettings) -> dict[str, str]:
    """What makes no card of the card settings: a subtitle or a speaker intro without a title,
    by the setting that asks for the card (``subtitle``, ``speaker``)."""
    if settings.title.strip():
        return {}
    asked = {
        "subtitle": "cards.subtitle needs a title to stand under (--title-card / [cards] title)",
        "speaker": "cards.speaker (the speaker intro) needs a title card (--title-card / [cards] title)",
    }
    return {key: problem for key, problem in asked.items() if asks_for_card(settings, key)}


def asks_for_card(settings: CardSettings, key: str) -> bool:
    """Whether the card setting ``key`` (``subtitle``, ``speaker``) asks for a title card."""
    value = getattr(settings, key)
    return bool(value.strip()) if isinstance(value, str) else bool(value)


SCRIM = 0.55
"""How much of the background colour lies over a card's background image, so the text keeps
its contrast on any photo."""


def has_speaker_intro(cards: CardSettings) -> bool:
    """Whether ``cards`` ask for a speaker intro: ``speaker = true`` and a title to stand beside
    (the title card is then drawn into the plan, not before the recordings)."""
    return cards.speaker and bool(cards.title.strip())


def card_picture(
    size: tuple[int, int],
    title: str,
    subtitle: str,
    settings: CardSettings,
    *,
    image: np.ndarray | None = None,
    logo: tuple[np.ndarray, np.ndarray] | None = None,
    text_area: tuple[float, float] = (0.0, 1.0),
    shortened: list[str] | None = None,
) -> np.ndarray:
    """The card as BGR uint8 ``(H, W, 3)``: ``title`` large and bold, ``subtitle`` under it,
    the pair centred; lines wrap to 80 % of the width.

    ``image`` (BGR) fills the background, scaled to cover the card and veiled with the
    background colour; ``logo`` (BGR and alpha, e.g. the render's logo) stands above the title.
    ``text_area`` is the horizontal stretch (fractions of the width) the text is centred in:
    the left part of the card when the speaker stands on its right. A text too long for three
    lines even in a smaller size ends in "…"; it is added to ``shortened`` if given.
    """
    # Pillow is imported only for a render that draws text (start-up time counts per render).
    from greenscreen.text import fit, render_lines

    width, height = size
    picture = np.empty((height, width, 3), np.uint8)
    picture[...] = hex_to_bgr(settings.background)
    if image is not None:
        picture[...] = cv2.addWeighted(cover(image, size), 1.0 - SCRIM, picture, SCRIM, 0.0)
    colour = hex_to_bgr(settings.color)
    left, right = round(width * text_area[0]), round(width * text_area[1])
    room = (right - left) * (0.8 if text_area == (0.0, 1.0) else 0.95)  # beside a speaker: less air
    layers: list[tuple[np.ndarray, np.ndarray]] = []
    if logo is not None:
        layers.append(fit_image(*logo, (round(width * 0.4), round(height * 0.18))))
    # A long title (or one long word) gets a smaller size rather than running off the card.
    for words, size, bold in ((title, 0.085, True), (subtitle, 0.045, False)):
        if not words:
            continue
        lines, face = fit(words, height * size, room, bold=bold, max_lines=3)
        if shortened is not None and lines[-1].endswith("…") and not words.endswith("…"):
            shortened.append(words)
        text = render_lines(lines, face, colour=colour)
        layers.append((text.bgr, text.alpha))
    gap = round(height * 0.04)
    total = sum(bgr.shape[0] for bgr, _ in layers) + gap * (len(layers) - 1)
    y = (height - total) // 2
    for bgr, alpha in layers:
        h, w = bgr.shape[:2]
        blend_over(picture, bgr, alpha, x=left + (right - left - w) // 2, y=y)
        y += h + gap
    return picture


class CardFrames:
    """One card's frames in I420: the picture, faded in from and out to black."""

    def __init__(self, picture: np.ndarray, frames: int, fade_frames: int, matrix: Matrix):
        self.frames = frames
        self._fade = max(min(fade_frames, frames // 2), 0)
        self._planes = i420_planes(bgr_to_i420(picture, matrix))

    @property
    def full_frame(self) -> int:
        """The first frame shown at full strength (after the fade in)."""
        return self._fade

    def draw(self, index: int, out: Planes) -> None:
        """Write frame ``index`` (0 .. frames - 1) of the card into ``out``."""
        level = 1.0
        if self._fade:
            level = min(1.0, (index + 1) / (self._fade + 1), (self.frames - index) / (self._fade + 1))
        for dst, src, black in zip(out, self._planes, (16, 128, 128)):
            if level >= 1.0:
                dst[...] = src
            else:
                np.copyto(dst, (black + (src.astype(np.float32) - black) * level + 0.5).astype(np.uint8))
