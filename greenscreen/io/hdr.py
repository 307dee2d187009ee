"""Phone recordings in BT.2020 colours or HDR (HLG, PQ), shown as the BT.709 SDR video we render.

iPhones record HDR video by default (HEVC, 10 bit, BT.2020 primaries, HLG transfer), and many
Android phones can (HLG or PQ). Read as if it were BT.709, such a picture comes out washed out
and too dark: skin grey-green, the sheet olive. So every frame tagged with BT.2020 primaries or
an HDR transfer is mapped to BT.709 SDR as it is read, in display light as BT.2408 describes
(and as FFmpeg's own swscale maps them, which the tests use to make their HDR clips):

1. swscale turns the YUV into non-linear R'G'B' with the recording's own matrix, scaling on the
   way (16 bits a channel, so the 10-bit steps survive);
2. the transfer is undone into display light, in units of HDR reference white (203 cd/m²,
   which is where SDR white goes): PQ is absolute; HLG goes through its OOTF for a 1000 cd/m²
   display (system gamma 1.2); an SDR transfer through the BT.1886 display's gamma (2.4);
3. BT.2020 primaries become BT.709 ones (a 3x3 matrix on linear light; colours outside BT.709
   are clipped);
4. highlights above :data:`KNEE` are rolled off towards SDR white by their brightest channel,
   so they keep their hue (Reinhard's curve on the part above the knee);
5. the BT.1886 display gamma (2.4) gives the SDR signal.

swscale can do the whole mapping itself (FFmpeg 8), but it spent 1.5 s setting up and 20 ms a
frame even at picture-in-picture size. This maps at the size a picture is used, and costs about
4 ms a frame at picture-in-picture size (a plain conversion: 1 ms); a whole 1080p frame (the
full or side-by-side layout, the preview's full view) about 40 ms, so a 1080p HDR speaker in the
full layout renders about twice as slowly as an SDR one.
"""

from __future__ import annotations

import math

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

#: FFmpeg's AVColorPrimaries value for BT.2020.
_PRIMARIES_BT2020 = 9
#: FFmpeg's AVColorTransferCharacteristic values of the HDR transfers.
_TRC_PQ, _TRC_HLG = 16, 18
#: FFmpeg's value of an unspecified tag (primaries, transfer or matrix).
_UNSPECIFIED = 2
#: FFmpeg's AVColorSpace values of the BT.2020 matrices (non-constant, constant luminance).
_SPACES_BT2020 = (9, 10)
#: AVColorSpace values that name a matrix (0 is RGB, 2 unspecified, 3 reserved).
_TAGGED_MATRICES = (1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)

#: Linear light (1 = SDR white) up to which a picture passes unchanged; above it, highlights are
#: compressed into what is left below white.
KNEE = 0.75
#: HDR reference white in cd/m² (BT.2408): a face or a white sheet of paper, SDR's 100 %.
REFERENCE_WHITE = 203.0
#: Peak luminance of the display HLG is shown on (BT.2100's reference), and its system gamma.
_HLG_PEAK, _HLG_GAMMA = 1000.0, 1.2
#: BT.2020 luma weights (R, G, B), for HLG's OOTF.
_LUMA_2020 = (0.2627, 0.6780, 0.0593)
#: Linear BT.2020 RGB -> linear BT.709 RGB (BT.2087).
_BT2020_TO_BT709 = np.array(
    [[1.6605, -0.5876, -0.0728], [-0.1246, 1.1329, -0.0083], [-0.0182, -0.1006, 1.1187]], np.float32
)

#: Steps of the tables that turn linear light into the 8-bit signal.
_STEPS = 4096
_LEVELS = (np.arange(_STEPS) / (_STEPS - 1)) ** 2
#: The square root of display light in _STEPS steps -> 8-bit signal for the BT.1886 display's
#: gamma (2.4).
_DISPLAY_GAMMA = np.round(255.0 * _LEVELS ** (1 / 2.4)).astype(np.uint8)


def outside_bt709(frame: av.VideoFrame) -> bool:
    """True for a frame whose colours are not BT.709 SDR's: BT.2020 primaries or matrix, or an
    HDR transfer (PQ, HLG). Such frames are read through :func:`to_bgr`."""
    return (
        int(frame.color_primaries) == _PRIMARIES_BT2020
        or int(frame.color_trc) in (_TRC_PQ, _TRC_HLG)
        or int(frame.colorspace) in _SPACES_BT2020
    )


