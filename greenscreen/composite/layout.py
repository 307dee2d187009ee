"""Where the speaker goes in the output frame: layout settings and their geometry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from greenscreen.errors import SettingsError
from greenscreen.settings import HEX_COLOUR, HEX_COLOUR_HINT, check_fields, setting

LAYOUTS = ("pip", "circle", "side-by-side", "full")
CORNERS = ("bottom-right", "bottom-left", "top-right", "top-left")
WINDOWS = ("none", "rounded")


@dataclass(frozen=True)
class LayoutSettings:
    """How the keyed speaker is placed over the screen recording."""

    layout: str = setting(
        "pip",
        choices=LAYOUTS,
        help="pip: speaker in a corner; circle: speaker in a round corner window; "
        "side-by-side: screen left, speaker right; full: speaker over the whole frame.",
    )
    corner: str = setting(
        "bottom-right", choices=(*CORNERS, "auto"),
        help="Corner for pip and circle; auto: the quietest corner of the screen recording.",
    )
    size: float = setting(
        0.33, min=0.05, max=1.0, help="Speaker height as a fraction of the output height."
    )
    margin: float = setting(
        0.03, min=0.0, max=0.25, help="Gap to the frame edge as a fraction of the output height."
    )
    flush: bool = setting(
        True, help="A pip speaker without a window in a bottom corner stands on the frame's bottom edge "
        "(false: the margin below too, as if floating).",
    )
    window: str = setting(
        "none", choices=WINDOWS,
        help="pip: none = the keyed speaker alone; rounded = in a window with rounded corners, a thin "
        "border and a soft shadow, over window_color.",
    )
    radius: float = setting(0.1, min=0.0, max=0.5, help="Window corner radius as a fraction of its height.")
    border: int = setting(2, min=0, max=32, help="Window border width in output pixels (0 = none).")
    border_color: str = setting(
        "#f0f0f0", pattern=HEX_COLOUR, pattern_hint=HEX_COLOUR_HINT, help="Window border colour."
    )
    shadow: float = setting(0.5, min=0.0, max=1.0, help="Window drop shadow strength (0 = none).")
    window_color: str = setting(
        "#2a2f36", pattern=HEX_COLOUR, pattern_hint=HEX_COLOUR_HINT, help="Window fill behind the keyed speaker."
    )
    background: str = setting(
        "#1f3a5f", help='Behind the full layout\'s speaker: a colour "#rrggbb", an image file, or '
        '"screen" (the screen recording, mostly hidden behind them).'
    )
    crop_left: int = setting(0, min=0, max=8192, help="Pixels cut from the webcam's left edge.")
    crop_top: int = setting(0, min=0, max=8192, help="Pixels cut from the webcam's top edge.")
    crop_right: int = setting(0, min=0, max=8192, help="Pixels cut from the webcam's right edge.")
    crop_bottom: int = setting(0, min=0, max=8192, help="Pixels cut from the webcam's bottom edge.")

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class Placement:
    """The speaker's rectangle in the output and, for round windows, a fixed shape mask."""

    x: int
    y: int
    width: int
    height: int
    shape: np.ndarray | None = None
    """float32 ``(height, width)`` in [0, 1] multiplied into the alpha, or None for a rectangle."""
    screen_box: tuple[int, int, int, int] | None = None
    """``(x, y, w, h)`` the screen recording is fitted into; None means the whole frame."""


SIDE_BY_SIDE_MIN_WIDTH = 4
"""Output pixels across that side-by-side needs: an even width of at least 2 on each side."""


