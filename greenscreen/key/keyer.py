"""The keyer: turns webcam frames of a speaker before a green sheet into foreground + alpha.

:class:`Keyer` only holds the state that must carry from frame to frame (key colour, the
learnt clean plate, the previous matte) and calls the pure stage functions in this package:
``screen_model`` -> ``matte`` -> ``refine`` -> ``temporal`` -> ``despill``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from greenscreen.frames import check_bgr, hex_to_bgr, to_float, to_uint8
from greenscreen.key import despill, matte, refine, screen_model
from greenscreen.key.settings import KeySettings


@dataclass(frozen=True)
class KeyResult:
    """One keyed frame.

    ``foreground`` is BGR uint8 ``(H, W, 3)`` with spill removed (straight, not premultiplied);
    ``alpha`` is float32 ``(H, W)`` in ``[0, 1]``.
    """

    foreground: np.ndarray
    alpha: np.ndarray


class Keyer:
    """Keys a stream of frames of one recording.

    The keyer carries state from frame to frame (key colour, learnt clean plate, previous
    matte), so one instance serves one recording, fed in display order through :meth:`key`.

    Parameters
    ----------
    settings : the key settings; defaults if omitted.
    plate : optional BGR uint8 image of the empty sheet (any size; resized to the frames).
    """

    def __init__(self, settings: KeySettings | None = None, *, plate: np.ndarray | None = None):
        self.settings = settings or KeySettings()
        if plate is not None:
            check_bgr(plate, name="plate")
        self.plate = plate
        self.reset()

    fg_model = True
    fg_level = 0.7
    fg_max = 0.5

    def reset(self) -> None:
        """Forget what was learnt from earlier frames (e.g. after seeking)."""
        self._shape: tuple[int, int] | None = None
        self._key: np.ndarray | None = None
        self._plate_full: np.ndarray | None = None
        self._plate_small: np.ndarray | None = None
        self._model_small: np.ndarray | None = None

    def _prepare(self, img: np.ndarray) -> None:
        """(Re)build the per-size state on the first frame or when the frame size changes."""
        h, w = img.shape[:2]
        self.reset()
        self._shape = (h, w)
        s = self.settings
        self._small_size = (max(8, w // s.model_scale), max(8, h // s.model_scale))
        if self.plate is not None:
            plate = cv2.resize(self.plate, (w, h), interpolation=cv2.INTER_AREA)
            self._plate_full = to_float(plate)
            self._plate_small = cv2.resize(self._plate_full, self._small_size, interpolation=cv2.INTER_AREA)
        if s.key_color != "auto":
            self._key = np.array(hex_to_bgr(s.key_color), np.float32) / 255.0
        elif self._plate_small is not None:
            self._key = screen_model.border_key_colour(self._plate_small, s.screen, border=0.5)

    def key(self, frame: np.ndarray) -> KeyResult:
        """Key one BGR uint8 frame and return its despilled foreground and alpha."""
        check_bgr(frame)
        s = self.settings
        img = to_float(frame)
        if self._shape != img.shape[:2]:
            self._prepare(img)
        small = cv2.resize(img, self._small_size, interpolation=cv2.INTER_AREA)
        if self._key is None:
            self._key = screen_model.border_key_colour(small, s.screen)
        model, fill, sheet = screen_model.estimate_screen(
            small, s.screen, self._key, base=self._plate_small
        )
        self._model_small = model
        h, w = self._shape
        fill_full = cv2.resize(fill, (w, h), interpolation=cv2.INTER_LINEAR)
        screen = fill_full if self._plate_full is None else cv2.multiply(fill_full, self._plate_full)

        fg_d = None
        if self.fg_model:
            d_small = screen_model.screen_difference(small, s.screen)
            d_model = np.maximum(screen_model.screen_difference(model, s.screen), np.float32(0.02))
            raw_small = 1.0 - d_small / d_model
            conf = (raw_small > self.fg_level).astype(np.uint8)
            conf = cv2.erode(conf, np.ones((3, 3), np.uint8)).astype(np.float32)
            fd = screen_model.push_pull_fill(d_small, conf)
            fd = np.minimum(fd, np.float32(self.fg_max) * d_model)
            fg_d = cv2.resize(fd, (w, h), interpolation=cv2.INTER_LINEAR)
        raw = matte.difference_matte(img, screen, s.screen, fg_difference=fg_d)
        if s.refine > 0:
            guide = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
            raw = refine.guided_filter(guide, raw, s.refine, 1e-4)
        alpha = matte.clip_levels(raw, s.tolerance, s.tolerance + s.softness)
        alpha = refine.despeckle(alpha, s.despeckle)
        alpha = refine.core_fill(alpha, s.core_fill)
        alpha = refine.choke(alpha, s.choke)
        alpha = refine.feather(alpha, s.feather)

        fg = despill.unmix(img, alpha, screen) if s.spill > 0 else img
        if s.spill > 0:
            fg = despill.limit_spill(fg, s.screen, amount=s.spill, limit=s.spill_limit)
        return KeyResult(to_uint8(fg), np.clip(alpha, 0.0, 1.0).astype(np.float32))
