"""The per-frame function shared by render, batch and preview: key the speaker, place it, blend.

Every front end goes through one :class:`Compositor` and its one drawing path,
:meth:`Compositor.compose_i420`: the screen recording stays in the encoder's I420 planes (no
full-frame colour conversion) and only the speaker's rectangle and the overlays are blended. The
preview converts the finished frame to BGR once for display, so it shows the pixels a render
encodes and every per-pixel feature is written once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from greenscreen.composite.blend import LightWrap, blend_over_i420
from greenscreen.composite.layout import Placement, place_speaker, speaker_source_size
from greenscreen.composite.logo import Logo
from greenscreen.composite.lower_third import LowerThird, LowerThirds
from greenscreen.composite.redact import Redaction, Redactor
from greenscreen.config import RenderSettings
from greenscreen.io.colour import Matrix, bgr_to_i420
from greenscreen.io.reader import Crop
from greenscreen.io.yuv import Planes, copy_planes, i420_planes
from greenscreen.key import Keyer, KeyResult

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
        redactions: Sequence[Redaction] = (),
        screen_source: tuple[int, int] | None = None,
        lower_thirds: Sequence[LowerThird] = (),
        logo: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        self.settings = settings
        self.matrix = matrix
        self.output_size = output
        self.placement: Placement = place_speaker(settings.layout, output=output, speaker=speaker)
        self.speaker_size = speaker_source_size(settings.layout, self.placement, speaker)
        box = self.placement.screen_box
        self.screen_size = (box[2], box[3]) if box else output
        # Redactions are in the screen recording's pixels (``screen_source`` is its size).
        self.redactor = Redactor(redactions, screen_source or self.screen_size, box or (0, 0, *output))
        p = self.placement
        self.lower_thirds = LowerThirds(
            lower_thirds, output, speaker_left=p.x + p.width / 2 < output[0] / 2
        ) if lower_thirds else None
        self.logo = Logo(
            *logo, output,
            speaker_top_right=p.y + p.height / 2 < output[1] / 2 and p.x + p.width / 2 > output[0] / 2,
        ) if logo is not None else None
        self.keyer = Keyer(settings.key, plate=plate)
        key = settings.key
        self.wrap = LightWrap(key.light_wrap, key.light_wrap_size) if key.light_wrap > 0 else None
        self._background: Planes | None = None  # made on first use

    def key(self, speaker: np.ndarray) -> KeyResult:
        """Key one speaker frame (advances the keyer's state)."""
        return self.keyer.key(speaker)

    def compose_i420(
        self, screen: Planes | None, keyed: KeyResult | None, out: Planes, t: float | None = None
    ) -> None:
        """Write the output frame into the I420 planes ``out`` (of :attr:`output_size`): the
        ``screen`` (I420 planes of :attr:`screen_size`; None shows the background colour) with
        the ``keyed`` speaker (None: no speaker) and the overlays on top. ``t`` is the screen
        recording's time, for the redactions and lower thirds.

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
        if screen is not None and self.redactor:
            self.redactor.apply_i420(out, t)
        layer = None if keyed is None else self.speaker_layer(keyed)
        if layer is not None:
            blend_over_i420(out, layer.foreground, layer.alpha, x=layer.x, y=layer.y, matrix=self.matrix,
                            wrap=layer.wrap)
        if self.lower_thirds is not None:
            self.lower_thirds.draw_i420(out, t, self.matrix)
        if self.logo is not None:
            self.logo.draw_i420(out, self.matrix)

    def speaker_layer(self, keyed: KeyResult) -> SpeakerLayer | None:
        """The keyed speaker as placed on the output frame, with the window shape (the circle)
        applied to the alpha and the light wrap to blend it with; None if nothing shows.

        Only the keyer's box around the speaker is placed (the rest is transparent), except
        with light wrap, which blurs the matte over the whole picture: where the speaker meets
        the picture's border the edge must not glow.
        """
        p = self.placement
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
