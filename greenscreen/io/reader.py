"""Decode a recording into timestamped frames, optionally cropped and scaled on the way.

Frames come out as BGR uint8 (the frame contract) or, for the screen recording that is only
copied through to the encoder, in I420: converting a 1080p frame to BGR and back costs more
than the rest of the composite and adds rounding noise the encoder then spends bits on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.filter
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from greenscreen.errors import MediaError
from greenscreen.io import hdr
from greenscreen.io.probe import (
    ClockBreaks, breaks_of, ffmpeg_reason, frame_step, open_container, truncation_tolerance, video_stream,
)
from greenscreen.io.colour import bgr_to_i420, frame_matrix, i420_to_bgr, is_full_range
from greenscreen.io.filter_graph import pulled
from greenscreen.io.orientation import pixel_aspect, upright
from greenscreen.io.yuv import crop_planes, frame_planes, i420_planes, i420_to_frame, is_i420, planes_to_frame


MIN_CROPPED = 2
"""Pixels a crop must leave each way (a whole 2x2 block of 4:2:0 video)."""


@dataclass(frozen=True)
class Crop:
    """Pixels to cut from each edge of a source frame (a garbage matte)."""

    left: int = 0
    top: int = 0
    right: int = 0
    bottom: int = 0

    def __bool__(self) -> bool:
        return any((self.left, self.top, self.right, self.bottom))

    def scaled(self, given_for: tuple[int, int], size: tuple[int, int]) -> Crop:
        """This crop, given in pixels of a ``given_for`` = ``(width, height)`` picture, for a
        picture of ``size``: the same share cut from each edge. A recording can change its size
        midway (a browser or video-call recorder lowering the resolution under load)."""
        if not self or tuple(size) == tuple(given_for):
            return self
        sx, sy = size[0] / given_for[0], size[1] / given_for[1]
        left, right = _fit_cuts(round(self.left * sx), round(self.right * sx), size[0])
        top, bottom = _fit_cuts(round(self.top * sy), round(self.bottom * sy), size[1])
        return Crop(left, top, right, bottom)

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """Return ``(x0, y0, x1, y1)`` of the kept area in a ``width`` x ``height`` frame.

        Raises ``ValueError`` with a sentence for the user if the crop leaves less than
        :data:`MIN_CROPPED` pixels either way.
        """
        if not self:
            return 0, 0, width, height
        x0, y0 = self.left, self.top
        x1, y1 = width - self.right, height - self.bottom
        if x1 - x0 < MIN_CROPPED or y1 - y0 < MIN_CROPPED:
            raise ValueError(
                f"the crop (left {self.left}, top {self.top}, right {self.right}, bottom "
                f"{self.bottom} pixels) leaves {max(x1 - x0, 0)}x{max(y1 - y0, 0)} of the "
                f"{width}x{height} picture; at least {MIN_CROPPED}x{MIN_CROPPED} must remain"
            )
        return x0, y0, x1, y1


def _fit_cuts(a: int, b: int, n: int) -> tuple[int, int]:
    """Cuts ``a`` and ``b`` from the two ends of ``n`` pixels, made smaller (the larger first)
    where they would leave fewer than :data:`MIN_CROPPED`: a crop the first picture allowed
    must not fail on a smaller one midway."""
    over = a + b - (n - MIN_CROPPED)
    if over > 0:
        take = min(over, max(a, b) - min(a, b))
        a, b = (a - take, b) if a >= b else (a, b - take)
        rest = over - take
        a, b = max(a - (rest + 1) // 2, 0), max(b - rest // 2, 0)
    return a, b


SAME_SHAPE = 0.01
"""Relative difference of width-to-height ratios still taken for the same shape (the rounding
of odd sizes, of a crop scaled with the picture)."""

PIXEL_FORMATS = ("bgr24", "i420", "frame")


def read_frames(
    path: Path,
    *,
    size: tuple[int, int] | Callable[[float], tuple[int, int]] | None = None,
    crop: Crop = Crop(),
    pixel_format: str = "bgr24",
    letterbox: bool = False,
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(seconds, frame)`` for every frame of ``path`` in display order.

    ``seconds`` counts from the first frame of the video stream, taken from the frame's own
    timestamp so variable-frame-rate files keep their timing. ``frame`` is first turned upright
    (see :func:`~greenscreen.io.orientation.upright`), then cropped by ``crop``, then scaled to
    ``size`` = ``(width, height)`` if given; ``size`` may also be a function of the frame's
    ``seconds`` giving the size for that frame (a layout that changes over time). ``crop`` is in
    pixels of the first frame; a later frame of another size (the recording changed its
    resolution) is cut by the same shares (see :meth:`Crop.scaled`). With ``pixel_format``
    "bgr24" it is BGR uint8 ``(H, W, 3)``; with "i420" it is the I420 planes as uint8
    ``(H * 3 // 2, W)`` (see :func:`~greenscreen.io.yuv.i420_planes`; the size must then be
    even); with "frame" a yuv420p :class:`av.VideoFrame`, read-only (see
    :func:`frame_to_yuv420p`): the cheapest way to pass a recording through to the encoder.
    A later frame of another size than the first is scaled to fit the first's and centred
    (see :func:`letterboxed`): a picture of another shape (a browser recorder falling back from
    16:9 to 4:3) keeps its proportions, and what it leaves free is black bars with
    ``letterbox`` (a screen recording), else the colour of the sheet seen along its edge (a
    speaker: it keys as sheet).

    Raises :class:`MediaError` if the file cannot be opened, holds no frame, or breaks off.
    """
    if pixel_format not in PIXEL_FORMATS:
        raise ValueError(f"pixel_format must be one of {PIXEL_FORMATS}, got {pixel_format!r}")
    convert = {"bgr24": frame_to_bgr, "i420": frame_to_i420, "frame": frame_to_yuv420p}[pixel_format]
    container = open_container(path)
    try:
        stream = video_stream(container)
        stream.thread_type = "AUTO"
        start: float | None = None
        count = 0
        last_t = 0.0
        # One scaler for the whole stream: swscale then sets up its filters once, not per frame
        # (~0.5 ms a frame at 720p).
        scaler = VideoReformatter()
        # Anamorphic pixels are made square by a scaler of their own (one size to another).
        aspect, shaper = pixel_aspect(stream), VideoReformatter()
        first_size: tuple[int, int] | None = None
        # Clock breaks are closed as the probe finds them: the frames after one follow on.
        clock = ClockBreaks(frame_step(stream), breaks_of(path))
        try:
            for frame in progressive(container.decode(stream), stream):
                t = frame.time if frame.time is not None else count / float(stream.average_rate or 30)
                if start is None:
                    start = t
                last_t = clock.closed(t - start)
                count += 1
                wanted = size(last_t) if callable(size) else size
                shown = upright(frame, aspect, shaper)
                first_size = first_size or (shown.width, shown.height)
                yield last_t, letterboxed(shown, wanted, crop, first_size, convert, scaler, bars=letterbox)
        except av.error.FFmpegError as exc:
            raise MediaError(
                f"video is corrupt or truncated near {last_t:.1f} s ({ffmpeg_reason(exc)})", path
            ) from None
        if count == 0:
            raise MediaError("contains no video frames", path)
        _check_complete(container, stream, path, last_t + clock.shut, count)
    finally:
        container.close()


