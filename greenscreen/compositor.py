"""The per-frame function shared by render, batch and preview: place the keyed speaker, blend.

Every front end goes through one :class:`Compositor` and its one drawing path,
:meth:`Compositor.compose_i420`: the screen recording stays in the encoder's I420 planes (no
full-frame colour conversion) and only the speaker's rectangle and the overlays are blended. The
preview converts the finished frame to BGR once for display, so it shows the pixels a render
encodes and every per-pixel feature is written once.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from greenscreen.composite.blend import LightWrap, blend_over_i420
from greenscreen.composite.layout import Placement
from greenscreen.composite.window import Window
from greenscreen.frames import cover, hex_to_bgr
from greenscreen.io.stills import read_image
from greenscreen.plan import PlannedFrame, Shot, make_shot
from greenscreen.composite.logo import Logo
from greenscreen.composite.lower_third import LowerThird, LowerThirds
from greenscreen.composite.redact import Redaction, Redactor
from greenscreen.config import RenderSettings
from greenscreen.errors import SettingsError
from greenscreen.io.colour import Matrix, bgr_to_i420
from greenscreen.io.reader import Crop
from greenscreen.io.yuv import Planes, copy_planes, frame_planes, i420_planes, new_frame
from greenscreen.key import Keyer, KeyResult
from greenscreen.settings import HEX_COLOUR

BACKGROUND_BGR = (24, 24, 24)
"""Fill for output areas the screen recording does not cover (side-by-side layout)."""


@dataclass(frozen=True, eq=False)
class SpeakerLayer:
    """The keyed speaker as placed: BGR uint8 ``foreground`` and float32 ``alpha`` with their
    top-left pixel at (``x``, ``y``) of the output frame, and the light wrap (None if off)."""

    foreground: np.ndarray
    alpha: np.ndarray
    x: int
    y: int
    wrap: LightWrap | None


class Compositor:
    """Composes output frames for one tutorial: the geometry of its layouts and the overlays.

    ``output`` is the output frame size ``(W, H)``; ``speaker`` the webcam frame size after the
    crop. The settings' layout is :attr:`default` (its :attr:`placement`, :attr:`speaker_size`
    and :attr:`screen_size`); a render's plan hands each frame's own :class:`~greenscreen.plan.Shot`
    to :meth:`compose_i420`. Feed speaker frames keyed at the shot's ``key_size`` and screen
    frames at its screen box's size (the readers scale while decoding, the cheap order; other
    sizes are scaled here). ``matrix`` is the YUV matrix of the I420 frames written (the screen
    recording's, which passes through unconverted).

    The keyer is not the compositor's: a render keys in its speaker lane
    (:func:`greenscreen.pipeline.render`). :attr:`keyer` is made only when asked for (the preview).
    """

    def __init__(
        self,
        settings: RenderSettings,
        *,
        output: tuple[int, int],
        speaker: tuple[int, int],
        plate: np.ndarray | None = None,
        matrix: Matrix = "bt601",
        redactions: Sequence[Redaction] = (),
        screen_source: tuple[int, int] | None = None,
        lower_thirds: Sequence[LowerThird] = (),
        logo: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        self.settings = settings
        self.matrix = matrix
        self.output_size = output
        self.default: Shot = make_shot(settings.layout, output, speaker)
        self.placement: Placement = self.default.placement  # type: ignore[assignment]
        self.speaker_size: tuple[int, int] = self.default.key_size  # type: ignore[assignment]
        box = self.default.screen_box
        self.screen_size = (box[2], box[3]) if box else output
        self._plate = plate
        self._keyer: Keyer | None = None
        # Redactions are in the screen recording's pixels (``screen_source`` is its size).
        self._redactions = list(redactions)
        self._screen_source = screen_source or self.screen_size
        self._redactors: dict[tuple[int, int, int, int], Redactor] = {}
        self.redactor = self._redactor(box or (0, 0, *output))
        self._lower_third_items = list(lower_thirds)
        self._logo_image = logo
        self._overlays: dict[tuple[bool, bool], tuple[LowerThirds | None, Logo | None]] = {}
        self.lower_thirds, self.logo = self._overlays_for(self.default)
        key = settings.key
        self.wrap = LightWrap(key.light_wrap, key.light_wrap_size) if key.light_wrap > 0 else None
        self._background: Planes | None = None  # made on first use
        self._backdrops: dict[str, Planes] = {}
        self._pictures: dict[Shot, Planes] = {}
        self._windows: dict[Shot, Window | None] = {}
        self._scratch: av.VideoFrame | None = None

    @property
    def keyer(self) -> Keyer:
        """A keyer for the preview, which keys frame by frame as it shows them (made on first use)."""
        if self._keyer is None:
            self._keyer = Keyer(self.settings.key, plate=self._plate)
        return self._keyer

    def prepare(self, shots: Sequence[Shot]) -> None:
        """Make what ``shots`` draw with (backgrounds, windows, overlays) now, so that a missing
        background image is reported before anything is rendered and no frame waits for it."""
        for shot in shots:
            if shot.screen_box is None and shot.picture is None:
                self._backdrop(shot.style.background)
            self._window(shot)
            self._overlays_for(shot)

    def key(self, speaker: np.ndarray) -> KeyResult:
        """Key one speaker frame with :attr:`keyer` (advances its state)."""
        return self.keyer.key(speaker)

    def compose_i420(
        self, screen: Planes | None, keyed: KeyResult | None, out: Planes, t: float | None = None,
        frame: PlannedFrame | None = None,
    ) -> None:
        """Write the output frame into the I420 planes ``out`` (of :attr:`output_size`): the
        ``screen`` (I420 planes; None shows the background colour) with the ``keyed`` speaker
        (None: no speaker) and the overlays on top. ``t`` is the screen recording's time, for
        the redactions and lower thirds. ``frame`` is the plan's word on this frame (its shot and
        transition); without it the settings' layout is drawn.

        Only the speaker's rectangle is converted and blended, so the cost does not grow with
        the output size; a transition draws both shots and mixes them (up to a second of frames).
        ``screen`` is not modified (a held screen frame is shown again unchanged); ``out`` may be
        the very frame handed to the encoder.
        """
        shot = frame.shot if frame is not None else self.default
        transition = frame.transition if frame is not None else None
        if transition is not None:
            before = self._scratch_planes()
            self._draw(transition.previous, screen, keyed, before, t)
            self._draw(shot, screen, keyed, out, t)
            _mix(transition.kind, transition.progress, before, out)
        else:
            self._draw(shot, screen, keyed, out, t)
        lower_thirds, logo = self._overlays_for(shot)
        if lower_thirds is not None:
            lower_thirds.draw_i420(out, t, self.matrix)
        if logo is not None and shot.layout != "card":  # a title card shows the logo on itself
            logo.draw_i420(out, self.matrix)

    def _draw(self, shot: Shot, screen: Planes | None, keyed: KeyResult | None, out: Planes, t: float | None) -> None:
        """One shot of the frame, without the overlays."""
        box = shot.screen_box
        w, h = self.output_size
        if box is None:
            copy_planes(out, self._picture(shot) if shot.picture is not None else self._backdrop(shot.style.background))
        elif screen is not None and box == (0, 0, w, h) and screen[0].shape == (h, w):
            copy_planes(out, screen)
        else:
            # Side-by-side margins, or no screen frame yet: the background colour.
            copy_planes(out, self._background_i420())
            if screen is not None:
                x, y, bw, bh = box  # even, from the layout
                for scale, dst, src in zip((1, 2, 2), out, screen):
                    part = dst[y // scale : (y + bh) // scale, x // scale : (x + bw) // scale]
                    if src.shape == part.shape:
                        part[...] = src
                    else:  # a frame decoded for another layout (at a change, in a transition)
                        part[...] = cv2.resize(src, part.shape[::-1], interpolation=cv2.INTER_AREA)
        if screen is not None and box is not None and self._redactions:
            self._redactor(box).apply_i420(out, t)
        if shot.placement is None or keyed is None:
            return
        window = self._window(shot)
        if window is not None:
            window.draw_under(out)
        layer = self.speaker_layer(keyed, shot)
        if layer is not None:
            blend_over_i420(out, layer.foreground, layer.alpha, x=layer.x, y=layer.y, matrix=self.matrix,
                            wrap=layer.wrap)
        if window is not None:
            window.draw_over(out)

    def speaker_layer(self, keyed: KeyResult, shot: Shot | None = None) -> SpeakerLayer | None:
        """The keyed speaker as placed on the output frame in ``shot`` (the settings' layout if
        None), with the window shape (circle, rounded window) applied to the alpha and the light
        wrap to blend it with; None if nothing shows.

        Only the keyer's box around the speaker is placed (the rest is transparent), except
        with light wrap, which blurs the matte over the whole picture: where the speaker meets
        the picture's border the edge must not glow. A speaker keyed at another size than the
        shot's (the larger of two shots in a transition) is scaled to it.
        """
        shot = shot or self.default
        p = shot.placement
        if p is None:
            return None
        if shot.key_size is not None and keyed.size != shot.key_size:
            size = shot.key_size
            keyed = KeyResult(cv2.resize(keyed.foreground, size, interpolation=cv2.INTER_AREA),
                              cv2.resize(keyed.alpha, size, interpolation=cv2.INTER_AREA))
        if self.wrap is None:
            fg, alpha, x, y = keyed.box_foreground, keyed.box_alpha, keyed.x, keyed.y
        else:
            fg, alpha, x, y = keyed.foreground, keyed.alpha, 0, 0
        # The circle shows the centre of a wider source.
        left = max(0, (keyed.size[0] - p.width) // 2)
        x0, x1 = max(x, left), min(x + fg.shape[1], left + p.width)
        if x1 <= x0 or alpha.shape[0] == 0:
            return None
        fg, alpha = fg[:, x0 - x : x1 - x], alpha[:, x0 - x : x1 - x]
        x = x0 - left
        wrap = self.wrap
        if p.shape is not None:
            # The window cuts through the speaker without making an edge the screen lights.
            if wrap is not None:
                wrap = dataclasses.replace(wrap, edge=alpha)
            alpha = alpha * p.shape[y : y + alpha.shape[0], x : x + alpha.shape[1]]
        return SpeakerLayer(fg, alpha, p.x + x, p.y + y, wrap)

    def _redactor(self, box: tuple[int, int, int, int]) -> Redactor:
        """The redactions mapped onto a screen fitted into ``box`` (made once per box)."""
        redactor = self._redactors.get(box)
        if redactor is None:
            redactor = self._redactors[box] = Redactor(self._redactions, self._screen_source, box)
        return redactor

    def _overlays_for(self, shot: Shot) -> tuple[LowerThirds | None, Logo | None]:
        """Lower thirds and logo placed away from ``shot``'s speaker (made once per side)."""
        w, h = self.output_size
        p = shot.placement
        left = p is not None and p.x + p.width / 2 < w / 2
        top_right = p is not None and p.y + p.height / 2 < h / 2 and p.x + p.width / 2 > w / 2
        made = self._overlays.get((left, top_right))
        if made is None:
            made = self._overlays[(left, top_right)] = (
                LowerThirds(self._lower_third_items, self.output_size, speaker_left=left)
                if self._lower_third_items else None,
                Logo(*self._logo_image, self.output_size, speaker_top_right=top_right)
                if self._logo_image is not None else None,
            )
        return made

    def _window(self, shot: Shot) -> Window | None:
        """The rounded window's frame of ``shot``, if it has one (made once per shot)."""
        if shot not in self._windows:  # (shots hash by identity: one entry per shot of the plan)
            rounded = shot.layout == "pip" and shot.style.window != "none" and shot.placement is not None
            self._windows[shot] = Window(shot.placement, shot.style, self.output_size, self.matrix) if rounded else None
        return self._windows[shot]

    def _backdrop(self, background: str) -> Planes:
        """The ``full`` layout's background, a colour or an image filling the frame (made once)."""
        planes = self._backdrops.get(background)
        if planes is None:
            w, h = self.output_size
            # A word such as "red" (no "#", no file of that name, no extension) is a colour
            # meant by name: say what a colour looks like rather than "file not found".
            word = not background.strip() or (not Path(background).suffix and not Path(background).exists())
            if background.startswith("#") or word:
                if not re.fullmatch(HEX_COLOUR, background):
                    raise SettingsError(f"layout.background: {background!r} is neither a colour \"#rrggbb\", "
                                        "an image file nor \"screen\"")
                picture = np.full((h, w, 3), hex_to_bgr(background), np.uint8)
            else:
                picture = cover(read_image(Path(background)), (w, h))
            planes = self._backdrops[background] = i420_planes(bgr_to_i420(picture, self.matrix))
        return planes

    def _picture(self, shot: Shot) -> Planes:
        """``shot``'s own picture (a speaker intro's title card) as I420 planes (made once)."""
        if shot not in self._pictures:  # (shots hash by identity)
            self._pictures[shot] = i420_planes(bgr_to_i420(shot.picture, self.matrix))  # type: ignore[arg-type]
        return self._pictures[shot]

    def _scratch_planes(self) -> Planes:
        """An output-sized frame the last shot of a transition is drawn into (made on first use)."""
        if self._scratch is None:
            self._scratch = new_frame(*self.output_size)
        return frame_planes(self._scratch)

    def _background_i420(self) -> Planes:
        """The background colour as I420 planes of the output size (made on first use)."""
        if self._background is None:
            w, h = self.output_size
            self._background = i420_planes(
                bgr_to_i420(np.full((h, w, 3), BACKGROUND_BGR, np.uint8), self.matrix)
            )
        return self._background


def _mix(kind: str, progress: float, before: Planes, out: Planes) -> None:
    """Finish a transition in ``out`` (the new shot) from ``before`` (the last one), in place.

    crossfade: a weighted mix of the two; slide: the new shot moves in from the right over the
    last one, its left edge at ``1 - progress`` of the width.
    """
    if kind == "crossfade":
        for dst, src in zip(out, before):
            cv2.addWeighted(dst, progress, src, 1.0 - progress, 0.0, dst=dst)
        return
    width = out[0].shape[1]
    shown = min(max(int(round(progress * width / 2)) * 2, 0), width)  # even: whole chroma columns
    for scale, dst, src in zip((1, 2, 2), out, before):
        n, w = shown // scale, dst.shape[1]
        if n:
            dst[:, w - n :] = dst[:, :n].copy()
        dst[:, : w - n] = src[:, : w - n]


def crop_of(settings: RenderSettings) -> Crop:
    """The garbage-matte crop the layout settings ask for."""
    lay = settings.layout
    return Crop(lay.crop_left, lay.crop_top, lay.crop_right, lay.crop_bottom)
