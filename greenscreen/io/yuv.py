"""I420 (yuv420p) pictures in memory: plane views of buffers and of PyAV frames, and copies.

The screen recording travels from decoder to encoder in the codecs' own I420 format: a 1080p
frame is copied once (into the frame handed to the encoder) and never converted. These helpers
give numpy views of the three planes so the compositor can write straight into that frame.
"""

from __future__ import annotations

import av
import numpy as np

#: Pixel formats laid out as I420: yuvj420p differs only in its (full) range.
I420_FORMATS = ("yuv420p", "yuvj420p")

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]
"""The ``(Y, U, V)`` planes of one I420 picture: uint8 ``(H, W)``, ``(H/2, W/2)``, ``(H/2, W/2)``.
They may be strided views (a PyAV frame pads its rows)."""


def i420_planes(i420: np.ndarray) -> Planes:
    """Views ``(Y, U, V)`` of the planes of an I420 buffer ``(H * 3 // 2, W)``.

    Writing to a view writes to the buffer. The planes are cut from the flat buffer because a
    chroma plane spans a fractional number of rows when H is not a multiple of 4.
    """
    w = i420.shape[1]
    h = i420.shape[0] * 2 // 3
    flat = i420.reshape(-1)
    n = w * h
    y = flat[:n].reshape(h, w)
    u = flat[n : n + n // 4].reshape(h // 2, w // 2)
    v = flat[n + n // 4 : n + n // 2].reshape(h // 2, w // 2)
    return y, u, v


def is_i420(frame: av.VideoFrame) -> bool:
    """True for a frame laid out as I420 (4:2:0 planar, even size): one that can be cropped,
    scaled and turned plane by plane."""
    return frame.format.name in I420_FORMATS and frame.width % 2 == 0 and frame.height % 2 == 0


def frame_planes(frame: av.VideoFrame) -> Planes:
    """Views ``(Y, U, V)`` of a yuv420p frame's planes, without the rows' padding.

    Writing to a view writes to the frame: only do that to a frame you made (a decoder's frame
    may still be a reference picture for the frames after it).
    """
    if frame.format.name not in I420_FORMATS:
        raise ValueError(f"expected a yuv420p frame, got {frame.format.name}")
    return tuple(  # type: ignore[return-value]
        np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width] for p in frame.planes
    )


def new_frame(width: int, height: int) -> av.VideoFrame:
    """A new yuv420p frame of ``width`` x ``height`` (both even), contents undefined."""
    if width % 2 or height % 2:
        raise ValueError(f"I420 frames need an even size, got {width}x{height}")
    return av.VideoFrame(width, height, "yuv420p")


def copy_planes(dst: Planes, src: Planes) -> None:
    """Copy I420 ``src`` planes into ``dst`` planes of the same size."""
    for d, s in zip(dst, src):
        # np.copyto releases the GIL for plain uint8 copies, so other lanes run meanwhile.
        np.copyto(d, s)


def planes_to_frame(planes: Planes) -> av.VideoFrame:
    """A new yuv420p :class:`av.VideoFrame` holding a copy of ``planes``."""
    h, w = planes[0].shape
    frame = new_frame(w, h)
    copy_planes(frame_planes(frame), planes)
    return frame


def i420_to_frame(i420: np.ndarray) -> av.VideoFrame:
    """A new yuv420p :class:`av.VideoFrame` holding a copy of I420 planes ``(H * 3 // 2, W)``.

    Unlike ``VideoFrame.from_ndarray`` the copy releases the GIL, and takes a third of its time.
    """
    return planes_to_frame(i420_planes(i420))


def crop_planes(planes: Planes, box: tuple[int, int, int, int]) -> Planes:
    """Views of ``box`` = ``(x0, y0, x1, y1)``, moved out to even edges, of I420 ``planes``."""
    h, w = planes[0].shape
    x0, y0 = box[0] - box[0] % 2, box[1] - box[1] % 2
    x1, y1 = min(box[2] + box[2] % 2, w), min(box[3] + box[3] % 2, h)
    return tuple(  # type: ignore[return-value]
        p[y0 // k : y1 // k, x0 // k : x1 // k] for p, k in zip(planes, (1, 2, 2))
    )
