"""Turn decoded frames upright by their display rotation.

Phones and some webcam apps store a portrait (or upside-down) recording as landscape pictures
plus a display matrix that tells players to turn them. FFmpeg's decoder hands out the pictures
as stored, so every frame is turned here, before anything crops or scales it.
"""

from __future__ import annotations

import av
import cv2

from greenscreen.io.yuv import frame_planes, is_i420, planes_to_frame

#: cv2.rotate code that shows a frame upright, by its display rotation (PyAV's
#: ``VideoFrame.rotation``: degrees counter-clockwise) modulo 360.
_UPRIGHT = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


def upright(frame: av.VideoFrame) -> av.VideoFrame:
    """``frame`` turned as its display rotation says, or ``frame`` itself if it has none.

    A 4:2:0 frame is turned plane by plane; any other format goes through BGR. The result keeps
    the picture's colour matrix and range tags. Rotations other than quarter turns are ignored.
    """
    turn = _UPRIGHT.get(round(frame.rotation) % 360)
    if turn is None:
        return frame
    if is_i420(frame):
        turned = planes_to_frame(tuple(cv2.rotate(p, turn) for p in frame_planes(frame)))  # type: ignore[arg-type]
    else:
        turned = av.VideoFrame.from_ndarray(cv2.rotate(frame.to_ndarray(format="bgr24"), turn), format="bgr24")
    turned.colorspace, turned.color_range = frame.colorspace, frame.color_range
    return turned
