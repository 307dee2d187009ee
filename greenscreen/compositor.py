"""The per-frame function shared by render, batch and preview: key the speaker, place it, blend.

Every front end goes through one :class:`Compositor`: the preview calls :meth:`Compositor.compose`
with BGR frames, render calls :meth:`Compositor.compose_i420` with the screen recording still in
the encoder's I420 planes (no full-frame colour conversion). Both share the geometry and the
speaker layer and give the same pixels up to rounding (tests/test_render_paths.py checks +-2),
so the preview shows what a render writes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from greenscreen.composite.blend import LightWrap, blend_over, blend_over_i420
from greenscreen.composite.layout import Placement, place_speaker, speaker_source_size
from greenscreen.config import RenderSettings
from greenscreen.io.colour import Matrix, bgr_to_i420
from greenscreen.io.reader import Crop
from greenscreen.io.yuv import Planes, copy_planes, i420_planes
from greenscreen.key import Keyer, KeyResult

BACKGROUND_BGR = (24, 24, 24)
"""Fill for output areas the screen recording does not cover (side-by-side layout)."""


class Compositor:
    """Composes output frames for one tutorial: one keyer (with its state) and one placement.

    ``output`` is the output frame size ``(W, H)``; ``speaker`` the webcam frame size after the
    crop. Feed speaker frames already cropped and scaled to :attr:`speaker_size`, and screen frames
    scaled to :attr:`screen_size` (the reader does both while decoding, which is the cheap order).
    ``matrix`` is the YUV matrix of the I420 frames :meth:`compose_i420` writes (the screen
    recording's, which passes through unconverted).
    """

    def __init__(
        self,
        settings: RenderSettings,
        *,
        output: tuple[int, int],
        speaker: tuple[int, int],
        plate: np.ndarray | None = None,
        matrix: Matrix = "bt601",
    ):
        self.settings = settings
        self.matrix = matrix
        self.output_size = output
        self.placement: Placement = place_speaker(settings.layout, output=output, speaker=speaker)
        self.speaker_size = speaker_source_size(settings.layout, self.placement, speaker)
        box = self.placement.screen_box
        self.screen_size = (box[2], box[3]) if box else output
        self.keyer = Keyer(settings.key, plate=plate)
        key = settings.key
        self.wrap = LightWrap(key.light_wrap, key.light_wrap_size) if key.light_wrap > 0 else None
        self._canvas = np.empty((output[1], output[0], 3), np.uint8)
        self._canvas[:] = BACKGROUND_BGR
        self._background: Planes | None = None  # made on first use: only render needs it

    def key(self, speaker: np.ndarray) -> KeyResult:
        """Key one speaker frame (advances the keyer's state)."""
        return self.keyer.key(speaker)

    def compose(self, screen: np.ndarray | None, keyed: KeyResult | None) -> np.ndarray:
        """Return the output frame: ``screen`` with the ``keyed`` speaker blended on top.

        ``screen`` is BGR uint8 of :attr:`screen_size` (None shows the background colour);
        ``keyed`` None shows no speaker. The returned BGR array is reused by the next call: copy
        it to keep it.
        """
        canvas = self._canvas
        box = self.placement.screen_box
        if screen is not None and box is None:
            canvas[...] = screen
        else:
            # Reset the margins too: the last frame's speaker may sit there (side-by-side).
            canvas[:] = BACKGROUND_BGR
            if screen is not None:
                x, y, w, h = box
                canvas[y : y + h, x : x + w] = screen
        if keyed is not None:
            fg, alpha, wrap = self.speaker_layer(keyed)
            blend_over(canvas, fg, alpha, x=self.placement.x, y=self.placement.y, wrap=wrap)
        return canvas

    def compose_i420(self, screen: Planes | None, keyed: KeyResult | None, out: Planes) -> None:
        """:meth:`compose` in I420: write the output frame into the planes ``out`` (of
        :attr:`output_size`), from a ``screen`` given as I420 planes of :attr:`screen_size`.

        Only the speaker's rectangle is converted and blended, so the cost does not grow with
        the output size. ``screen`` is not modified (a held screen frame is shown again
        unchanged); ``out`` may be the very frame handed to the encoder.
        """
        box = self.placement.screen_box
        if screen is not None and box is None:
            copy_planes(out, screen)
        else:
            # Side-by-side margins, or no screen frame yet: the background colour.
            copy_planes(out, self._background_i420())
            if screen is not None:
                x, y, w, h = box  # even, from the layout
                for scale, dst, src in zip((1, 2, 2), out, screen):
                    dst[y // scale : (y + h) // scale, x // scale : (x + w) // scale] = src
        if keyed is not None:
            fg, alpha, wrap = self.speaker_layer(keyed)
            blend_over_i420(out, fg, alpha, x=self.placement.x, y=self.placement.y, matrix=self.matrix,
                            wrap=wrap)

    def speaker_layer(self, keyed: KeyResult) -> tuple[np.ndarray, np.ndarray, LightWrap | None]:
        """The keyed speaker as placed: ``(foreground BGR uint8, alpha float32)`` of the
        placement's size, with the window shape (the circle) applied to the alpha, and the
        light wrap to blend it with (None if off)."""
        p = self.placement
        fg, alpha = keyed.foreground, keyed.alpha
        if fg.shape[1] > p.width:  # circle: show the centre of a wider source
            left = (fg.shape[1] - p.width) // 2
            fg, alpha = fg[:, left : left + p.width], alpha[:, left : left + p.width]
        wrap = self.wrap
        if p.shape is not None:
            # The window cuts through the speaker without making an edge the screen lights.
            if wrap is not None:
                wrap = dataclasses.replace(wrap, edge=alpha)
            alpha = alpha * p.shape
        return fg, alpha, wrap

    def _background_i420(self) -> Planes:
        """The background colour as I420 planes of the output size (made on first use)."""
        if self._background is None:
            w, h = self.output_size
            self._background = i420_planes(
                bgr_to_i420(np.full((h, w, 3), BACKGROUND_BGR, np.uint8), self.matrix)
            )
        return self._background


def crop_of(settings: RenderSettings) -> Crop:
    """The garbage-matte crop the layout settings ask for."""
    lay = settings.layout
    return Crop(lay.crop_left, lay.crop_top, lay.crop_right, lay.crop_bottom)