def place_speaker(
    layout: LayoutSettings, *, output: tuple[int, int], speaker: tuple[int, int]
) -> Placement:
    """Compute where a ``speaker`` = ``(w, h)`` source lands in an ``output`` = ``(W, H)`` frame.

    The speaker keeps its aspect ratio. Sizes are even so 4:2:0 frames stay aligned. Raises
    :class:`SettingsError` for a side-by-side layout in an output too narrow to split.
    """
    out_w, out_h = output
    src_w, src_h = speaker
    aspect = src_w / src_h
    margin = round(layout.margin * out_h)
    if layout.layout == "full":
        h = out_h
        w = min(_even(h * aspect), out_w)
        h = min(_even(w / aspect), out_h)
        return Placement((out_w - w) // 2, out_h - h, w, h)
    if layout.layout == "side-by-side":
        if out_w < SIDE_BY_SIDE_MIN_WIDTH:
            raise SettingsError(
                f"the side-by-side layout needs an output at least {SIDE_BY_SIDE_MIN_WIDTH} pixels "
                f"wide (2 for each side), this one is {out_w}x{out_h}: choose another --layout "
                "or a larger --size"
            )
        half = _even(out_w / 2)
        w = min(half, _even(out_h * aspect))
        h = min(_even(w / aspect), out_h)
        screen_h = _even(min(out_h, (out_w - half) * out_h / out_w))
        return Placement(
            half + (out_w - half - w) // 2,
            (out_h - h) // 2,
            w,
            h,
            # An even top edge keeps the screen's 4:2:0 planes copyable as they are.
            screen_box=(0, _even_floor((out_h - screen_h) / 2), out_w - half, screen_h),
        )
    h = max(_even(layout.size * out_h), 2)
    if layout.layout == "circle":
        w = h
    else:
        w = min(_even(h * aspect), out_w)
        h = min(h, _even(w / aspect))
    x = margin if layout.corner.endswith("left") else out_w - margin - w
    # A keyed speaker's picture ends in a cut through their torso: on the bottom edge it reads
    # as the frame cutting them off, a margin below makes them float.
    flush = layout.layout == "pip" and layout.window == "none" and layout.flush
    y = margin if layout.corner.startswith("top") else out_h - (0 if flush else margin) - h
    if layout.layout == "circle":
        shape = _disc(w, h)
    elif layout.layout == "pip" and layout.window != "none":
        shape = rounded_rect(w, h, layout.radius * h)
    else:
        shape = None
    return Placement(max(x, 0), max(y, 0), w, h, shape=shape)


def speaker_source_size(layout: LayoutSettings, placement: Placement, speaker: tuple[int, int]) -> tuple[int, int]:
    """Size the speaker frame is scaled to before keying: the placement, or for a circle the
    square's height at the source's aspect (the circle then shows its centre)."""
    if layout.layout != "circle":
        return placement.width, placement.height
    src_w, src_h = speaker
    return max(_even(placement.height * src_w / src_h), placement.width), placement.height


def _disc(w: int, h: int) -> np.ndarray:
    """An anti-aliased disc filling a ``w`` x ``h`` box."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx, r = (h - 1) / 2, (w - 1) / 2, min(w, h) / 2
    dist = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
    return np.clip(r - dist, 0.0, 1.0).astype(np.float32)


def rounded_rect(w: int, h: int, radius: float) -> np.ndarray:
    """An anti-aliased rectangle with corners rounded by ``radius`` pixels, filling a ``w`` x ``h``
    box: float32 ``(h, w)`` in [0, 1]."""
    r = max(0.0, min(radius, w / 2, h / 2))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # Signed distance of each pixel centre to the rounded edge (negative inside); a pixel is
    # covered by how far inside it lies, from half a pixel out to half a pixel in.
    qx = np.abs(xx - (w - 1) / 2) - (w / 2 - r)
    qy = np.abs(yy - (h - 1) / 2) - (h / 2 - r)
    outside = np.sqrt(np.maximum(qx, 0.0) ** 2 + np.maximum(qy, 0.0) ** 2)
    distance = outside + np.minimum(np.maximum(qx, qy), 0.0) - r
    return np.clip(0.5 - distance, 0.0, 1.0).astype(np.float32)


def _even(value: float) -> int:
    return max(int(round(value / 2)) * 2, 2)


def _even_floor(value: float) -> int:
    """The largest even integer <= ``value`` (and >= 0): a position on the chroma grid."""
    return max(int(value // 2) * 2, 0)
