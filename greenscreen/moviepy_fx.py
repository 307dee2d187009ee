"""greenscreen's keyer as a moviepy 2 effect, for people who edit their tutorials in moviepy.

::

    from moviepy import CompositeVideoClip, VideoFileClip
    from greenscreen.moviepy_fx import KeySpeaker

    screen = VideoFileClip("screen.mp4")
    speaker = VideoFileClip("speaker.mp4").with_effects([KeySpeaker(preset="dim-room")])
    speaker = speaker.resized(height=screen.h // 3).with_position(("right", "bottom"))
    CompositeVideoClip([screen, speaker]).write_videofile("tutorial.mp4")

The keyed clip's picture is the despilled speaker and its mask the matte, so moviepy's own
compositing puts the speaker over whatever is behind. moviepy's per-frame compositing is much
slower than ``greenscreen render`` (see ``benchmarks/render_speed.py``): this is for editing and
scripting, not for rendering a folder of tutorials.

Importing this module imports moviepy; nothing else in greenscreen does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from moviepy import Effect, VideoClip

from greenscreen.io.stills import load_plate
from greenscreen.key import Keyer, KeySettings
from greenscreen.presets import load_preset

#: A jump in time longer than this (or any step back) is a seek: the keyer starts afresh, as
#: the preview does, instead of carrying a matte from somewhere else in the clip.
SEEK_SECONDS = 0.5


@dataclass
class KeySpeaker(Effect):
    """Key a clip of a speaker before a green sheet: picture despilled, mask = the matte.

    Parameters
    ----------
    settings : key settings; the defaults (or the preset's) if omitted.
    preset : a preset name or ``.toml`` path, or several (later ones win), as ``render -p``;
        only its ``[key]`` settings apply (crop with moviepy's ``Crop`` effect before this one).
    plate : a few seconds of video or a photo of the empty sheet (path), or a BGR uint8 image.
    """

    settings: KeySettings | None = None
    preset: str | Path | Sequence[str | Path] | None = None
    plate: str | Path | np.ndarray | None = None

    def apply(self, clip: VideoClip) -> VideoClip:
        """Return ``clip`` keyed, with the matte as its mask (times the clip's own mask, if it
        has one: what was transparent stays so)."""
        if self.settings is not None and not isinstance(self.settings, KeySettings):
            raise TypeError(f"settings must be a KeySettings, got {type(self.settings).__name__}; "
                            "for a few values: KeySettings(tolerance=0.2)")
        keyed = _KeyedFrames(Keyer(self._key_settings(), plate=self._plate()), clip.get_frame)
        picture = clip.with_updated_frame_function(lambda t: keyed(t)[0])
        own = clip.mask

        def matte(t: float) -> np.ndarray:
            alpha = keyed(t)[1]
            return alpha if own is None else alpha * np.asarray(own.get_frame(t), np.float32)

        mask = VideoClip(matte, is_mask=True, duration=clip.duration)
        return picture.with_mask(mask)

    def _key_settings(self) -> KeySettings:
        if self.settings is not None:
            return self.settings
        if self.preset is None:
            return KeySettings()
        names = [self.preset] if isinstance(self.preset, (str, Path)) else list(self.preset)
        settings = None
        for name in names:
            settings = load_preset(name, settings)
        assert settings is not None
        return settings.key

    def _plate(self) -> np.ndarray | None:
        if self.plate is None or isinstance(self.plate, np.ndarray):
            return self.plate
        return load_plate(Path(self.plate))


class _KeyedFrames:
    """Keys the frame at ``t`` once, for both the picture and the mask that moviepy ask for."""

    def __init__(self, keyer: Keyer, get_frame: Callable[[float], np.ndarray]):
        self._keyer = keyer
        self._get_frame = get_frame
        self._t: float | None = None
        self._result: tuple[np.ndarray, np.ndarray] = (np.zeros((0, 0, 3), np.uint8), np.zeros((0, 0)))

    def __call__(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        t = float(t)
        if t == self._t:
            return self._result
        if self._t is not None and not 0 < t - self._t <= SEEK_SECONDS:
            self._keyer.reset()
        rgb = np.asarray(self._get_frame(t))
        if rgb.dtype != np.uint8:  # moviepy's generated clips may hand out floats in [0, 255]
            rgb = np.clip(rgb, 0, 255).astype(np.uint8)
        result = self._keyer.key(np.ascontiguousarray(rgb[..., ::-1]))
        self._t = t
        self._result = (np.ascontiguousarray(result.foreground[..., ::-1]), result.alpha)
        return self._result
