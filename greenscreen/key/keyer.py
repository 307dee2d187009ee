"""The keyer: turns webcam frames of a speaker before a green sheet into foreground + alpha.

:class:`Keyer` only holds the state that must carry from frame to frame (key colour, the
learnt clean plate, the last screen model, the previous matte) and calls the pure stage
functions in this package: ``screen_model`` -> ``matte`` -> ``refine`` -> ``temporal`` ->
``despill``. The screen model covers the whole frame and is estimated on every few frames;
the later, full-resolution stages run only on the box around the speaker, as alpha is 0
outside it anyway, and :class:`KeyResult` hands over just that box.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from greenscreen.frames import check_bgr, hex_to_bgr, to_float
from greenscreen.key import despill, matte, refine, screen_model, temporal
from greenscreen.key.settings import KeySettings


@dataclass(frozen=True, eq=False)
class KeyResult:
    """One keyed frame.

    The matte is 0 outside a box around the speaker, so the keyer hands over that box only:
    ``box_foreground`` is BGR uint8 ``(h, w, 3)`` with spill removed (straight, not
    premultiplied), ``box_alpha`` float32 ``(h, w)`` in ``[0, 1]``, both with their top-left
    pixel at (``x``, ``y``) of the keyed ``frame``. ``frame`` is None when the box is the
    whole frame. :attr:`foreground` and :attr:`alpha` are the whole frame's.
    """

    box_foreground: np.ndarray
    box_alpha: np.ndarray
    x: int = 0
    y: int = 0
    frame: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the keyed frame."""
        shape = (self.box_alpha if self.frame is None else self.frame).shape
        return shape[1], shape[0]

    @cached_property
    def foreground(self) -> np.ndarray:
        """BGR uint8 ``(H, W, 3)`` of the whole frame: the frame itself outside the box
        (invisible there). Made on first use."""
        if self.frame is None:
            return self.box_foreground
        return _paste(self.box_foreground, self.frame.copy(), self.y, self.x)

    @cached_property
    def alpha(self) -> np.ndarray:
        """float32 ``(H, W)`` of the whole frame. Made on first use."""
        if self.frame is None:
            return self.box_alpha
        w, h = self.size
        return _paste(self.box_alpha, np.zeros((h, w), np.float32), self.y, self.x)