def letterboxed(
    frame: av.VideoFrame, size: tuple[int, int] | None, crop: Crop, first_size: tuple[int, int],
    convert: Callable[..., object], scaler: VideoReformatter | None = None, *, bars: bool = True,
) -> object:
    """``convert`` (a ``frame_to_*`` function) of ``frame`` cropped by ``crop`` (given for the
    first frame's ``first_size``) at ``size`` (the first frame's cropped size if None). A frame
    of another size than the first is shown whole within it, scaled to fit and centred; where
    its shape differs, the rest is black bars, or without ``bars`` the colour of the sheet seen
    along the picture's edge (a speaker's picture: it keys as sheet; see :func:`_edge_sheet`)."""
    if (frame.width, frame.height) == tuple(first_size):
        return convert(frame, size, crop, scaler)
    x0, y0, x1, y1 = crop.box(*first_size)
    target = size or (x1 - x0, y1 - y0)
    cut = crop.scaled(first_size, (frame.width, frame.height))
    x0, y0, x1, y1 = cut.box(frame.width, frame.height)
    scale = min(target[0] / (x1 - x0), target[1] / (y1 - y0))
    inner = (min(target[0], max(2, round((x1 - x0) * scale / 2) * 2)),
             min(target[1], max(2, round((y1 - y0) * scale / 2) * 2)))
    if abs(inner[0] / target[0] - 1) <= SAME_SHAPE and abs(inner[1] / target[1] - 1) <= SAME_SHAPE:
        return convert(frame, target, cut, scaler)
    picture = convert(frame, inner, cut, scaler)
    left, top = (target[0] - inner[0]) // 4 * 2, (target[1] - inner[1]) // 4 * 2  # even, for 4:2:0
    margins = ((top, target[1] - inner[1] - top), (left, target[0] - inner[0] - left))

    def padded(plane: np.ndarray, step: int, black: int) -> np.ndarray:
        around = tuple((a // step, b // step) for a, b in margins) + ((0, 0),) * (plane.ndim - 2)
        if bars:
            return np.pad(plane, around, mode="constant", constant_values=black)
        return np.pad(plane, around, mode="edge")  # a BGR picture whose edge shows no sheet

    if isinstance(picture, np.ndarray) and picture.ndim == 3:  # BGR
        sheet = None if bars else _edge_sheet(picture)
        if sheet is None:
            return padded(picture, 1, 0)
        canvas = np.empty((target[1], target[0], 3), np.uint8)
        canvas[...] = sheet
        canvas[top:top + inner[1], left:left + inner[0]] = picture
        return canvas
    if not bars:
        raise ValueError("letterboxed: I420 pictures (screen recordings) take black bars")
    planes = frame_planes(picture) if isinstance(picture, av.VideoFrame) else i420_planes(picture)
    y, u, v = (padded(plane, step, black) for plane, step, black in zip(planes, (1, 2, 2), (16, 128, 128)))
    if isinstance(picture, av.VideoFrame):
        return planes_to_frame((y, u, v))
    return np.concatenate([y.reshape(-1), u.reshape(-1), v.reshape(-1)]).reshape(-1, target[0])


EDGE_SHEET_SHARE = 0.25
"""Share of a picture's edge pixels that must look like a backdrop (green or blue well above the
other channels) for their colour to fill the space beside it."""


def _edge_sheet(bgr: np.ndarray) -> np.ndarray | None:
    """The median colour of the backdrop seen along the edge of BGR uint8 ``bgr``, or None if
    too little of the edge is backdrop. Repeating the edge pixels instead smeared whatever
    touches it (the speaker's shoulders, at the bottom of a portrait picture) into the space."""
    ring = np.concatenate([bgr[:2].reshape(-1, 3), bgr[-2:].reshape(-1, 3), bgr[:, :2].reshape(-1, 3),
                           bgr[:, -2:].reshape(-1, 3)]).astype(np.int16)
    b, g, r = ring[:, 0], ring[:, 1], ring[:, 2]
    backdrop = (g > np.maximum(b, r) + 15) | (b > np.maximum(g, r) + 15)
    if backdrop.mean() < EDGE_SHEET_SHARE:
        return None
    return np.median(ring[backdrop], axis=0).astype(np.uint8)


DEINTERLACER = ("bwdif", "mode=send_frame:parity=auto:deint=interlaced")
"""FFmpeg's motion-adaptive deinterlacer, one picture per frame, touching only frames flagged
interlaced: what HandBrake and ffmpeg users reach for on camcorder (DV, HDV, AVCHD 1080i) and
capture-card footage."""


def progressive(frames: Iterator[av.VideoFrame], stream: av.video.stream.VideoStream) -> Iterator[av.VideoFrame]:
    """``frames`` of ``stream`` as progressive pictures, with their timestamps.

    Interlaced frames hold two fields 1/50 or 1/60 s apart: keyed and scaled as they are, every
    moving edge (hair, hands) combs line by line, and the matte follows the comb. From the first
    frame flagged interlaced on they go through :data:`DEINTERLACER` (which looks one frame
    ahead, and is flushed at the end); a progressive recording passes through untouched.
    """
    graph = None
    for frame in frames:
        if graph is None and not frame.interlaced_frame:
            yield frame
            continue
        if graph is None:
            graph = av.filter.Graph()
            source, deinterlace, sink = graph.add_buffer(template=stream), graph.add(*DEINTERLACER), graph.add("buffersink")
            source.link_to(deinterlace)
            deinterlace.link_to(sink)
            graph.configure()
        graph.push(frame)
        yield from pulled(graph)
    if graph is not None:
        graph.push(None)
        yield from pulled(graph)


def _check_complete(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    path: Path,
    last_t: float,
    count: int,
) -> None:
    """Raise if the stream ended well before the length its header promises (a cut-off file)."""
    if stream.duration is None or not stream.time_base:  # PyAV 19: AVRational(0, 1), not None
        return
    promised = float(stream.duration * stream.time_base)
    if promised - last_t > truncation_tolerance(promised):
        raise MediaError(
            f"video is truncated: frames stop at {last_t:.1f} s of {promised:.1f} s", path
        )


def frame_to_bgr(
    frame: av.VideoFrame,
    size: tuple[int, int] | None,
    crop: Crop = Crop(),
    scaler: VideoReformatter | None = None,
) -> np.ndarray:
    """Convert one decoded frame to BGR uint8: cropped by ``crop``, then scaled to ``size``.

    Public so the preview converts the frames it seeks to exactly as a render does. Pass the
    same ``scaler`` for every frame of a stream to save setting one up per frame. A BT.2020 or
    HDR frame (a phone's) comes out in BT.709 SDR colours (see :mod:`greenscreen.io.hdr`).
    """
    width, height = frame.width, frame.height
    x0, y0, x1, y1 = crop.box(width, height)
    target = size or (x1 - x0, y1 - y0)
    if hdr.outside_bt709(frame):
        return hdr.to_bgr(frame, target, (x0, y0, x1, y1), scaler)
    if is_i420(frame):
        # Scale in I420 (a quarter of the samples of BGR), then convert the small picture.
        even = (target[0] - target[0] % 2, target[1] - target[1] % 2)
        bgr = i420_to_bgr(frame_to_i420(frame, even, crop, scaler), frame_matrix(frame))
        if even != tuple(target):
            bgr = cv2.resize(bgr, target, interpolation=cv2.INTER_LINEAR)
        return bgr
    if not crop and size is not None:
        # One swscale call converts (with the frame's own matrix and range) and scales together.
        return (scaler or VideoReformatter()).reformat(
            frame, width=target[0], height=target[1], format="bgr24").to_ndarray()
    bgr = frame.to_ndarray(format="bgr24")[y0:y1, x0:x1]
    if bgr.shape[1::-1] != tuple(target):
        bgr = cv2.resize(bgr, target, interpolation=_interpolation(bgr.shape[1], target[0]))
    return np.ascontiguousarray(bgr)


def frame_to_yuv420p(
    frame: av.VideoFrame,
    size: tuple[int, int] | None,
    crop: Crop = Crop(),
    scaler: VideoReformatter | None = None,
) -> av.VideoFrame:
    """Convert one decoded frame to a yuv420p frame: cropped by ``crop``, then scaled to ``size``.

    When nothing needs changing (a yuv420p recording at the wanted size, the usual screen
    recording) this is ``frame`` itself, not a copy: read it, never write to it. A 4:2:0
    source is cropped and scaled plane by plane without any colour conversion; the result
    keeps the source's matrix (see :func:`~greenscreen.io.colour.frame_matrix`) and is studio
    range (16-235) whatever the source's. A BT.2020 or HDR frame is mapped to BT.709 SDR (see
    :mod:`greenscreen.io.hdr`). The output size must be even (4:2:0 has one chroma sample per 2x2
    pixels).
    """
    width, height = frame.width, frame.height
    x0, y0, x1, y1 = crop.box(width, height)
    target = size or (x1 - x0, y1 - y0)
    if target[0] % 2 or target[1] % 2:
        raise ValueError(f"I420 frames need an even size, got {target[0]}x{target[1]}")
    if hdr.outside_bt709(frame):
        # Through swscale, which filters the chroma (a screen recording's text keeps clean
        # edges), into a frame tagged BT.709; a scaler of its own, as scaler's is set up for
        # the mapping's R'G'B'.
        bgr = av.VideoFrame.from_ndarray(hdr.to_bgr(frame, target, (x0, y0, x1, y1), scaler), format="bgr24")
        return VideoReformatter().reformat(bgr, format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
    # Range and matrix are read before a crop makes a new, untagged frame.
    full_range = is_full_range(frame)
    if is_i420(frame):
        if crop:
            frame = planes_to_frame(crop_planes(frame_planes(frame), (x0, y0, x1, y1)))
        if (frame.width, frame.height) == tuple(target) and not full_range:
            return frame
    elif crop:
        return i420_to_frame(bgr_to_i420(frame_to_bgr(frame, target, crop, scaler), frame_matrix(frame)))
    # swscale's area filter is ~4x cheaper than cv2.INTER_AREA at the non-integer ratios of a
    # picture-in-picture (1080 -> 356 rows) and as free of aliasing. It also moves full-range
    # YUV (phones, some webcams) to the studio range every later stage and the encoder assume.
    ranges = {"src_color_range": "JPEG", "dst_color_range": "MPEG"} if full_range else {}
    return (scaler or VideoReformatter()).reformat(
        frame,
        width=target[0],
        height=target[1],
        format="yuv420p",
        interpolation="AREA" if target[0] < frame.width else "BILINEAR",
        **ranges,
    )


def frame_to_i420(
    frame: av.VideoFrame,
    size: tuple[int, int] | None,
    crop: Crop = Crop(),
    scaler: VideoReformatter | None = None,
) -> np.ndarray:
    """:func:`frame_to_yuv420p` as I420 planes ``(H * 3 // 2, W)`` uint8 (a new array)."""
    return frame_to_yuv420p(frame, size, crop, scaler).to_ndarray()


def _interpolation(src_width: int, dst_width: int) -> int:
    return cv2.INTER_AREA if dst_width < src_width else cv2.INTER_LINEAR
