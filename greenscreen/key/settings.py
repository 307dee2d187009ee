"""Key settings: every knob of the keyer, with its default and allowed range."""

from __future__ import annotations

from dataclasses import dataclass

from greenscreen.settings import setting


@dataclass(frozen=True)
class KeySettings:
    """Settings of the keyer. Defaults suit a green bedsheet in daylight."""

    screen: str = setting(
        "green", choices=("green", "blue"), help="Colour of the backdrop: green or blue."
    )
    key_color: str = setting(
        "auto", help='Backdrop colour as "#rrggbb", or "auto" to measure it from the footage.'
    )
    tolerance: float = setting(
        0.5, min=0.0, max=1.0, help="How far from the backdrop colour still counts as backdrop."
    )
    softness: float = setting(
        0.3, min=0.0, max=1.0, help="Width of the soft transition between backdrop and speaker."
    )
    spill: float = setting(
        1.0, min=0.0, max=1.0, help="Strength of green-spill removal on the speaker (0 = off)."
    )
    choke: int = setting(
        0, min=-20, max=20, help="Shrink (positive) or grow (negative) the matte, in pixels."
    )
    feather: float = setting(
        1.0, min=0.0, max=20.0, help="Blur radius of the matte edge, in pixels."
    )
