"""All render settings in one object: the groups a preset file holds, with their defaults."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from greenscreen.composite.layout import LayoutSettings
from greenscreen.io.captions import CaptionSettings
from greenscreen.io.loudness import SoundSettings
from greenscreen.io.writer import EncodeSettings
from greenscreen.key.settings import KeySettings
from greenscreen.errors import SettingsError
from greenscreen.settings import check_fields, setting
from greenscreen.title_cards import CardSettings

AUDIO_CHOICES = ("speaker", "screen", "mix")


@dataclass(frozen=True)
class TimelineSettings:
    """How the two recordings line up in time, what is heard, and the output's size and rate."""

    offset: float = setting(
        0.0, min=-86400.0, max=86400.0, clock=True,
        help="Shift the speaker by this many seconds (positive = later); 1:05.5 works too.",
    )
    drift: float = setting(
        0.0, min=-10000.0, max=10000.0,
        help="Speaker clock drift in ppm: its timeline is stretched by 1 + drift/1e6 (as found by 'greenscreen sync').",
    )
    audio: str = setting(
        "speaker", choices=AUDIO_CHOICES, help="Soundtrack: the speaker's, the screen's, or both mixed."
    )
    start: float = setting(0.0, min=0.0, max=86400.0, clock=True, help="Trim: output starts at this second (or 1:20.5).")
    end: float = setting(
        0.0, min=0.0, max=86400.0, clock=True, help="Trim: output ends at this second (or 12:03; 0 = at the end)."
    )
    width: int = setting(0, min=0, max=7680, help="Output width (0 = the screen recording's).")
    height: int = setting(0, min=0, max=4320, help="Output height (0 = the screen recording's).")
    fps: float = setting(0.0, min=0.0, max=240.0, help="Output frame rate (0 = the screen recording's).")
    title: str = setting("", help="Title stored in the output file's metadata.")

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class RenderSettings:
    """Everything that decides how a tutorial is rendered. Defaults are the only defaults."""

    key: KeySettings = field(default_factory=KeySettings)
    layout: LayoutSettings = field(default_factory=LayoutSettings)
    timeline: TimelineSettings = field(default_factory=TimelineSettings)
    encode: EncodeSettings = field(default_factory=EncodeSettings)
    sound: SoundSettings = field(default_factory=SoundSettings)
    captions: CaptionSettings = field(default_factory=CaptionSettings)
    cards: CardSettings = field(default_factory=CardSettings)

    def __post_init__(self) -> None:
        # A dict for a group (RenderSettings(key={"tolerance": 0.2})) failed deep in a render.
        for group in fields(self):
            value = getattr(self, group.name)
            kind = group.default_factory  # type: ignore[misc]  (each group's own class)
            if not isinstance(value, kind):
                raise SettingsError(f"RenderSettings: {group.name} must be {kind.__name__}, got {type(value).__name__}"
                                    + (f"; use {kind.__name__}(**{value!r:.60})" if isinstance(value, dict) else ""))
