"""The per-frame function shared by render, batch and preview: key the speaker, place it, blend.

Because every front end calls :meth:`Compositor.compose`, the preview shows exactly what a
render writes.
"""

from __future__ import annotations

import numpy as np

from greenscreen.composite.blend import blend_over
from greenscreen.composite.layout import Placement, place_speaker, speaker_source_size
from greenscreen.config import RenderSettings
from greenscreen.io.reader import Crop
from greenscreen.key import Keyer, KeyResult

BACKGROUND_BGR = (24, 24, 24)
"""Fill for output areas the screen recording does not cover (side-by-side layout)."""


class Compositor:
    """Composes output frames for one tutorial: one keyer (with its state) and one placement.

    ``output`` is the output frame size ``(W, H)``; ``speaker`` the webcam frame size after the
    crop. Feed speaker frames already cropped and scaled to :attr:`speaker_size`, and screen frames
    scaled to :attr:`screen_size` (the reader does both while decoding, which is the cheap order).
    """

    def __init__(
        self,
        settings: RenderSettings,
        *,
        output: tuple[int, int],
        speaker: tuple[int, int],
        plate: np.ndarray | None = None,
    ):
        self.settings = settings
        self.output_size = output
        self.placement: Placement = place_speaker(settings.layout, output=output, speaker=speaker)
        self.speaker_size = speaker_source_size(settings.layout, self.placement, speaker)
        box = self.placement.screen_box
        self.screen_size = (box[2], box[3]) if box else output
        self.keyer = Keyer(settings.key, plate=plate)
        self._canvas = np.empty((output[1], output[0], 3), np.uint8)
        self._canvas[:] = BACKGROUND_BGR

    def key(self, speaker: np.ndarray) -> KeyResult:
        """Key one speaker frame (advances the keyer's state)."""
        return self.keyer.key(speaker)

    def compose(self, screen: np.ndarray | None, keyed: KeyResult | None) -> np.ndarray:
        """Return the output frame: ``screen`` with the ``keyed`` speaker blended on top.

        ``screen`` None shows the background colour; ``keyed`` None shows no speaker. The
        returned array is reused by the next call: copy it to keep it.
        """
        canvas = self._canvas
        box = self.placement.screen_box
        if screen is None:
            canvas[:] = BACKGROUND_BGR
        elif box is None:
            canvas[...] = screen
        else:
            x, y, w, h = box
            canvas[y : y + h, x : x + w] = screen
        if keyed is not None:
            p = self.placement
            fg, alpha = keyed.foreground, keyed.alpha
            if fg.shape[1] > p.width:  # circle: show the centre of a wider source
                left = (fg.shape[1] - p.width) // 2
                fg, alpha = fg[:, left : left + p.width], alpha[:, left : left + p.width]
            if p.shape is not None:
                alpha = alpha * p.shape
            blend_over(canvas, fg, alpha, x=p.x, y=p.y)
        return canvas


def crop_of(settings: RenderSettings) -> Crop:
    """The garbage-matte crop the layout settings ask for."""
    lay = settings.layout
    return Crop(lay.crop_left, lay.crop_top, lay.crop_right, lay.crop_bottom)
