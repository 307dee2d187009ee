"""The keyer: turns webcam frames of a speaker before a green sheet into foreground + alpha.

:class:`Keyer` only holds the state that must carry from frame to frame (key colour, the
learnt clean plate, the previous matte) and calls the pure stage functions in this package:
``screen_model`` -> ``matte`` -> ``refine`` -> ``temporal`` -> ``despill``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from greenscreen.frames import check_bgr, hex_to_bgr, to_float
from greenscreen.key import despill, matte, refine, screen_model, temporal
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

    # Internal tuning, measured on benchmarks/key_quality.py; not user settings because no
    # footage we know of needs them changed.
    #: Raw alpha above which a pixel counts as opaque speaker for the local foreground model.
    fg_level = 0.7
    #: Cap of the speaker's colour difference as a fraction of the sheet's (greenish subjects).
    fg_max = 0.5
    #: Mean luma change (0..255, at model resolution) at which temporal smoothing lets go.
    motion_threshold = 6.0
    #: Rounds of "test pixels against the model, refill" in the screen model.
    model_iterations = 4
    #: How fast the learnt plate follows the sheet where it is seen.
    learn_rate = 0.3
    #: Apply the residual spill limit to opaque pixels too (bounce light on the speaker).
    limit_opaque = True
    #: The guided filter's coefficients are computed at 1/refine_subsample resolution.
    refine_subsample = 2
    #: Guided-filter regularisation, for luma in [0, 1]: edges weaker than about its square
    #: root are smoothed over rather than followed.
    refine_eps = 1e-5

    def reset(self) -> None:
        """Forget what was learnt from earlier frames (e.g. after seeking)."""
        self._shape: tuple[int, int] | None = None
        self._key: np.ndarray | None = None
        self._plate_full: np.ndarray | None = None
        self._plate_small: np.ndarray | None = None
        self._plate_d: np.ndarray | None = None
        self._plate_d_sized: dict[tuple[int, int], np.ndarray] = {}
        self._plate_d_small: np.ndarray | None = None
        self._learnt: np.ndarray | None = None
        self._seen: np.ndarray | None = None
        self._prev_alpha: np.ndarray | None = None
        self._prev_luma: np.ndarray | None = None

    def _prepare(self, frame: np.ndarray) -> None:
        """(Re)build the per-size state on the first frame or when the frame size changes."""
        h, w = frame.shape[:2]
        self.reset()
        self._shape = (h, w)
        s = self.settings
        self._small_size = (max(8, w // s.model_scale), max(8, h // s.model_scale))
        if self.plate is not None:
            plate = cv2.resize(self.plate, (w, h), interpolation=cv2.INTER_AREA)
            self._plate_full = to_float(plate)
            self._plate_small = cv2.resize(self._plate_full, self._small_size, interpolation=cv2.INTER_AREA)
            self._plate_d = screen_model.screen_difference(self._plate_full * np.float32(255.0), s.screen)
            self._plate_d_small = screen_model.screen_difference(self._plate_small, s.screen)
        if s.key_color != "auto":
            self._key = np.array(hex_to_bgr(s.key_color), np.float32) / 255.0
        elif self._plate_small is not None:
            self._key = screen_model.border_key_colour(self._plate_small, s.screen, border=0.5)

    def _raw_alpha(self, image8: np.ndarray, d_screen: np.ndarray, d_fg: np.ndarray) -> np.ndarray:
        """Raw (unclipped) alpha of a BGR uint8 image, the frame or a shrunk copy of it.

        ``d_screen`` and ``d_fg`` are the sheet's and the speaker's colour differences at model
        resolution. Differences are kept in 0..255 units so the image's own comes straight
        from its uint8 channels.
        """
        chan, o1, o2 = screen_model.CHANNELS[self.settings.screen]
        size = (image8.shape[1], image8.shape[0])
        planes = cv2.split(image8)
        d_img = cv2.subtract(planes[chan], cv2.max(planes[o1], planes[o2]), dtype=cv2.CV_32F)
        if self._plate_d is not None:
            # The plate's own difference keeps creases sharp; the smooth gain of the model over
            # the plate follows shadows and exposure.
            gain = cv2.divide(d_screen, np.maximum(self._plate_d_small, np.float32(0.02)))
            d_scr = cv2.multiply(cv2.resize(gain, size, interpolation=cv2.INTER_LINEAR),
                                 self._plate_difference(size))
        else:
            d_scr = cv2.resize(d_screen * np.float32(255.0), size, interpolation=cv2.INTER_LINEAR)
        d_fg = cv2.resize(d_fg * np.float32(255.0), size, interpolation=cv2.INTER_LINEAR)
        return matte.solve_alpha(d_img, d_scr, d_fg)

    def _plate_difference(self, size: tuple[int, int]) -> np.ndarray:
        """The plate's colour difference (0..255 units) area-averaged to ``size``, cached."""
        d = self._plate_d_sized.get(size)
        if d is None:
            d = cv2.resize(self._plate_d, size, interpolation=cv2.INTER_AREA)
            self._plate_d_sized[size] = d
        return d

    def key(self, frame: np.ndarray) -> KeyResult:
        """Key one BGR uint8 frame and return its despilled foreground and alpha."""
        check_bgr(frame)
        s = self.settings
        if self._shape != frame.shape[:2]:
            self._prepare(frame)
        h, w = frame.shape[:2]

        # The matte is solved at the guided filter's coefficient resolution (step 2).
        sub = self.refine_subsample if s.refine > 0 else 1
        image8 = frame if sub <= 1 else cv2.resize(
            frame, (max(1, w // sub), max(1, h // sub)), interpolation=cv2.INTER_AREA)

        # 1. Screen model, at reduced resolution (the sheet's colour varies slowly). Shrinking
        # from the already halved frame is several times faster than INTER_AREA by 4 at once.
        sw, sh = self._small_size
        source = image8 if image8.shape[1] >= sw and image8.shape[0] >= sh else frame
        small8 = cv2.resize(source, self._small_size, interpolation=cv2.INTER_AREA)
        small = to_float(small8)
        if self._key is None:
            self._key = screen_model.border_key_colour(small, s.screen)
        base = self._plate_small
        if base is None and s.learn_plate and self._learnt is not None:
            base = self._learnt
        model, _, sheet = screen_model.estimate_screen(
            small, s.screen, self._key, base=base, iterations=self.model_iterations
        )
        if s.learn_plate and self._plate_small is None:
            self._learnt, self._seen = screen_model.update_learnt_plate(
                self._learnt, self._seen, small, model, sheet, rate=self.learn_rate
            )
        d_screen = np.maximum(screen_model.screen_difference(model, s.screen), np.float32(0.02))
        d_small = screen_model.screen_difference(small, s.screen)
        d_fg = matte.foreground_difference(d_small, d_screen, level=self.fg_level, max_ratio=self.fg_max)

        # 2. Matte. The guided filter below reads the raw matte only at 1/refine_subsample
        # resolution, so it is solved there; its colour comes from 4:2:0 chroma, which has no
        # more detail than that anyway.
        raw = self._raw_alpha(image8, d_screen, d_fg)
        black, white = s.tolerance, s.tolerance + s.softness

        # 3. Refinement: snap the matte to full-resolution luma. The guided filter is affine in
        # its source, so the levels go before it and only the clip remains at full resolution.
        if s.refine > 0:
            luma = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
            alpha = refine.guided_upsample(
                luma, matte.levels(raw, black, white),
                max(1, int(round(s.refine / sub))), 255.0 * 255.0 * self.refine_eps,
            )
            np.clip(alpha, 0.0, 1.0, out=alpha)
        else:
            alpha = matte.clip_levels(raw, black, white)
        alpha = refine.despeckle(alpha, s.despeckle)
        alpha = refine.core_fill(alpha, s.core_fill)

        # 4. Temporal stabilisation where the picture is still (tested at model resolution).
        small_luma = cv2.cvtColor(small8, cv2.COLOR_BGR2GRAY)
        if s.temporal > 0 and self._prev_alpha is not None:
            weight = temporal.motion_weight(small_luma, self._prev_luma, s.temporal, self.motion_threshold)
            weight = cv2.resize(weight, (w, h), interpolation=cv2.INTER_LINEAR)
            alpha = temporal.stabilise(alpha, self._prev_alpha, weight)
        self._prev_alpha, self._prev_luma = alpha, small_luma

        alpha = refine.choke(alpha, s.choke)
        alpha = refine.feather(alpha, s.feather)

        # 5. Despill: unmix the soft edge against the local sheet colour.
        fg = despill.despill_frame(frame, alpha, model, s.screen, amount=s.spill, limit=s.spill_limit,
                                     limit_opaque=self.limit_opaque)
        return KeyResult(fg, alpha)
