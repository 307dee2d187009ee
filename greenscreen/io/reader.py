"""Decode a recording into timestamped BGR frames, optionally cropped and scaled on the way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from greenscreen.errors import MediaError
from greenscreen.io.probe import _reason, open_container


@dataclass(frozen=True)
class Crop:
    """Pixels to cut from each edge of a source frame (a garbage matte)."""

    left: int = 0
    top: int = 0
    right: int = 0
    bottom: int = 0

    def __bool__(self) -> bool:
        return any((self.left, self.top, self.right, self.bottom))

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """Return ``(x0, y0, x1, y1)`` of the kept area in a ``width`` x ``height`` frame."""
        x0, y0 = self.left, self.top
        x1, y1 = width - self.right, height - self.bottom
        if x1 - x0 < 2 or y1 - y0 < 2:
            raise ValueError(f"crop {self} leaves nothing of a {width}x{height} frame")
        return x0, y0, x1, y1


def read_frames(
    path: Path,
    *,
    size: tuple[int, int] | None = None,
    crop: Crop = Crop(),
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(seconds, frame)`` for every frame of ``path`` in display order.

    ``seconds`` counts from the first frame of the video stream, taken from the frame's own
    timestamp so variable-frame-rate files keep their timing. ``frame`` is BGR uint8, first cropped
    by ``crop``, then scaled to ``size`` = ``(width, height)`` if given.

    Raises :class:`MediaError` if the file cannot be opened, holds no frame, or breaks off.
    """
    container = open_container(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start: float | None = None
        count = 0
        last_t = 0.0
        try:
            for frame in container.decode(stream):
                t = frame.time if frame.time is not None else count / float(stream.average_rate or 30)
                if start is None:
                    start = t
                last_t = t - start
                count += 1
                yield last_t, frame_to_bgr(frame, size, crop)
        except av.error.FFmpegError as exc:
            raise MediaError(
                f"video is corrupt or truncated near {last_t:.1f} s ({_reason(exc)})", path
            ) from None
        if count == 0:
            raise MediaError("contains no video frames", path)
        _check_complete(container, stream, path, last_t, count)
    finally:
        container.close()


def _check_complete(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    path: Path,
    last_t: float,
    count: int,
) -> None:
    """Raise if the stream ended well before the length its header promises (a cut-off file)."""
    if stream.duration is None or stream.time_base is None:
        return
    promised = float(stream.duration * stream.time_base)
    if promised - last_t > max(1.0, 0.1 * promised):
        raise MediaError(
            f"video is truncated: frames stop at {last_t:.1f} s of {promised:.1f} s", path
        )


def frame_to_bgr(frame: av.VideoFrame, size: tuple[int, int] | None, crop: Crop = Crop()) -> np.ndarray:
    """Convert one decoded frame to BGR uint8: cropped by ``crop``, then scaled to ``size``.

    Public so the preview converts the frames it seeks to exactly as a render does.
    """
    width, height = frame.width, frame.height
    x0, y0, x1, y1 = crop.box(width, height)
    target = size or (x1 - x0, y1 - y0)
    if frame.format.name == "yuv420p" and width % 2 == 0 and height % 2 == 0:
        return _yuv420_to_bgr(frame.to_ndarray(), width, height, (x0, y0, x1, y1), target)
    if not crop and size is not None:
        # One swscale call converts and scales together.
        return frame.to_ndarray(width=target[0], height=target[1], format="bgr24")
    bgr = frame.to_ndarray(format="bgr24")[y0:y1, x0:x1]
    if bgr.shape[1::-1] != tuple(target):
        bgr = cv2.resize(bgr, target, interpolation=_interpolation(bgr.shape[1], target[0]))
    return np.ascontiguousarray(bgr)


def _yuv420_to_bgr(
    planes: np.ndarray,
    width: int,
    height: int,
    box: tuple[int, int, int, int],
    target: tuple[int, int],
) -> np.ndarray:
    """Crop and scale the I420 planes, then convert: scaling before conversion is the cheap order."""
    x0, y0, x1, y1 = (v - v % 2 for v in box)
    tw, th = target[0] - target[0] % 2, target[1] - target[1] % 2
    y = planes[:height]
    chroma = planes[height:].reshape(2, height // 2, width // 2)
    y = y[y0:y1, x0:x1]
    u = chroma[0, y0 // 2 : y1 // 2, x0 // 2 : x1 // 2]
    v = chroma[1, y0 // 2 : y1 // 2, x0 // 2 : x1 // 2]
    if (x1 - x0, y1 - y0) != (tw, th):
        inter = _interpolation(x1 - x0, tw)
        y = cv2.resize(y, (tw, th), interpolation=inter)
        u = cv2.resize(u, (tw // 2, th // 2), interpolation=inter)
        v = cv2.resize(v, (tw // 2, th // 2), interpolation=inter)
    i420 = np.concatenate([y.reshape(-1), u.reshape(-1), v.reshape(-1)]).reshape(th * 3 // 2, tw)
    bgr = cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
    if (tw, th) != tuple(target):
        bgr = cv2.resize(bgr, target, interpolation=cv2.INTER_LINEAR)
    return bgr


def _interpolation(src_width: int, dst_width: int) -> int:
    return cv2.INTER_AREA if dst_width < src_width else cv2.INTER_LINEAR
