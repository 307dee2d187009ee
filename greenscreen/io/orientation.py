"""Give decoded frames the shape they are shown in: turned upright, and anamorphic pixels made square.

Phones and some webcam apps store a portrait (or upside-down) recording as landscape pictures
plus a display matrix that tells players to turn them; some cameras and capture cards store
pixels that are shown wider or narrower than tall (a sample aspect ratio, e.g. 480x360 shown
as 640x360). FFmpeg's decoder hands out the pictures as stored, so every frame is shaped here,
before anything crops or scales it.
"""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
from av.video.reformatter import VideoReformatter

from greenscreen.io import hdr
from greenscreen.io.yuv import frame_planes, is_i420, planes_to_frame

#: cv2.rotate code that shows a frame upright, by its display rotation (PyAV's
#: ``VideoFrame.rotation``: degrees counter-clockwise) modulo 360.
_UPRIGHT = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


def pixel_aspect(stream: av.video.stream.VideoStream | None) -> Fraction | None:
    """The shape of ``stream``'s pixels (width over height) if they are not square, else None."""
    sar = getattr(stream, "sample_aspect_ratio", None) if stream is not None else None
    if not sar or sar <= 0 or sar == 1 or not 0.25 <= sar <= 4:  # unset, square, or nonsense
        return None
    return Fraction(sar)


def upright(
    frame: av.VideoFrame, aspect: Fraction | None = None, scaler: VideoReformatter | None = None
) -> av.VideoFrame:
    """``frame`` as it is shown: stretched to square pixels by its stream's pixel ``aspect``
    (see :func:`pixel_aspect`), then turned as its display rotation says; ``frame`` itself if
    neither applies. Pass one ``scaler`` for every frame of a stream to set swscale up once.

    A 4:2:0 frame is turned plane by plane, keeping its colour matrix and range tags; a BT.2020
    or HDR one becomes 16-bit R'G'B' with its transfer and primaries tags, still to be mapped
    (see :func:`greenscreen.io.hdr.turned`); any other format goes through BGR, keeping its
    tags. Rotations other than quarter turns are ignored.
    """
    turn = _UPRIGHT.get(round(frame.rotation) % 360)  # read first: a new frame has no rotation
    if aspect is not None:
        width = max(2, round(frame.width * aspect) // 2 * 2)
        if width != frame.width:
            tags = frame.colorspace, frame.color_range
            frame = (scaler or VideoReformatter()).reformat(
                frame, width=width, height=frame.height, interpolation="BICUBIC")
            frame.colorspace, frame.color_range = tags
    if turn is None:
        return frame
    if hdr.outside_bt709(frame):
        return hdr.turned(frame, turn, scaler)
    if is_i420(frame):
        turned = planes_to_frame(tuple(cv2.rotate(p, turn) for p in frame_planes(frame)))  # type: ignore[arg-type]
    else:
        turned = av.VideoFrame.from_ndarray(cv2.rotate(frame.to_ndarray(format="bgr24"), turn), format="bgr24")
    turned.colorspace, turned.color_range = frame.colorspace, frame.color_range
    return turned
