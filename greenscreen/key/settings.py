"""Key settings: every knob of the keyer, with its default and allowed range.

The defaults are the bedsheet default and are the best settings found on the matting-dev
benchmark (``benchmarks/key_quality.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from greenscreen.settings import check_fields, setting


@dataclass(frozen=True)
class KeySettings:
    """Settings of the keyer. Defaults suit a green bedsheet under home lighting."""

    screen: str = setting(
        "green", choices=("green", "blue"), help="Colour of the backdrop: green or blue."
    )
    key_color: str = setting(
        "auto",
        help='Backdrop colour as "#rrggbb", or "auto" to measure it from the footage.',
        pattern=r"auto|#[0-9a-fA-F]{6}",
        pattern_hint='"auto" or a colour like "#3c8a41"',
    )
    tolerance: float = setting(
        0.1, min=0.0, max=1.0,
        help="Clip black: a pixel still showing (1 - tolerance) or more of the local sheet's "
        "colour is fully transparent. Raise to clear grey-green blotches on the sheet.",
    )
    softness: float = setting(
        0.8, min=0.02, max=1.0,
        help="Width of the soft edge above the clip black; clip white = tolerance + softness. "
        "Lower it to make a see-through speaker solid.",
    )
    spill: float = setting(
        1.0, min=0.0, max=1.0, help="Strength of green-spill removal on the speaker (0 = off)."
    )
    spill_limit: float = setting(
        0.0, min=0.0, max=0.5,
        help="Green allowed above the larger of red and blue after unmixing (0 = none).",
    )
    refine: int = setting(
        2, min=0, max=16,
        help="Radius in pixels of the edge-aware (guided) matte refinement; 0 = off.",
    )
    choke: int = setting(
        0, min=-20, max=20, help="Shrink (positive) or grow (negative) the matte, in pixels."
    )
    feather: float = setting(
        0.0, min=0.0, max=20.0, help="Blur radius of the matte edge, in pixels."
    )
    core_fill: int = setting(
        0, min=0, max=100000,
        help="Fill holes inside the speaker smaller than this many pixels; 0 = off.",
    )
    despeckle: int = setting(
        0, min=0, max=100000,
        help="Remove opaque specks on the sheet smaller than this many pixels; 0 = off.",
    )
    temporal: float = setting(
        0.5, min=0.0, max=1.0,
        help="Temporal smoothing of the matte where the picture is still (0 = off); motion is "
        "never smoothed, so there is no ghosting.",
    )
    light_wrap: float = setting(
        0.0, min=0.0, max=1.0,
        help="Light wrap: blend the blurred screen into the speaker's edge so the speaker sits in "
        "the picture rather than on it (0 = off; 0.3-0.6 is subtle). Applies when compositing.",
    )
    light_wrap_size: float = setting(
        8.0, min=1.0, max=50.0, help="How far the light wrap reaches into the speaker, in output pixels.",
    )
    learn_plate: bool = setting(
        True, help="Learn the clean sheet over time from places the speaker has uncovered.",
    )
    model_scale: int = setting(
        4, min=1, max=16,
        help="The sheet colour model is estimated at 1/model_scale resolution (speed vs detail).",
    )

    def __post_init__(self) -> None:
        check_fields(self)