def to_bgr(
    frame: av.VideoFrame,
    size: tuple[int, int] | None = None,
    box: tuple[int, int, int, int] | None = None,
    scaler: VideoReformatter | None = None,
) -> np.ndarray:
    """A frame of :func:`outside_bt709` colours as BT.709 SDR BGR uint8: the part ``box``
    (x0, y0, x1, y1; all of it if None) scaled to ``size`` (``(width, height)``; the box's own
    if None).

    Pass the same ``scaler`` for every frame of a stream to set swscale up once.
    """
    width, height = frame.width, frame.height
    x0, y0, x1, y1 = box or (0, 0, width, height)
    target = size or (x1 - x0, y1 - y0)
    whole = (x0, y0, x1, y1) == (0, 0, width, height)
    # Scaled by swscale where nothing is cut off (one pass, the smallest picture to map).
    w, h = target if whole else (width, height)
    rgb = (scaler or VideoReformatter()).reformat(
        frame, width=w, height=h, format="rgb48le",
        interpolation="AREA" if w < width else "BILINEAR", **_source_options(frame),
    ).to_ndarray()
    if not whole:
        rgb = rgb[y0:y1, x0:x1]
        if rgb.shape[1::-1] != tuple(target):
            shrink = target[0] < rgb.shape[1]
            rgb = cv2.resize(rgb, target, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return _map_rgb48(np.ascontiguousarray(rgb), int(frame.color_trc), int(frame.color_primaries))


def turned(frame: av.VideoFrame, rotate_code: int, scaler: VideoReformatter | None = None) -> av.VideoFrame:
    """A frame of :func:`outside_bt709` colours turned by ``cv2.rotate``'s ``rotate_code``, and
    still to be mapped: its R'G'B' (16 bits a channel, the recording's matrix undone) as an
    ``rgb48le`` frame that keeps the transfer and primaries tags, so that :func:`to_bgr` maps it
    at the size it is used. (Mapped whole first, an iPhone's portrait video took 8x as long.)"""
    rgb = (scaler or VideoReformatter()).reformat(frame, format="rgb48le", **_source_options(frame)).to_ndarray()
    out = av.VideoFrame.from_ndarray(cv2.rotate(rgb, rotate_code), format="rgb48le")
    out.color_trc, out.color_primaries = frame.color_trc, frame.color_primaries
    return out


def _source_options(frame: av.VideoFrame) -> dict[str, str]:
    """swscale's reading of ``frame``'s YUV: its range, and BT.2020's matrix where the frame is
    tagged BT.2020 or HDR but names no matrix (some editors and muxers leave it out; players
    take BT.2020's, swscale would take BT.601's)."""
    options = {"src_color_range": "JPEG"} if int(frame.color_range) == 2 else {}
    if int(frame.colorspace) not in _TAGGED_MATRICES:
        options["src_colorspace"] = "BT2020"
    return options


def _map_rgb48(rgb: np.ndarray, trc: int, primaries: int) -> np.ndarray:
    """Steps 2-5 of the module's mapping: R'G'B' uint16 ``(H, W, 3)`` -> BT.709 SDR BGR uint8.

    Mapped a strip of rows at a time (:data:`_STRIP_BYTES` of float32 light), so that the
    steps between stay in the core's cache: over a whole 1080p frame each of them went out to
    memory and back."""
    out = np.empty(rgb.shape, np.uint8)
    rows = max(1, _STRIP_BYTES // (rgb.shape[1] * 3 * 4))
    for y in range(0, rgb.shape[0], rows):
        out[y:y + rows] = _map_strip(rgb[y:y + rows], trc, primaries)
    return out


#: Bytes of float32 light :func:`_map_rgb48` maps at a time: within a core's 2 MB cache (64
#: rows of a 1920-pixel picture). Smaller strips cost more calls, larger ones trips to memory.
_STRIP_BYTES = 64 * 1920 * 3 * 4
#: RGB -> BGR, as a 3x3 matrix folded into the one the colours go through anyway.
_TO_BGR = np.eye(3, dtype=np.float32)[::-1]


def _each(value: float) -> tuple[float, float, float, float]:
    """``value`` for every channel, as cv2 takes a scalar (a bare float is the first channel's)."""
    return (float(value),) * 4


def _map_strip(rgb: np.ndarray, trc: int, primaries: int) -> np.ndarray:
    """:func:`_map_rgb48` of a few rows (in place where it can: each new array is a pass more)."""
    linear = _linear_table(trc)[rgb]
    if trc == _TRC_HLG:
        # The OOTF scales each pixel by its scene luminance to the power of gamma - 1.
        luma = cv2.transform(linear, np.array([_LUMA_2020], np.float32))
        # numpy's maximum: cv2's takes a picture of one pixel for a scalar and returns 4 values.
        scale = cv2.pow(np.maximum(luma, np.float32(1e-6), out=luma), _HLG_GAMMA - 1.0)
        linear = cv2.multiply(linear, cv2.merge([scale] * 3), scale=_HLG_PEAK / REFERENCE_WHITE)
    # HDR is BT.2020 (BT.2100) even where the primaries tag was left out.
    if primaries == _PRIMARIES_BT2020 or (primaries == _UNSPECIFIED and trc in (_TRC_PQ, _TRC_HLG)):
        linear = cv2.transform(linear, _TO_BGR @ _BT2020_TO_BT709)
    else:
        linear = cv2.cvtColor(linear, cv2.COLOR_RGB2BGR)
    np.maximum(linear, np.float32(0.0), out=linear)  # colours outside BT.709: clipped
    if trc in (_TRC_PQ, _TRC_HLG):
        linear = _roll_off(linear)
    # Indexed by the square root of the light, so that the dark end, where the signal is
    # steepest, gets most of the steps.
    steps = cv2.sqrt(linear)
    cv2.multiply(steps, _each(_STEPS - 1), dst=steps)
    cv2.add(steps, _each(0.5), dst=steps)
    cv2.min(steps, _each(_STEPS - 1), dst=steps)
    return _DISPLAY_GAMMA[steps.astype(np.uint16)]


def _roll_off(linear: np.ndarray) -> np.ndarray:
    """Step 4 of the module's mapping: light above :data:`KNEE` (by a pixel's brightest
    channel) compressed below SDR white, float32 ``(H, W, 3)``."""
    b, g, r = cv2.split(linear)
    brightest = cv2.max(cv2.max(b, g), r)
    if cv2.minMaxLoc(brightest)[1] <= KNEE:
        return linear  # most rows of a picture have no highlight
    over = np.maximum(brightest - np.float32(KNEE), np.float32(0.0))
    # Reinhard on the part above the knee: slope 1 at the knee, white at infinity.
    rolled = np.float32(KNEE) + over / (np.float32(1.0) + over * np.float32(1.0 / (1.0 - KNEE)))
    gain = np.minimum(brightest, rolled) / np.maximum(brightest, np.float32(1e-6))
    return cv2.multiply(linear, cv2.merge([gain] * 3))


_LINEAR: dict[int, np.ndarray] = {}


def _linear_table(trc: int) -> np.ndarray:
    """Table from a 16-bit code value to linear light (float32): display light in units of
    reference white for PQ and the SDR transfers (SDR white is reference white), scene light
    (0..1) for HLG."""
    table = _LINEAR.get(trc)
    if table is None:
        e = np.arange(65536, dtype=np.float64) / 65535.0
        if trc == _TRC_PQ:
            m1, m2 = 2610 / 16384, 2523 / 4096 * 128
            c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
            p = e ** (1 / m2)
            table = 10000.0 * (np.maximum(p - c1, 0.0) / (c2 - c3 * p)) ** (1 / m1) / REFERENCE_WHITE
        elif trc == _TRC_HLG:
            a = 0.17883277
            b, c = 1 - 4 * a, 0.5 - a * math.log(4 * a)
            table = np.where(e <= 0.5, e * e / 3.0, (np.exp((e - c) / a) + b) / 12.0)
        else:
            # SDR (bt2020-10/12, bt709 and the like): the BT.1886 display's gamma.
            table = e ** 2.4
        table = table.astype(np.float32)
        _LINEAR[trc] = table
    return table
