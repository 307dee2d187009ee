"""Random access to the frames of the two recordings, for scrubbing in the preview.

Render streams frames in order; the preview jumps around. :class:`VideoFrames` indexes a file's
packet timestamps once (demuxing without decoding is cheap), then serves any frame by seeking to
the keyframe before it and decoding forward, with a small LRU cache so stepping back and forth
and replaying a short stretch do not decode again. Frames are converted with the reader's
:func:`~greenscreen.io.reader.frame_to_bgr`, so they are cropped and scaled exactly as in render.

:class:`PreviewSource` puts the two recordings on the render's output timeline
(:func:`~greenscreen.pipeline.plan_timeline`), title and outro cards included, so preview frame
``n`` is output frame ``n`` of a render: the same card frame or the same source frames, the
screen recording converted to I420 exactly as render's reader does, and the same clean plate
for the keyer.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import av
import cv2
import numpy as np

from greenscreen.compositor import crop_of
from greenscreen.config import RenderSettings
from greenscreen.errors import MediaError, SettingsError
from greenscreen.io.probe import (
    REORDER_FRAMES, ClockBreaks, breaks_of, ffmpeg_reason, frame_step, open_container, probe, video_stream,
)
from greenscreen.io.orientation import pixel_aspect, upright
from greenscreen.io.colour import Matrix, bgr_to_i420
from greenscreen.io.reader import Crop, frame_to_bgr, frame_to_yuv420p, letterboxed, progressive
from greenscreen.io.stills import load_plate, read_image, read_image_with_alpha
from greenscreen.io.yuv import Planes, frame_planes, i420_planes
from greenscreen.composite.lower_third import LowerThird
from greenscreen.composite.redact import Redaction
from greenscreen.io.captions import Cue, read_captions
from greenscreen.pipeline import (
    Cut,
    output_cues,
    plan_timeline,
    shown_after_end,
    source_frame,
    title_and_outro_cards,
)
from greenscreen.plan import Segment, Timeline, raise_segment_problems
from greenscreen.title_cards import CardFrames

NO_SCREEN_OUTPUT = (1920, 1080)
"""Output size shown when there is no screen recording: the usual size of one, so pixel-sized
settings (refine, choke, feather) look as they will in a real render."""

FORWARD_DECODE_LIMIT = 48
"""Decode forward instead of seeking when the wanted frame is at most this many frames ahead."""


class VideoFrames:
    """Frames of one recording by index, in display order, with their times in seconds.

    ``times[i]`` counts from the first frame, like :func:`~greenscreen.io.reader.read_frames`.
    """

    def __init__(self, path: Path, *, cache_size: int = 16):
        self.path = Path(path)
        self.times, self._pts, self._keyframes, self._untimed = _index(self.path)
        self._open()
        self._aspect = pixel_aspect(self._stream)
        self._decoder: object | None = None
        self._next = 0  # index the decoder will output next (when _decoder is not None)
        self._cache: OrderedDict[int, av.VideoFrame] = OrderedDict()
        self._cache_size = cache_size
        self._first_size: tuple[int, int] | None = None  # as shown, what a crop is given in

    def __len__(self) -> int:
        return len(self.times)

    def keyframe_indices(self) -> list[int]:
        """Indices of the keyframes: frames that decode without the ones before them."""
        return [bisect.bisect_left(self._pts, k) for k in self._keyframes]

    def index_at(self, t: float, tolerance: float = 0.0) -> int | None:
        """Index of the newest frame shown at time ``t`` (None before the first frame).

        The same rule as the render's frame holding: the last frame with time <= t + tolerance.
        """
        i = bisect.bisect_right(self.times, t + tolerance) - 1
        return i if i >= 0 else None

    def frame(self, index: int) -> av.VideoFrame:
        """The decoded frame ``index`` (0 <= index < len)."""
        if not 0 <= index < len(self.times):
            raise IndexError(f"frame {index} out of range 0..{len(self.times) - 1}")
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        if self._decoder is None or not self._next <= index <= self._next + FORWARD_DECODE_LIMIT:
            self._seek(index)
        try:
            for decoded in self._decoder:  # type: ignore[union-attr]
                got = self._index_of(decoded)
                self._next = got + 1
                self._remember(got, decoded)
                if got >= index:
                    break
        except av.error.FFmpegError as exc:
            self._decoder = None
            raise MediaError(f"cannot decode near frame {index} ({ffmpeg_reason(exc)})", self.path) from None
        frame = self._cache.get(index)
        if frame is None:
            # The file ended early or a timestamp was missing: show the nearest frame decoded.
            self._decoder = None
            nearest = min(self._cache, key=lambda i: abs(i - index), default=None)
            if nearest is None:
                raise MediaError(f"frame {index} cannot be decoded", self.path)
            frame = self._cache[nearest]
        return frame

    def bgr(self, index: int, size: tuple[int, int] | None, crop: Crop = Crop()) -> np.ndarray:
        """Frame ``index`` as BGR uint8, cropped then scaled to ``size`` exactly as render does
        (``crop`` in pixels of the first frame, see :func:`~greenscreen.io.reader.read_frames`)."""
        shown = upright(self.frame(index), self._aspect)
        return letterboxed(shown, size, crop, self._first(index, shown), frame_to_bgr, bars=False)

    def i420(self, index: int, size: tuple[int, int]) -> Planes:
        """Frame ``index`` as read-only I420 planes scaled to ``size``, exactly as render's
        reader passes a screen recording to the compositor (letterboxed if its shape is not the
        first frame's)."""
        shown = upright(self.frame(index), self._aspect)
        return frame_planes(letterboxed(shown, size, Crop(), self._first(index, shown), frame_to_yuv420p))

    def _first(self, index: int, shown: av.VideoFrame) -> tuple[int, int]:
        """The first frame's size as shown (what a crop is given in), found once."""
        if self._first_size is None:
            first = shown if index == 0 else upright(self.frame(0), self._aspect)
            self._first_size = (first.width, first.height)
        return self._first_size

    def close(self) -> None:
        """Release the file."""
        self._cache.clear()
        self._decoder = None
        self._container.close()

    def _seek(self, index: int) -> None:
        k = bisect.bisect_right(self._keyframes, self._pts[index]) - 1
        target = self._keyframes[max(k, 0)]
        if self._untimed:
            self._reopen()  # frames without timestamps cannot be sought by one: from the start
        else:
            try:
                self._container.seek(target, backward=True, any_frame=False, stream=self._stream)
            except av.error.FFmpegError:
                # A file the demuxer cannot seek in (no index, broken timestamps) is read again
                # from its start instead.
                self._reopen()
        # Deinterlaced as the render reads them (from the keyframe sought to on).
        self._decoder = progressive(self._container.decode(self._stream), self._stream)
        self._next = 0  # unknown until the first frame comes out; _index_of finds it

    def _open(self) -> None:
        self._container = open_container(self.path)
        self._stream = video_stream(self._container)
        self._stream.thread_type = "AUTO"

    def _reopen(self) -> None:
        self._container.close()
        self._open()

    def _index_of(self, frame: av.VideoFrame) -> int:
        pts = frame.pts
        if pts is None or self._untimed:
            return self._next
        if frame.time_base and self._stream.time_base and frame.time_base != self._stream.time_base:
            # The deinterlacer counts in fields: half the stream's time base.
            pts = round(pts * Fraction(frame.time_base) / Fraction(self._stream.time_base))
        i = bisect.bisect_left(self._pts, pts)
        return min(i, len(self._pts) - 1)

    def _remember(self, index: int, frame: av.VideoFrame) -> None:
        self._cache[index] = frame
        self._cache.move_to_end(index)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _index(path: Path) -> tuple[list[float], list[int], list[int], bool]:
    """Read every video packet's timestamp: (times in seconds, sorted pts, keyframe pts, and
    whether the packets had no timestamps, so that these were made up at the stream's rate)."""
    container = open_container(path)
    try:
        stream = video_stream(container)
        pts: list[int] = []
        keys: list[int] = []
        untimed: list[bool] = []  # is_keyframe of each packet without a timestamp
        tb = stream.time_base or Fraction(1, 1000)
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                stamp = packet.pts if packet.pts is not None else packet.dts
                if stamp is None:
                    untimed.append(packet.is_keyframe)
                    continue
                pts.append(stamp)
                if packet.is_keyframe:
                    keys.append(stamp)
        except av.error.FFmpegError as exc:
            raise MediaError(f"cannot read the video's packets ({ffmpeg_reason(exc)})", path) from None
        timed = bool(pts)
        if not pts and untimed:
            # No timestamps at all: frames follow at the stream's rate, as the render reads them.
            step = 1 / (Fraction(stream.average_rate or 30) * tb)
            pts = [round(i * step) for i in range(len(untimed))]
            keys = [p for p, key in zip(pts, untimed) if key]
        if not pts:
            raise MediaError("contains no video frames", path)
        # Times with the clock's breaks closed, as the render reads them (see ClockBreaks).
        clock = ClockBreaks(frame_step(stream), breaks_of(path))
        origin = min(pts[:REORDER_FRAMES + 1])  # the first frame shown, as the probe counts
        closed = sorted(clock.closed(float((p - origin) * tb)) for p in pts)
        if any(gap < 0 for _, gap in clock.found):
            # The clock starts again (files joined end to end): a timestamp names several
            # frames, so frames are counted from the start instead, as for a file without
            # timestamps.
            return [t - closed[0] for t in closed], list(range(len(pts))), [0], True
        pts.sort()
        keys.sort()
        if not keys or keys[0] > pts[0]:
            keys.insert(0, pts[0])
        return [t - closed[0] for t in closed], pts, keys, not timed
    finally:
        container.close()


class Source(Protocol):
    """What the preview needs from its recordings (a real pair of files, or arrays in tests)."""

    output_size: tuple[int, int]
    speaker_size: tuple[int, int]
    """The speaker frame's size after the crop."""
    frame_count: int
    fps: float
    has_screen: bool
    plate: np.ndarray | None
    """The empty sheet (BGR uint8, cropped like the speaker) for the keyer, or None."""

    matrix: Matrix
    """The YUV matrix of the output frames (the screen recording's, as in render)."""

    def screen(self, index: int, size: tuple[int, int]) -> Planes | None:
        """Screen frame shown at output frame ``index`` as I420 planes of ``size`` (None if none)."""

    def card(self, index: int) -> tuple[CardFrames, int] | None:
        """The title or outro card and its frame shown at output frame ``index`` (None: none)."""

    def clip_index(self, index: int) -> int | None:
        """Which frame of the recordings' part output frame ``index`` is (None on a card)."""

    def speaker_index(self, index: int) -> int | None:
        """Which speaker frame output frame ``index`` shows (None while the speaker is hidden)."""

    def speaker(self, index: int, size: tuple[int, int], crop: Crop) -> np.ndarray | None:
        """Speaker frame shown at output frame ``index``, cropped and scaled (None if hidden)."""


@dataclass
class PreviewSource:
    """A speaker recording and an optional screen recording on the render's timeline."""

    speaker_frames: VideoFrames
    screen_frames: VideoFrames | None
    output_size: tuple[int, int]
    speaker_size: tuple[int, int]
    frame_count: int
    """Output frames: the title card's, the recordings', the outro card's."""
    fps: float
    kept: tuple[tuple[int, int], ...]
    """The runs of the screen recording's frames shown (see :class:`~greenscreen.pipeline.Timeline`)."""
    offset: float
    plate: np.ndarray | None = None
    stretch: float = 1.0
    """The speaker's clock drift correction, as in render (see :attr:`TimelineSettings.drift`)."""
    redactions: tuple[Redaction, ...] = ()
    """Render's redactions, in the screen recording's pixels and on its clock."""
    screen_source: tuple[int, int] | None = None
    """The screen recording's own size (what the redactions are measured in)."""
    lower_thirds: tuple[LowerThird, ...] = ()
    """Render's lower thirds (on the screen recording's clock)."""
    logo: tuple[np.ndarray, np.ndarray] | None = None
    """Render's logo image: BGR and alpha."""
    matrix: Matrix = "bt601"
    intro: CardFrames | None = None
    """The title card before the recordings (render's), or None."""
    outro: CardFrames | None = None
    """The outro card after them, or None."""
    cues: tuple[Cue, ...] = ()
    """Render's captions on the output timeline (drawn when the settings burn them in)."""
    timeline: Timeline | None = None
    """Render's output timeline (None without a screen recording)."""
    segments: tuple[Segment, ...] = ()
    """Render's segments: the layouts over time (the preview plans them with its settings)."""
    card_image: np.ndarray | None = None
    """The cards' background picture (BGR), for a speaker intro's title card."""

    def screen_time(self, index: int) -> float | None:
        """The screen recording's time at frame ``index`` (None without a screen recording or
        on a card)."""
        clip = self.clip_index(index)
        return None if clip is None or not self.has_screen else self._time(clip)

    @property
    def has_screen(self) -> bool:
        return self.screen_frames is not None

    @classmethod
    def open(
        cls, speaker: Path, screen: Path | None, settings: RenderSettings, *, plate: Path | None = None,
        cuts: Sequence[Cut] = (), redactions: Sequence[Redaction] = (), lower_thirds: Sequence[LowerThird] = (),
        logo: Path | None = None, captions: Path | None = None, card_image: Path | None = None,
        segments: Sequence[Segment] = (),
    ) -> PreviewSource:
        """Open the recordings and plan the timeline exactly as render would.

        ``plate`` is render's ``plate``: an image or short clip of the empty sheet, read once
        here (cropped like the speaker) and given to every keyer the preview makes. ``cuts``
        are render's: the frame slider runs over the frames the output shows, the settings'
        title and outro cards included (on ``card_image``); so are ``redactions``,
        ``lower_thirds``, ``logo``, ``captions`` (a caption file, placed on the output timeline
        as render places it) and ``segments``.
        """
        speaker_info = probe(speaker)
        crop = crop_of(settings)
        try:
            x0, y0, x1, y1 = crop.box(speaker_info.width, speaker_info.height)
        except ValueError as exc:
            raise SettingsError(str(exc), speaker) from None
        screen_info = probe(screen) if screen is not None else None
        timeline = plan_timeline(screen_info, speaker_info, settings, cuts) if screen_info is not None else None
        if timeline is not None:
            raise_segment_problems(segments, timeline)
        # After the probes, as in render: a broken recording is reported before the plate is read.
        plate_image = load_plate(Path(plate), crop) if plate is not None else None
        # Every other file is read before the recordings are opened for scrubbing: a missing
        # logo leaves no decoder open behind it.
        logo_image = read_image_with_alpha(Path(logo)) if logo is not None else None
        card_picture = read_image(Path(card_image)) if card_image is not None else None
        intro = outro = None
        cues: list[Cue] = []
        if timeline is not None:
            intro, outro = title_and_outro_cards(settings, timeline, screen_info.matrix, logo=logo_image,  # type: ignore[union-attr]
                                                 image=card_picture)
            cues = output_cues(
                read_captions(captions), timeline, settings, Path(captions), [],
                intro_seconds=float(intro.frames / timeline.fps) if intro is not None else 0.0,
            ) if captions is not None else []
        speaker_frames = VideoFrames(speaker)
        if timeline is None:
            tl = settings.timeline
            fps = float(speaker_info.fps)
            size = (tl.width or NO_SCREEN_OUTPUT[0], tl.height or NO_SCREEN_OUTPUT[1])
            return cls(speaker_frames, None, (size[0] - size[0] % 2, size[1] - size[1] % 2),
                       (x1 - x0, y1 - y0), len(speaker_frames), fps, ((0, len(speaker_frames)),), 0.0,
                       plate_image)
        try:
            screen_frames = VideoFrames(screen)  # type: ignore[arg-type]
        except BaseException:
            speaker_frames.close()
            raise
        return cls(
            speaker_frames,
            screen_frames,
            timeline.size,
            (x1 - x0, y1 - y0),
            timeline.frame_count + sum(card.frames for card in (intro, outro) if card is not None),
            float(timeline.fps),
            timeline.kept,
            settings.timeline.offset,
            plate_image,
            1 + settings.timeline.drift * 1e-6,
            tuple(redactions),
            (screen_info.width, screen_info.height),
            tuple(lower_thirds),
            logo_image,
            screen_info.matrix,
            intro,
            outro,
            tuple(cues),
            timeline,
            tuple(segments),
            card_picture,
        )

    def card(self, index: int) -> tuple[CardFrames, int] | None:
        """The title or outro card and its frame shown at output frame ``index`` (None: none)."""
        first = self.intro.frames if self.intro is not None else 0
        if index < first:
            return self.intro, index  # type: ignore[return-value]
        clip_end = self.frame_count - (self.outro.frames if self.outro is not None else 0)
        if index >= clip_end and self.outro is not None:
            return self.outro, index - clip_end
        return None

    def clip_index(self, index: int) -> int | None:
        """Which frame of the recordings' part output frame ``index`` is (None on a card)."""
        if self.card(index) is not None:
            return None
        return index - (self.intro.frames if self.intro is not None else 0)

    def _time(self, clip_index: int) -> float:
        return source_frame(self.kept, clip_index) / self.fps

    def screen(self, index: int, size: tuple[int, int]) -> Planes | None:
        clip = self.clip_index(index)
        if self.screen_frames is None or clip is None:
            return None
        i = self.screen_frames.index_at(self._time(clip), 0.5 / self.fps)
        return None if i is None else self.screen_frames.i420(i, size)

    def speaker_index(self, index: int) -> int | None:
        """Which speaker frame output frame ``index`` shows (None while the speaker is hidden)."""
        frames = self.speaker_frames
        clip = self.clip_index(index)
        if clip is None:
            return None
        if self.screen_frames is None:
            return min(clip, len(frames) - 1)
        t = (self._time(clip) - self.offset) / self.stretch
        i = frames.index_at(t, 0.5 / self.fps)
        if i is None:
            return None
        if i == len(frames) - 1 and not shown_after_end(t, frames.times[i], self.fps):
            return None
        return i

    def speaker(self, index: int, size: tuple[int, int], crop: Crop) -> np.ndarray | None:
        i = self.speaker_index(index)
        return None if i is None else self.speaker_frames.bgr(i, size, crop)

    def close(self) -> None:
        self.speaker_frames.close()
        if self.screen_frames is not None:
            self.screen_frames.close()


@dataclass
class ArraySource:
    """In-memory frames (for tests and demos): lists of full-size BGR frames, one per index."""

    speaker_list: list[np.ndarray]
    screen_list: list[np.ndarray] | None = None
    fps: float = 25.0
    output: tuple[int, int] | None = None
    resize: Callable[[np.ndarray, tuple[int, int]], np.ndarray] | None = None
    plate: np.ndarray | None = None
    matrix: Matrix = "bt601"

    def __post_init__(self) -> None:
        h, w = self.speaker_list[0].shape[:2]
        self.speaker_size = (w, h)
        if self.output is not None:
            self.output_size = self.output
        elif self.screen_list:
            sh, sw = self.screen_list[0].shape[:2]
            self.output_size = (sw, sh)
        else:
            self.output_size = NO_SCREEN_OUTPUT
        self.frame_count = len(self.speaker_list)
        self.has_screen = self.screen_list is not None

    def _scaled(self, img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        if img.shape[1::-1] == tuple(size):
            return img.copy()
        if self.resize is not None:
            return self.resize(img, size)
        return cv2.resize(img, size, interpolation=cv2.INTER_AREA)

    def screen(self, index: int, size: tuple[int, int]) -> Planes | None:
        if self.screen_list is None:
            return None
        bgr = self._scaled(self.screen_list[min(index, len(self.screen_list) - 1)], size)
        return i420_planes(bgr_to_i420(bgr, self.matrix))

    def card(self, index: int) -> tuple[CardFrames, int] | None:
        return None

    def clip_index(self, index: int) -> int | None:
        return index

    def speaker_index(self, index: int) -> int | None:
        return min(index, len(self.speaker_list) - 1)

    def speaker(self, index: int, size: tuple[int, int], crop: Crop) -> np.ndarray | None:
        img = self.speaker_list[self.speaker_index(index)]
        h, w = img.shape[:2]
        x0, y0, x1, y1 = crop.box(w, h)
        return self._scaled(img[y0:y1, x0:x1], size)

    def close(self) -> None:
        pass
