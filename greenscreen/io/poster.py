"""The poster image beside a clip: the picture a web page shows before playback starts."""

from __future__ import annotations

import cv2
import numpy as np

from greenscreen.errors import OutputError
from greenscreen.io.colour import Matrix, i420_to_bgr
from greenscreen.io.yuv import Planes

#: Where an automatic poster is looked for: after the first seconds (people settle, fade-ins end).
AUTO_AFTER = 2.0
JPEG_QUALITY = 88


class PosterPicker:
    """Keeps one output frame as a JPEG: the frame at ``at`` seconds, or with ``at`` = 0 the
    first frame from :data:`AUTO_AFTER` s (or a quarter of a shorter clip) on that shows the
    speaker; the frame at that time if the speaker never shows."""

    def __init__(self, at: float, duration: float, matrix: Matrix, *, last_frame: float | None = None):
        """``duration`` is the clip's length and ``last_frame`` the time of its last frame
        (``duration`` if not given): an ``at`` past it takes the last frame."""
        self._auto = at <= 0
        last = duration if last_frame is None else last_frame
        self._earliest = min(at, last) if at > 0 else min(AUTO_AFTER, duration / 4)
        self._matrix = matrix
        self._fallback: bytes | None = None
        self.jpeg: bytes | None = None
        """The chosen frame, once there is one."""

    @property
    def done(self) -> bool:
        """True once a frame has been chosen: later frames need not be offered."""
        return self.jpeg is not None

    def offer(self, t: float, speaker_visible: bool, planes: Planes) -> None:
        """Consider the output frame at ``t`` seconds (its I420 planes are copied if taken)."""
        if self.done or t + 1e-6 < self._earliest:
            return
        if not self._auto or speaker_visible:
            self.jpeg = self._encode(planes)
        elif self._fallback is None:
            self._fallback = self._encode(planes)

    def take(self, planes: Planes) -> None:
        """Choose this frame (a title card), unless the poster's time was given."""
        if self._auto and not self.done:
            self.jpeg = self._encode(planes)

    def result(self) -> bytes | None:
        """The chosen JPEG (the fallback frame if the speaker never showed)."""
        return self.jpeg or self._fallback

    def _encode(self, planes: Planes) -> bytes:
        y, u, v = planes
        i420 = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(-1, y.shape[1])
        ok, data = cv2.imencode(".jpg", i420_to_bgr(i420, self._matrix), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise OutputError("cannot encode the poster image")
        return data.tobytes()