class Keyer:
    """Keys a stream of frames of one recording.

    The keyer carries state from frame to frame (key colour, learnt clean plate, last screen
    model, previous matte), so one instance serves one recording, fed in display order
    through :meth:`key`; :meth:`reset` after a seek.

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
    #: Mean change of luma or key signal (0..255, at model resolution) at which temporal
    #: smoothing lets go.
    motion_threshold = 6.0
    #: Rounds of "test pixels against the model, refill" in the screen model ...
    model_iterations = 4
    #: ... and on later frames, which start from the plate learnt so far rather than from the
    #: key colour alone, so fewer rounds reach the same sheet (measured on key_quality's moving
    #: sequences and synthetic speaker; one round let the speaker's shadow through).
    warm_iterations = 2
    #: Sheet in soft shadow beside the speaker, which the smooth screen model is too bright
    #: for, keys as sheet where its chromaticity is the sheet's within this fraction ...
    shadow_chroma = 0.05
    #: ... and its screen channel changes by less than this many levels per pixel (hair and
    #: clothes edges are steeper). 0 turns the test off. See matte.shaded_sheet.
    shadow_gradient = 3.0
    #: The screen model is estimated afresh on every this many frames and reused in between,
    #: scaled to the sheet's exposure (see _follow_exposure). A sheet hardly changes from one
    #: frame to the next (at 30 fps a moving shadow is followed 67 ms late at most), and the
    #: model was a quarter of the key's cost. On key_quality's moving sequences, clip and
    #: synthetic speaker, 2 and 3 key as well as 1.
    model_every = 3
    #: The screen model takes a pixel within this many times the noise of the sheet's colour
    #: difference below the model for sheet (see screen_model.estimate_screen). Measured on a
    #: keying audit's clips of a dim room (noise 10 levels; README, benchmarks): 2 took the
    #: sheet's veil from 0.27 to 0.11 (99th percentile of its alpha, mean over the frames) with
    #: about 1 % of the speaker's inside below 0.9; 2.5-3 took it further but left 4-8 % holes
    #: in dark clothes where the webcam repeated its pictures.
    noise_margin = 2.0
    #: How fast the learnt plate follows the sheet where it is seen.
    learn_rate = 0.3
    #: A camera's white balance and exposure move the sheet's colour by a few percent between
    #: two screen models. A channel that changes by more than this factor (either way) means
    #: the camera sees something else (the lens covered, a flat frame, the camera turned): what
    #: was learnt of the sheet is forgotten and the frame keyed afresh. Carrying such a change
    #: over instead multiplied a channel of the learnt sheet by 0, which nothing could undo.
    scene_change = 2.0
    #: Model pixels of seen sheet below which a frame shows no sheet to learn from (the
    #: camera's colour change is measured from as few, see _camera_gain).
    min_sheet_seen = 16
    #: Screen-model passes over the first frame, each learning from the one before, as later
    #: frames learn from earlier ones.
    first_frame_passes = 3
    #: Soft edges are unmixed by the speaker's coverage (the matte before its levels) where it
    #: is below this, rather than by the matte (0). Measured on key_quality's motion-blurred
    #: sequences: 0.9 takes most of the olive and pink out of blurred edges (band CIEDE2000
    #: 4.21 -> 3.99; 0.996 reached 3.90) and unmixes no more pixels than the matte's band did.
    unmix_below = 0.9
    #: Apply the residual spill limit to opaque pixels too (bounce light on the speaker).
    limit_opaque = True
    #: The guided filter's coefficients are computed at 1/refine_subsample resolution.
    refine_subsample = 2
    #: Guided-filter regularisation, for luma in [0, 1]: edges weaker than about its square
    #: root are smoothed over rather than followed.
    refine_eps = 1e-5
    #: Key only the box around the speaker (same result, less work); off keys the whole frame.
    crop_to_speaker = True
    #: Raw alpha at model resolution, as a fraction of the clip black (``tolerance``), above
    #: which a pixel may be speaker and belongs in the box.
    crop_level = 0.5
    #: Key the whole frame when the box would cover more than this fraction of it (cropping
    #: then saves little and costs a copy).
    crop_max_fraction = 0.7
    #: A part of the matte apart from the speaker (at model resolution) whose alpha nowhere
    #: reaches this is a blotch of the sheet (a crease or a shade the screen model missed),
    #: not a part of the speaker, and is cleared. A speaker's detached parts (a hand, a cable)
    #: are solid somewhere; hair is attached to the head.
    faint_level = 0.35
    #: The box covers the previous matte only where it is above this: the stabilisation carries
    #: at most ``temporal`` times it over, which an 8-bit composite rounds away. (Without it,
    #: the geometric decay of a still, once-opaque pixel would hold the box open for seconds.)
    crop_carry_level = 0.5 / 255

    def reset(self) -> None:
        """Forget what was learnt from earlier frames (e.g. after seeking)."""
        self._shape: tuple[int, int] | None = None
        self._key: np.ndarray | None = None
        self._plate_full: np.ndarray | None = None
        self._plate_small: np.ndarray | None = None
        self._plate_d: np.ndarray | None = None
        self._plate_d_sized: dict[tuple[int, int], np.ndarray] = {}
        self._plate_d_small: np.ndarray | None = None
        # The camera's colour change since the given plate was recorded (BGR gains).
        self._plate_gain = np.ones(3, np.float32)
        self._learnt: np.ndarray | None = None
        self._seen: np.ndarray | None = None
        # The previous stabilised matte over its box _prev_region (y0, y1, x0, x1); 0 outside.
        self._prev_alpha: np.ndarray | None = None
        self._prev_motion: tuple[np.ndarray, np.ndarray] | None = None
        self._prev_region: tuple[int, int, int, int] | None = None
        # The last screen model: sheet colour, its difference and where the sheet was seen.
        self._model: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._model_age = 0  # frames keyed since the model was estimated
        # The noise of the sheet's colour difference (see _sheet_noise), 0..1 units; None
        # until a frame could be measured against the one before.
        self._noise: float | None = None

    def resize(self, size: tuple[int, int]) -> None:
        """Go on keying the same picture scaled to ``size`` = ``(w, h)`` (the speaker's window
        changed size) with what was learnt so far: key colour, learnt plate, screen model and
        the camera's colour drift carry over, scaled. (A new frame size given to :meth:`key`
        alone starts afresh, as after :meth:`reset`.) Only the previous matte is dropped: the
        next frame is not smoothed against a picture of another size."""
        if self._shape is None:
            return
        w, h = size
        grow = -(-self.min_side // min(w, h)) if min(w, h) < self.min_side else 1  # as key() enlarges
        w, h = w * grow, h * grow
        s = self.settings
        pad = (-h % s.model_scale, -w % s.model_scale) if s.refine > 0 and self.crop_to_speaker else (0, 0)
        shape = (h + pad[0], w + pad[1])  # as _key_padded pads
        if shape == self._shape:
            return
        key, gain, learnt, seen, model, age = (
            self._key, self._plate_gain, self._learnt, self._seen, self._model, self._model_age)
        self._prepare(np.empty((*shape, 3), np.uint8), pad)  # reads the frame's shape only
        small = self._small_size

        def scaled(a: np.ndarray | None, how: int = cv2.INTER_LINEAR) -> np.ndarray | None:
            return None if a is None else cv2.resize(a, small, interpolation=how)

        self._key = key if key is not None else self._key
        # The noise is not carried over: at another size each model pixel averages another
        # number of the source's, so it is measured afresh (from the next two frames on).
        self._plate_gain = gain
        self._learnt, self._seen = scaled(learnt), scaled(seen)
        if model is not None:
            self._model = (scaled(model[0]), scaled(model[1]), scaled(model[2], cv2.INTER_NEAREST))
            self._model_age = age

    def _prepare(self, frame: np.ndarray, pad: tuple[int, int] = (0, 0)) -> None:
        """(Re)build the per-size state on the first frame or when the frame size changes.
        ``pad`` is how many rows and columns :meth:`key` repeated at the bottom and right."""
        h, w = frame.shape[:2]
        self.reset()
        self._shape = (h, w)
        s = self.settings
        self._small_size = (max(8, w // s.model_scale), max(8, h // s.model_scale))
        # The box's crops line up with the whole frame's resizes only when model and
        # half-resolution pixels tile the frame exactly. Without the guided filter, sensor
        # noise passes the clip black pixel by pixel all over the sheet, unseen by the box's
        # test at model resolution, so the whole frame is keyed.
        self._cropping = (
            s.refine > 0 and self._small_size == (w // s.model_scale, h // s.model_scale)
            and w % s.model_scale == 0 and h % s.model_scale == 0
            and s.model_scale % self.refine_subsample == 0
        )
        if self.plate is not None:
            # Padded like the frames, not stretched: the plate's creases must stay in line.
            plate = cv2.resize(self.plate, (w - pad[1], h - pad[0]), interpolation=cv2.INTER_AREA)
            plate = cv2.copyMakeBorder(plate, 0, pad[0], 0, pad[1], cv2.BORDER_REPLICATE)
            self._plate_full = to_float(plate)
            self._plate_small = cv2.resize(self._plate_full, self._small_size, interpolation=cv2.INTER_AREA)
            self._plate_d = screen_model.screen_difference(self._plate_full * np.float32(255.0), s.screen)
            self._plate_d_small = screen_model.screen_difference(self._plate_small, s.screen)
        if s.key_color != "auto":
            self._key = np.array(hex_to_bgr(s.key_color), np.float32) / 255.0
        elif self._plate_small is not None:
            self._key = screen_model.border_key_colour(self._plate_small, s.screen, border=0.5)

    def _raw_alpha(
        self, image8: np.ndarray, box: tuple[int, int, int, int], d_screen: np.ndarray, d_fg: np.ndarray,
        model: np.ndarray,
    ) -> np.ndarray:
        """Raw (unclipped) alpha of the ``box`` (y0, y1, x0, x1) of a BGR uint8 image, the frame
        or a shrunk copy of it.

        ``d_screen`` and ``d_fg`` are the sheet's and the speaker's colour differences at model
        resolution, ``model`` the sheet colour there. Differences are kept in 0..255 units so
        the image's own comes straight from its uint8 channels.
        """
        chan, o1, o2 = screen_model.CHANNELS[self.settings.screen]
        y0, y1, x0, x1 = box
        size = (image8.shape[1], image8.shape[0])
        # Split from a contiguous copy: cv2.split of the strided view took 7x as long.
        planes = cv2.split(np.ascontiguousarray(image8[y0:y1, x0:x1]))
        d_img = cv2.subtract(planes[chan], cv2.max(planes[o1], planes[o2]), dtype=cv2.CV_32F)
        if self._plate_d is not None:
            # The plate's own difference keeps creases sharp; the smooth gain of the model over
            # the plate follows shadows and exposure.
            gain = cv2.divide(d_screen, np.maximum(self._plate_d_small, np.float32(0.02)))
            d_scr = cv2.multiply(_resize_box(gain, size, box), self._plate_difference(size)[y0:y1, x0:x1])
        else:
            d_scr = _resize_box(d_screen * np.float32(255.0), size, box)
        d_fg = _resize_box(d_fg * np.float32(255.0), size, box)
        raw = matte.solve_alpha(d_img, d_scr, d_fg)
        if self.shadow_gradient > 0:
            sheet_level = _resize_box(cv2.extractChannel(model, chan) * np.float32(255.0), size, box)
            shaded = matte.shaded_sheet(planes[chan], d_img, d_scr, sheet_level, raw,
                                        chroma=self.shadow_chroma, gradient=self.shadow_gradient)
            # raw - raw where shaded: a masked cv2 call, 4x quicker than numpy's boolean index.
            cv2.subtract(raw, raw, dst=raw, mask=shaded)
        return raw

    def _screen_model(
        self, small: np.ndarray, gain: tuple[float, float, float, float] | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Estimate the sheet's colour at model resolution from the shrunk frame ``small`` and
        learn from it, after carrying the camera's colour change ``gain`` since the last model
        (see :meth:`_camera_gain`) over; returns the colour, its (floored) colour difference and
        a uint8 mask of where the sheet was seen."""
        s = self.settings
        learning = s.learn_plate and self._plate_small is None
        if gain is not None:
            self._follow_camera(gain)
        first = learning and self._learnt is None
        iterations = self.warm_iterations if learning and not first else self.model_iterations
        # Over time the plate follows the sheet at the same speed however often it learns.
        rate = self.learn_rate if first else 1.0 - (1.0 - self.learn_rate) ** self.model_every
        for _ in range(self.first_frame_passes if first else 1):
            base = self._learnt if learning else self._given_plate()
            model, _, sheet = screen_model.estimate_screen(
                small, s.screen, self._key, base=base, iterations=iterations,
                noise_margin=self.noise_margin * (self._noise or 0.0),
            )
            seen = cv2.compare(sheet, 0.5, cv2.CMP_GT)
            if cv2.countNonZero(seen) < self.min_sheet_seen and self._model is not None:
                # No sheet in view (the lens covered, the lights out, the speaker filling the
                # picture): the model would be a guess, and learning from it would write that
                # guess into the plate wherever the sheet was never seen. Keep the last one, in
                # the camera's colour as followed above (later gains are measured against it).
                model, d_screen = self._follow_exposure(gain, self._model[0], self._model[1])
                return model, d_screen, self._model[2]
            if learning:
                self._learnt, self._seen = screen_model.update_learnt_plate(
                    self._learnt, self._seen, small, model, sheet, rate=rate
                )
        return model, self._sheet_difference(model), seen

    def _sheet_noise(self, d_small: np.ndarray, still: np.ndarray | None) -> float | None:
        """The noise of the sheet's colour difference ``d_small`` (0..1 units, at model
        resolution), measured against the frame before where the sheet is ``still`` seen (see
        :meth:`_still_sheet`): a still sheet's folds and creases are the same in both, the
        noise is not. The last measure stands where there is nothing to measure (the first
        frame, a new size, the same picture again)."""
        if still is None or self._prev_motion is None or self._prev_motion[1].shape != d_small.shape:
            return self._noise
        # Every other pixel each way: a median of a quarter of them is as good, and a quarter
        # of the cost.
        seen = still[::2, ::2] > 0
        if np.count_nonzero(seen) < self.min_sheet_seen:
            return self._noise
        change = (d_small[::2, ::2] * np.float32(255.0) - self._prev_motion[1][::2, ::2])[seen]
        deviation = np.abs(change - np.median(change))
        spread = float(np.median(deviation))
        if spread == 0.0:
            # Most of the sheet did not change (the levels are whole): the same picture again,
            # or a camera with next to no noise.
            return 0.0 if self._noise is None else self._noise
        # The levels are whole, so the median deviation comes in steps of a level; the mean
        # deviation of the values within a few of it (leaving out what moved) does not.
        # sqrt(pi / 2) turns a mean deviation into a standard one, and a difference of two
        # noisy frames has sqrt(2) times each one's noise.
        core = deviation[deviation <= 3.0 * spread + 1.0]
        return float(np.mean(core)) * 1.2533 / np.sqrt(2.0) / 255.0

    def _follow_camera(self, gain: tuple[float, float, float, float]) -> None:
        """Carry the whole picture's colour change ``gain`` since the last screen model over
        into everything the keyer remembers of the sheet: the learnt plate (also where the
        speaker hides it), the given plate and the key colour.

        A webcam's automatic white balance and exposure move every pixel of the sheet by the
        same per-channel gain. The learnt plate only learns where the sheet is seen and keys
        as sheet, so without this the part hidden behind the speaker kept the old colour and,
        once uncovered, keyed as a ghost of the speaker; and a swing beyond the screen
        model's tolerance stopped the learning altogether, leaving a veil over the sheet.
        """
        g = np.array(gain[:3], np.float32)
        if self._learnt is not None:
            self._learnt = cv2.multiply(self._learnt, gain)
        if self._plate_small is not None:
            self._plate_gain = self._plate_gain * g
        if self._key is not None:
            self._key = self._key * g

    def _forget_sheet(self) -> None:
        """Forget what was learnt of the sheet and of the previous frames (the camera sees
        something else, see :attr:`scene_change`): learnt plate, screen model, previous matte,
        and an automatic key colour, which the next frame's border gives afresh. A given plate
        and key colour stay."""
        self._learnt = self._seen = None
        self._model = None
        self._model_age = 0
        self._prev_alpha = self._prev_motion = self._prev_region = None
        if self.settings.key_color == "auto" and self._plate_small is None:
            self._key = None

    def _given_plate(self) -> np.ndarray | None:
        """The given clean plate at model resolution, in the camera's current colour."""
        if self._plate_small is None:
            return None
        return cv2.multiply(self._plate_small, tuple(float(v) for v in self._plate_gain) + (1.0,))

    def _still_sheet(self, d_small: np.ndarray) -> np.ndarray:
        """uint8 mask, at model resolution, of where the last screen model saw the sheet and
        the frame with colour difference ``d_small`` still looks like sheet (the speaker may
        have moved over some of it)."""
        _, d_screen, sheet = self._model
        return cv2.bitwise_and(sheet, cv2.compare(d_small, d_screen * np.float32(0.5), cv2.CMP_GT))

    def _camera_gain(self, small: np.ndarray, still: np.ndarray) -> tuple[float, float, float, float] | None:
        """Per-channel gain (a 4-tuple, cv2's scalar) by which the sheet that the last screen
        model saw has brightened or dimmed in ``small``, measured where it is ``still`` sheet,
        or None if too little of it is still in view."""
        if cv2.countNonZero(still) < self.min_sheet_seen:
            return None
        now, then = cv2.mean(small, mask=still)[:3], cv2.mean(self._model[0], mask=still)[:3]
        return tuple(_ratio(a, b) for a, b in zip(now, then)) + (1.0,)

    def _follow_exposure(
        self, gain: tuple[float, float, float, float] | None, model: np.ndarray, d_screen: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The last screen model, scaled per channel by ``gain``, how much the sheet it saw has
        brightened or dimmed since (see :meth:`_camera_gain`): a webcam's exposure and white
        balance drift by a percent or more a frame while they settle, which would key the
        whole sheet faintly."""
        if gain is None:
            return model, d_screen
        model = cv2.multiply(model, gain)
        return model, self._sheet_difference(model)

    def _sheet_difference(self, model: np.ndarray) -> np.ndarray:
        """The screen model's colour difference, floored so that a grey patch of model (no
        sheet anywhere near) cannot blow up the divisions of the matte."""
        return np.maximum(screen_model.screen_difference(model, self.settings.screen), np.float32(0.02))

    def _plate_difference(self, size: tuple[int, int]) -> np.ndarray:
        """The plate's colour difference (0..255 units) area-averaged to ``size``, cached."""
        d = self._plate_d_sized.get(size)
        if d is None:
            d = cv2.resize(self._plate_d, size, interpolation=cv2.INTER_AREA)
            self._plate_d_sized[size] = d
        return d

    #: Frames with a side shorter than this are keyed enlarged (see :meth:`key`): the stages
    #: work at half and at model resolution, where a picture of a pixel or two (the speaker
    #: in a picture-in-picture box over a tiny screen recording) has no pixels left.
    min_side = 8

    def key(self, frame: np.ndarray) -> KeyResult:
        """Key one BGR uint8 frame and return its despilled foreground and alpha.

        Any size from 1x1 up is keyed. A frame with a side shorter than :attr:`min_side` is
        keyed enlarged by a whole factor (each pixel repeated) and the result averaged back
        down, so it comes out at the frame's own size.
        """
        check_bgr(frame)
        h, w = frame.shape[:2]
        if min(h, w) >= self.min_side:
            return self._key_padded(frame)
        f = -(-self.min_side // min(h, w))
        big = self._key_padded(cv2.resize(frame, (w * f, h * f), interpolation=cv2.INTER_NEAREST))
        # Whole blocks of f x f averaged: a block of one repeated pixel gives that pixel back.
        return KeyResult(
            cv2.resize(big.foreground, (w, h), interpolation=cv2.INTER_AREA),
            cv2.resize(big.alpha, (w, h), interpolation=cv2.INTER_AREA),
        )

    def _key_padded(self, frame: np.ndarray) -> KeyResult:
        """:meth:`key` for a frame of at least :attr:`min_side` pixels each way."""
        s = self.settings
        h, w = frame.shape[:2]
        # Only the box around the speaker is keyed when model and half-resolution pixels tile
        # the frame exactly (see _prepare). Other sizes (424x238, the 720p picture-in-picture
        # size) are keyed with their last rows and columns repeated up to a whole model pixel,
        # and the result cut back: the repeated pixels cost far less than keying the whole frame.
        pad_y, pad_x = -h % s.model_scale, -w % s.model_scale
        if (pad_y or pad_x) and s.refine > 0 and self.crop_to_speaker:
            padded = cv2.copyMakeBorder(frame, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
            return _cut(self._key_frame(padded, (pad_y, pad_x)), frame)
        return self._key_frame(frame)

    def _key_frame(self, frame: np.ndarray, pad: tuple[int, int] = (0, 0)) -> KeyResult:
        """:meth:`_key_padded` of a frame whose size needs no padding (or cannot crop anyway),
        or that was padded by ``pad`` rows and columns."""
        s = self.settings
        if self._shape != frame.shape[:2]:
            self._prepare(frame, pad)
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
        d_small = screen_model.screen_difference(small, s.screen)
        still = None if self._model is None else self._still_sheet(d_small)
        gain = None if still is None else self._camera_gain(small, still)
        if gain is not None and not all(1 / self.scene_change <= g <= self.scene_change for g in gain[:3]):
            self._forget_sheet()
            gain = still = None  # nor is the change from the frame before the camera's noise
        if self._key is None:
            self._key = screen_model.border_key_colour(small, s.screen)
        due = self._model is None or self._model_age + 1 >= self.model_every
        # The noise can be measured from the second frame on: a model that allowed for none is
        # made again at once rather than keying a noisy sheet as a veil until the next is due
        # (which stays due when it was).
        first_noise = False
        if due or self._noise is None:
            noise = self._sheet_noise(d_small, still)
            first_noise = not due and self._noise is None and bool(noise)
            self._noise = noise
        if due or first_noise:
            self._model = self._screen_model(small, gain)
            self._model_age = 0 if due else self._model_age + 1
            model, d_screen, _ = self._model
        else:
            self._model_age += 1
            model, d_screen = self._follow_exposure(gain, self._model[0], self._model[1])
        d_fg = matte.foreground_difference(d_small, d_screen, level=self.fg_level, max_ratio=self.fg_max)

        # Motion is tested on the luma and on the key signal (the colour difference): an edge of
        # skin moving over a sheet of about its brightness changes the one but hardly the other,
        # and a luma-only test let the matte lag behind it.
        motion = (cv2.cvtColor(small8, cv2.COLOR_BGR2GRAY).astype(np.float32), cv2.multiply(d_small, 255.0))
        weight = None
        if s.temporal > 0 and self._prev_alpha is not None:
            weight = temporal.motion_weight(motion, self._prev_motion, s.temporal, self.motion_threshold)

        # Steps 2-5 run only on the box where alpha can be above 0; outside it alpha is 0 and
        # the foreground is the frame itself (invisible).
        parts, near = self._speaker_parts(matte.solve_alpha(d_small, d_screen, d_fg), sub)
        box = self._speaker_box(parts, sub)
        whole = box is None
        y0, y1, x0, x1 = (0, h, 0, w) if whole else box
        if y1 <= y0 or x1 <= x0:
            # No box: the matte is 0 everywhere, now and for the next frame's stabilisation.
            self._prev_alpha, self._prev_motion, self._prev_region = np.zeros((0, 0), np.float32), motion, None
            return KeyResult(frame.copy(), np.zeros((h, w), np.float32))
        crop = frame if whole else np.ascontiguousarray(frame[y0:y1, x0:x1])

        # 2. Matte. The guided filter below reads the raw matte only at 1/refine_subsample
        # resolution, so it is solved there; its colour comes from 4:2:0 chroma, which has no
        # more detail than that anyway.
        hbox = (y0 // sub, y1 // sub, x0 // sub, x1 // sub)
        raw = self._raw_alpha(image8, hbox, d_screen, d_fg, model)
        if near is not None:
            # The dropped faint parts key as sheet (raw 0) before the guided filter rather than
            # being cut out of its full-resolution result: a quarter of the pixels.
            raw = cv2.multiply(raw, _resize_box(near, (image8.shape[1], image8.shape[0]), hbox, cv2.INTER_NEAREST),
                               dtype=cv2.CV_32F)
        black, white = s.tolerance, s.tolerance + s.softness

        # 3. Refinement: snap the matte to full-resolution luma. The guided filter is affine in
        # its source, so the levels go before it and only the clip remains at full resolution.
        if s.refine > 0:
            luma = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)
            levelled = refine.guided_upsample(
                luma, matte.levels(raw, black, white),
                max(1, int(round(s.refine / sub))), 255.0 * 255.0 * self.refine_eps,
            )
        else:
            levelled = matte.levels(raw, black, white)
        alpha = np.clip(levelled, 0.0, 1.0)
        # The box's edge is sheet all round (see _speaker_box), so a region touching it is the
        # sheet around the speaker, as one touching the frame border is.
        alpha = refine.despeckle(alpha, s.despeckle)
        alpha = refine.core_fill(alpha, s.core_fill)

        # 4. Temporal stabilisation where the picture is still (tested at model resolution).
        if weight is not None:
            alpha = temporal.stabilise(alpha, self._previous_matte((y0, y1, x0, x1)),
                                       _resize_box(weight, (w, h), (y0, y1, x0, x1)))
        # Kept as keyed, over its box only: 0 outside it.
        self._prev_alpha, self._prev_motion, self._prev_region = alpha, motion, (y0, y1, x0, x1)

        alpha = refine.choke(alpha, s.choke)
        alpha = refine.feather(alpha, s.feather)

        # 5. Despill: unmix the soft edge against the local sheet colour.
        # The edge's colour is unmixed by the speaker's coverage, the matte before its levels
        # (see despill.despill_frame). A choke or feather moves the matte away from it, and
        # holes the core fill made opaque are not edges to unmix.
        coverage = self.unmix_below > 0 and s.choke == 0 and s.feather <= 0 and s.core_fill <= 0
        fg = despill.despill_frame(crop, alpha, model, s.screen, amount=s.spill, limit=s.spill_limit,
                                     limit_opaque=self.limit_opaque, origin=(x0, y0), frame_size=(w, h),
                                     band=(0.004, self.unmix_below) if coverage else (0.004, 0.996),
                                     unclipped=levelled if coverage else None, levels=(black, white))
        return KeyResult(fg, alpha) if whole else KeyResult(fg, alpha, x0, y0, frame)

    def _previous_matte(self, box: tuple[int, int, int, int]) -> np.ndarray:
        """The previous frame's stabilised matte over ``box`` (y0, y1, x0, x1): what it kept of
        its own box, 0 elsewhere."""
        if self._prev_region == box:
            return self._prev_alpha
        y0, y1, x0, x1 = box
        prev = np.zeros((y1 - y0, x1 - x0), np.float32)
        if self._prev_region is not None:
            py0, py1, px0, px1 = self._prev_region
            iy0, iy1, ix0, ix1 = max(y0, py0), min(y1, py1), max(x0, px0), min(x1, px1)
            if iy1 > iy0 and ix1 > ix0:
                prev[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = self._prev_alpha[
                    iy0 - py0 : iy1 - py0, ix0 - px0 : ix1 - px0]
        return prev

    def _speaker_parts(
        self, raw: np.ndarray, sub: int
    ) -> tuple[tuple[int, int, int, int], np.ndarray | None]:
        """The parts of the model-resolution raw alpha that are the speaker.

        Returns their bounding rectangle (x, y, w, h) at model resolution (w = 0 if none) and,
        if any faint part apart from them was dropped (see :attr:`faint_level`), a uint8 mask
        at model resolution of where the matte may stay: 1 within the later stages' reach of a
        kept part (about the margin of :meth:`_speaker_box`), else 0. ``None`` when nothing was
        dropped.
        """
        s = self.settings
        maybe = cv2.compare(raw, self.crop_level * s.tolerance, cv2.CMP_GT)
        # Without stats: connectedComponentsWithStats took 5x as long on these small masks, and
        # the one rectangle needed comes from boundingRect.
        n, labels = cv2.connectedComponents(maybe, connectivity=8)
        if n <= 1:
            return (0, 0, 0, 0), None
        solid = raw > np.float32(s.tolerance + self.faint_level * s.softness)
        kept = np.bincount(labels[solid], minlength=n) > 0
        kept[0] = False
        if kept[1:].all():
            return cv2.boundingRect(maybe), None
        if not kept.any():
            return (0, 0, 0, 0), np.zeros_like(maybe)
        parts = kept.astype(np.uint8).take(labels)
        # Rounded down, so the mask stays inside the box grown from the same parts.
        grow = max(1, self._margin(sub) // s.model_scale)
        near = cv2.dilate(parts, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
        return cv2.boundingRect(parts), near

    def _margin(self, sub: int) -> int:
        """Full-resolution pixels by which the later stages can spread the matte beyond the
        model pixels it comes from, and by which the box's edge handling can pull it in."""
        s = self.settings
        reach = sub * (2 * max(1, int(round(s.refine / sub))) + 1)
        # Twice the filter's reach: once for what spreads out of the box's content, once for
        # what the box's edge handling (instead of the real neighbours) spreads in. Another
        # model pixel for detail the model resolution averages away.
        return 2 * reach + self._spread() + s.model_scale

    def _spread(self) -> int:
        """Full-resolution pixels by which choke and feather can grow the stabilised matte."""
        s = self.settings
        return abs(s.choke) + _gaussian_half_width(s.feather) + 1

    def _speaker_box(self, parts: tuple[int, int, int, int], sub: int) -> tuple[int, int, int, int] | None:
        """Full-resolution box (y0, y1, x0, x1) outside which the matte is surely 0, or
        ``None`` when it is not worth cropping (or cropping is off) and the whole frame is keyed.

        The box is the speaker's ``parts`` (model pixels that are not clearly sheet, see
        :meth:`_speaker_parts`), grown by how far the later stages spread the matte (guided
        filter, choke, feather), so that the box's edge stays sheet and the filters see there
        what they would see in the whole frame. It also covers the previous matte, which the
        temporal stabilisation carries over. An empty box means no speaker.
        """
        if not self.crop_to_speaker or not self._cropping:
            return None
        s = self.settings
        scale = s.model_scale
        mx, my, mw, mh = parts
        spread = self._spread()
        boxes = []
        if mw > 0:
            m = self._margin(sub)
            boxes.append((my * scale - m, (my + mh) * scale + m, mx * scale - m, (mx + mw) * scale + m))
            if not self._enclosing_box(boxes):
                return None
        if s.temporal > 0 and self._prev_region is not None:
            # Looked for only now, as a frame keyed whole is often followed by another.
            py0, py1, px0, px1 = self._prev_region
            carried = cv2.compare(self._prev_alpha, self.crop_carry_level, cv2.CMP_GT)
            bx, by, bw, bh = cv2.boundingRect(carried)
            if bw > 0:
                py0, px0 = py0 + by, px0 + bx
                boxes.append((py0 - spread, py0 + bh + spread, px0 - spread, px0 + bw + spread))
        if not boxes:
            return (0, 0, 0, 0)
        return self._enclosing_box(boxes)

    def _enclosing_box(self, boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int] | None:
        """The box (y0, y1, x0, x1) around ``boxes``, within the frame and aligned to the
        half-resolution solve (so its pixels are the whole frame's); ``None`` if it would
        cover more than ``crop_max_fraction`` of the frame."""
        h, w = self._shape
        sub = self.refine_subsample
        y0 = max(0, min(b[0] for b in boxes)) // sub * sub
        x0 = max(0, min(b[2] for b in boxes)) // sub * sub
        y1 = min(h, -(-max(b[1] for b in boxes) // sub) * sub)
        x1 = min(w, -(-max(b[3] for b in boxes) // sub) * sub)
        if (y1 - y0) * (x1 - x0) > self.crop_max_fraction * h * w:
            return None
        return y0, y1, x0, x1


def _ratio(now: float, then: float, floor: float = 2.0 / 255.0) -> float:
    """``now / then`` for a channel's level; near 0 (below ``floor``) on either side, the
    levels get ``floor`` added first, so 0 -> 40 levels reads as a large change rather than as
    an unknown one (and both near 0 as none)."""
    if min(now, then) < floor:
        return (now + floor) / (then + floor)
    return now / then


def _resize_box(
    src: np.ndarray, size: tuple[int, int], box: tuple[int, int, int, int], interpolation: int = cv2.INTER_LINEAR
) -> np.ndarray:
    """``cv2.resize(src, size, interpolation=interpolation)[y0:y1, x0:x1]``, resizing only
    the part of ``src`` under ``box`` (y0, y1, x0, x1); ``interpolation`` is INTER_LINEAR or
    INTER_NEAREST.

    Unless ``box`` is the whole of ``size``, ``size`` must be a whole multiple of ``src``'s.
    A linear output pixel reads the two source pixels around ``(x + 0.5) / factor - 0.5``, so
    one source pixel more on each side gives the same weights and neighbours as the whole
    resize; a nearest one reads the pixel ``x // factor`` and needs none.
    """
    y0, y1, x0, x1 = box
    if y0 == 0 and x0 == 0 and (x1, y1) == size:
        return cv2.resize(src, size, interpolation=interpolation)
    f = size[0] // src.shape[1]
    pad = 0 if interpolation == cv2.INTER_NEAREST else 1
    sy0, sx0 = max(0, y0 // f - pad), max(0, x0 // f - pad)
    sy1, sx1 = min(src.shape[0], -(-y1 // f) + pad), min(src.shape[1], -(-x1 // f) + pad)
    part = cv2.resize(src[sy0:sy1, sx0:sx1], ((sx1 - sx0) * f, (sy1 - sy0) * f),
                      interpolation=interpolation)
    return part[y0 - sy0 * f:y1 - sy0 * f, x0 - sx0 * f:x1 - sx0 * f]


def _cut(result: KeyResult, frame: np.ndarray) -> KeyResult:
    """``result`` of a frame padded at the bottom and right, cut back to ``frame`` (the frame
    before padding)."""
    h, w = frame.shape[:2]
    x, y = result.x, result.y
    if result.frame is None:  # the whole padded frame
        fg, alpha = result.box_foreground[:h, :w], result.box_alpha[:h, :w]
        return KeyResult(np.ascontiguousarray(fg), np.ascontiguousarray(alpha))
    fg, alpha = result.box_foreground[:h - y, :w - x], result.box_alpha[:h - y, :w - x]
    # Copies only when columns were cut.
    return KeyResult(np.ascontiguousarray(fg), np.ascontiguousarray(alpha), x, y, frame)


def _paste(part: np.ndarray, canvas: np.ndarray, y0: int, x0: int) -> np.ndarray:
    """Write ``part`` into ``canvas`` with its top-left corner at (``y0``, ``x0``); returns ``canvas``."""
    canvas[y0:y0 + part.shape[0], x0:x0 + part.shape[1]] = part
    return canvas


def _gaussian_half_width(sigma: float) -> int:
    """Half the kernel width cv2.GaussianBlur picks for a float image and ``sigma`` (0 if none)."""
    if sigma <= 0:
        return 0
    return (int(round(sigma * 4 * 2 + 1)) | 1) // 2
