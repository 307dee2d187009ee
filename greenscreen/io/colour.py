"""The YUV colour matrix of a recording, and BGR <-> I420 conversion with it.

An H.264 stream says which matrix turned its RGB into YUV: BT.601 (standard definition) or
BT.709 (HD; what OBS, most webcams and phones record). Decoding with the other one shifts
saturated colours (a red accent turns orange, skin turns yellow-green), so a recording is
decoded with its own matrix, and the rendered video uses the screen recording's: its pixels
pass through to the encoder unconverted, and the tag on the output tells players how to read
them. Untagged recordings are taken as BT.601, which is what OpenCV and swscale assume too.

Both conversions sample chroma as OpenCV's BT.601 ``cvtColor`` does (the top-left pixel of
each 2x2 block on the way in, repeated on the way out), so the two matrices behave alike and
the BT.601 path is OpenCV's own.
"""

from __future__ import annotations

from typing import Literal

import av
import cv2
import numpy as np

from greenscreen.io.hdr import outside_bt709
from greenscreen.io.yuv import i420_planes

Matrix = Literal["bt601", "bt709"]

#: Luma weights (Kr, Kb) of each matrix.
_WEIGHTS: dict[str, tuple[float, float]] = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}

#: FFmpeg's AVColorSpace value for BT.709 (the frame's ``colorspace``).
_AVCOL_SPC_BT709 = 1

#: x264's names for each matrix's primaries, transfer and matrix tags.
X264_TAGS: dict[str, str] = {
    "bt601": "colorprim=smpte170m:transfer=smpte170m:colormatrix=smpte170m",
    "bt709": "colorprim=bt709:transfer=bt709:colormatrix=bt709",
}


def frame_matrix(frame: av.VideoFrame) -> Matrix:
    """The matrix of a decoded frame's picture as greenscreen reads it: BT.709 if tagged so,
    else BT.601 (what untagged video means to OpenCV and swscale).

    A BT.2020 or HDR frame is read in BT.709 SDR colours (see :mod:`greenscreen.io.hdr`), so it
    answers BT.709: the matrix the reader's pictures of it, and a render's output, are in. Its
    own YUV is BT.2020's: convert it with :mod:`~greenscreen.io.hdr`, never with this."""
    return "bt709" if int(frame.colorspace) == _AVCOL_SPC_BT709 or outside_bt709(frame) else "bt601"


def is_full_range(frame: av.VideoFrame) -> bool:
    """True for a frame in full-range ("JPEG", 0-255) YUV rather than studio range (16-235)."""
    return frame.format.name.startswith("yuvj") or int(frame.color_range) == 2


def _bgr_to_yuv(matrix: str) -> np.ndarray:
    """3x4 affine map from BGR (0-255) to studio-range Y, U, V for ``cv2.transform``."""
    kr, kb = _WEIGHTS[matrix]
    kg = 1.0 - kr - kb
    luma = np.array([kb, kg, kr])  # B, G, R
    y = luma * 219.0 / 255.0
    u = (np.array([1.0, 0.0, 0.0]) - luma) / (2.0 * (1.0 - kb)) * 224.0 / 255.0
    v = (np.array([0.0, 0.0, 1.0]) - luma) / (2.0 * (1.0 - kr)) * 224.0 / 255.0
    return np.array([[*y, 16.0], [*u, 128.0], [*v, 128.0]], np.float32)


def _yuv_to_bgr(matrix: str) -> np.ndarray:
    """3x4 affine map from studio-range Y, U, V to BGR (0-255), the inverse of the above."""
    forward = _bgr_to_yuv(matrix).astype(np.float64)
    inverse = np.linalg.inv(forward[:, :3])
    return np.hstack([inverse, -inverse @ forward[:, 3:]]).astype(np.float32)


_TO_YUV = {m: _bgr_to_yuv(m) for m in _WEIGHTS}
_TO_BGR = {m: _yuv_to_bgr(m) for m in _WEIGHTS}


def bgr_to_i420(bgr: np.ndarray, matrix: Matrix = "bt601") -> np.ndarray:
    """Convert BGR uint8 ``(H, W, 3)`` (H and W even) to I420 planes ``(H * 3 // 2, W)``."""
    if matrix == "bt601":
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    h, w = bgr.shape[:2]
    yuv = cv2.transform(bgr, _TO_YUV[matrix])
    out = np.empty((h * 3 // 2, w), np.uint8)
    y, u, v = i420_planes(out)
    cv2.extractChannel(yuv, 0, y)
    half = yuv[::2, ::2]
    u[...] = half[..., 1]
    v[...] = half[..., 2]
    return out


def i420_to_bgr(i420: np.ndarray, matrix: Matrix = "bt601") -> np.ndarray:
    """Convert I420 planes ``(H * 3 // 2, W)`` to BGR uint8 ``(H, W, 3)``."""
    if matrix == "bt601":
        return cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
    y, u, v = i420_planes(i420)
    size = (y.shape[1], y.shape[0])
    up = [cv2.resize(p, size, interpolation=cv2.INTER_NEAREST) for p in (u, v)]
    return cv2.transform(cv2.merge([y, *up]), _TO_BGR[matrix])
