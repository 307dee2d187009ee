"""Probe a recording: what streams it has, its size, frame rate and duration."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from greenscreen.errors import MediaError
from greenscreen.io.colour import Matrix, frame_matrix
from greenscreen.io.files import check_input_file, os_reason
from greenscreen.io.orientation import pixel_aspect, upright

CLOCK_BREAK = 30.0
"""Seconds by which a recording's timestamps may jump ahead and still be a gap in it (dropped
sound, dropped frames); a larger jump is a break in the clock (a laptop that slept, a camera
restarted, a broken timestamp), closed up rather than filled for hours: in the picture (see
:class:`ClockBreaks`) as in the sound."""


@dataclass(frozen=True)
class MediaInfo:
    """What greenscreen needs to know about a recording before it decodes it."""

    path: Path
    width: int
    height: int
    fps: Fraction
    """Average frame rate (for a variable-frame-rate file: frames over duration)."""
    duration: float
    """Seconds of video."""
    has_audio: bool
    variable_fps: bool = False
    """True if frame timestamps are irregular (as screen recorders write them)."""
    matrix: Matrix = "bt601"
    """The YUV matrix of the picture (see :mod:`greenscreen.io.colour`)."""
    sound_tracks: int = 0
    """How many sound tracks the recording has ..."""
    sound_track: int = 0
    """... and which of them (from 1) is its sound (see :func:`audio_stream`); 0 if none."""
    breaks: tuple[tuple[float, float], ...] = ()
    """``(at, closed)`` for each break in the video's clock (see :class:`ClockBreaks`): at
    ``at`` seconds of the recording as greenscreen reads it, ``closed`` seconds of the file's
    timeline were left out. ``duration`` is without them."""

    def file_time(self, t: float) -> float:
        """Seconds on the file's own timeline (from its first frame) of ``t`` seconds of the
        recording as read, with its clock breaks closed: where to seek for it."""
        # A clock that starts again names its times twice: no seek finds the second part by
        # time, so those breaks are left out (a seek near them lands in the first part).
        return t + sum(closed for at, closed in self.breaks if t >= at and closed > 0)

    @property
    def output_fps(self) -> Fraction:
        """The frame rate to render this source at: its own, or for a variable-frame-rate
        recording the smallest common rate (30 or 60) that keeps all its motion."""
        if not self.variable_fps:
            return self.fps
        return Fraction(30) if self.fps <= 30.5 else Fraction(60)


# PyAV 18 decodes metadata strictly unless told otherwise, and raises on a tag that is not UTF-8
# (some cameras and Windows tools write Latin-1); PyAV 19 always decodes with surrogateescape and
# no longer takes the argument. pip picks 18 on Python 3.11 and 19 on 3.12+, so both must work.
_OPEN_OPTIONS: dict[str, str] = (
    {"metadata_errors": "ignore"} if int(av.__version__.split(".")[0]) < 19 else {}
)


def open_container(path: Path) -> av.container.InputContainer:
    """Open ``path`` for reading, turning every failure into a one-line :class:`MediaError`."""
    # Before opening: a named pipe would block the open forever (see greenscreen.io.files).
    if check_input_file(path).st_size == 0:
        raise MediaError("file is empty (0 bytes), expected a video file", path)
    try:
        container = av.open(str(path), **_OPEN_OPTIONS)
    except PermissionError:
        raise MediaError("file is not readable (permission denied)", path) from None
    except av.error.EOFError:
        raise MediaError("contains no video frames (empty or cut off at the start)", path) from None
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        if _unfinished_mp4(path):
            raise MediaError("the recording was interrupted before it was finished: the MP4 holds its "
                             "pictures but not their index (moov), so it cannot be read", path) from None
        raise MediaError(f"not a readable video file ({ffmpeg_reason(exc)})", path) from None
    except OSError as exc:  # the file changed between the check and the open
        raise MediaError(os_reason(exc), path) from None
    if video_stream(container) is None:
        has_audio, has_cover = bool(container.streams.audio), bool(container.streams.video)
        container.close()
        if has_audio:
            cover = " (and a cover picture)" if has_cover else ""
            raise MediaError(f"has no video stream, only audio{cover}", path)
        if has_cover:
            raise MediaError("has no video stream, only an attached picture", path)
        raise MediaError("contains no video frames (no streams at all)", path)
    return container


def _unfinished_mp4(path: Path) -> bool:
    """Whether ``path`` is an MP4/MOV whose recorder stopped before writing its index: it has
    the top-level boxes a recording starts with (``ftyp``, then ``mdat`` with the media) but no
    ``moov`` (OBS's plain MP4, QuickTime, Game Bar after a crash or a power cut)."""
    seen = set()
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            at = 0
            while at + 8 <= size and len(seen) < 64:
                f.seek(at)
                head = f.read(16)
                length, kind = int.from_bytes(head[:4], "big"), head[4:8]
                if length == 1 and len(head) == 16:
                    length = int.from_bytes(head[8:16], "big")
                elif length == 0:
                    length = size - at  # to the end of the file: an mdat still being written
                if length < 8 or not kind.isalnum() and kind not in (b"free", b"skip", b"wide"):
                    break
                seen.add(kind)
                at += length
    except OSError:
        return False
    return b"ftyp" in seen and b"mdat" in seen and b"moov" not in seen


ATTACHED_PIC = 0x0400
"""FFmpeg's AV_DISPOSITION_ATTACHED_PIC: a "video" stream that is an album cover or a
thumbnail (a voice memo's picture, an MP4's cover art), not a recording."""

DEFAULT_TRACK = 0x0001
"""FFmpeg's AV_DISPOSITION_DEFAULT: the track a player picks among several."""


def video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """The recording's video stream: the first one that is not an attached picture."""
    for stream in container.streams.video:
        if not int(getattr(stream, "disposition", 0) or 0) & ATTACHED_PIC:
            return stream
    return None


def audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream | None:
    """The recording's sound track, None if it has none.

    Of several (OBS records the desktop's sound and the microphone's as tracks of their own,
    and FFmpeg-based muxers mark the first one default, whatever it holds), the track marked
    default, unless another one is clearly the speaker's (see :func:`_speech_track`).
    """
    tracks = list(container.streams.audio)
    if not tracks:
        return None
    default = next((s for s in tracks if int(getattr(s, "disposition", 0) or 0) & DEFAULT_TRACK), tracks[0])
    if len(tracks) == 1:
        return default
    chosen = _speech_track(container.name, tracks, default.index)
    return next(s for s in tracks if s.index == chosen)


SPEECH_SECONDS = 60.0
"""Seconds at the start of each sound track listened to when a recording has several."""
STEADY_DB = 6.0
"""A track whose loud and quiet moments (90th and 10th percentile of 20 ms levels) differ by
less than this is a steady hum or hiss, not a voice."""
SILENT_DBFS = -75.0
"""A sound track whose loudest 50 ms stay below this is silent: a muted input, digital silence
(sync has nothing to match in it, and of several tracks it is not the voice). A quiet one above
it is sound: a laptop microphone across the room records speech at -55 to -70 dBFS RMS."""
ALIVE_DB = -70.0
"""A track replacing a steady default one must be above this level (dBFS) most of the time: a
desktop track with a jingle and then digital silence varies most, and carries no voice."""
_MIC_TITLE = re.compile(r"\b(mic|mics|microphone|mikrofon|mikro|voice|stimme|sprache)\b", re.IGNORECASE)
_DESKTOP_TITLE = re.compile(r"\b(desktop|system|game|spiel|music|musik)\b", re.IGNORECASE)


def _speech_track(name: str, tracks: list[av.audio.stream.AudioStream], default: int) -> int:
    """The index of the track that holds the speaker, of a recording's several sound tracks.

    The default track, unless its title names the desktop's sound and another's a microphone
    (OBS's "Desktop Audio" and "Mic/Aux"), or it is silent or a steady hum where another
    track varies (digital silence on a desktop track with nothing playing is the common case;
    the voice was lost for it). Listening costs a decode of :data:`SPEECH_SECONDS` of each
    track; the choice is remembered per file.
    """
    titles = {s.index: str(s.metadata.get("title", "") or s.metadata.get("handler_name", "")) for s in tracks}
    mics = [i for i, title in titles.items() if _MIC_TITLE.search(title)]
    if mics and _DESKTOP_TITLE.search(titles[default]):
        return mics[0]
    try:
        status = Path(name).stat()
    except OSError:
        return default
    return _listened_track(name, status.st_size, status.st_mtime_ns, tuple(s.index for s in tracks), default)


@functools.lru_cache(maxsize=16)
def _listened_track(name: str, size: int, modified: int, indices: tuple[int, ...], default: int) -> int:
    """:func:`_speech_track`'s choice by listening, remembered per file (``size`` and
    ``modified`` tell a changed file)."""
    try:
        heard = _levels(Path(name), list(indices))
    except (av.error.FFmpegError, MediaError, OSError, ValueError):
        return default
    if heard.get(default) is None:  # silent: any sound is likelier the speaker's
        alive = {i: h[0] for i, h in heard.items() if h is not None}
        return max(alive, key=lambda i: alive[i]) if alive else default
    if heard[default][0] >= STEADY_DB:
        return default
    # A steady hum: another track that varies, with sound most of the time, is the voice.
    varied = {i: h[0] for i, h in heard.items() if h is not None and h[0] >= STEADY_DB and h[1] > ALIVE_DB}
    return max(varied, key=lambda i: varied[i]) if varied else default


def _levels(path: Path, indices: list[int]) -> dict[int, tuple[float, float] | None]:
    """How each track's level goes over its first :data:`SPEECH_SECONDS`: the 90th minus the
    10th percentile of its 20 ms levels in dB, and their median (dBFS); None for a silent
    track."""
    import numpy as np

    rate = 8000
    with open_container(path) as container:
        streams = [s for s in container.streams.audio if s.index in indices]
        resamplers = {s.index: av.AudioResampler(format="flt", layout="mono", rate=rate) for s in streams}
        chunks: dict[int, list[np.ndarray]] = {s.index: [] for s in streams}
        start: float | None = None
        for packet in container.demux(*streams):
            if packet.pts is not None and packet.time_base:
                at = float(packet.pts * packet.time_base)
                start = at if start is None else min(start, at)
                # Packets come in time order across the tracks: past the span (and a margin for
                # their interleaving) every track has had its say, however short one is.
                if at > start + SPEECH_SECONDS + BREAK_SLACK:
                    break
            for frame in packet.decode():
                for out in resamplers[packet.stream.index].resample(frame):
                    chunks[packet.stream.index].append(out.to_ndarray().reshape(-1))
    heard: dict[int, tuple[float, float] | None] = {}
    for i, parts in chunks.items():
        sound = np.concatenate(parts)[: int(SPEECH_SECONDS * rate)] if parts else np.zeros(0, np.float32)
        loud = sound[: len(sound) // 400 * 400].reshape(-1, 400) if len(sound) >= 400 else None
        if loud is None or np.mean(np.square(loud, dtype=np.float64), axis=1).max() <= 10 ** (SILENT_DBFS / 10):
            heard[i] = None
            continue
        frames = sound[: len(sound) // 160 * 160].reshape(-1, 160)
        levels = 10 * np.log10(np.mean(np.square(frames, dtype=np.float64), axis=1) + 1e-12)
        heard[i] = (float(np.percentile(levels, 90) - np.percentile(levels, 10)), float(np.median(levels)))
    return heard


def probe(path: str | Path) -> MediaInfo:
    """Return the :class:`MediaInfo` of ``path`` or raise :class:`MediaError`.

    Decodes the first frame, so a file whose header is fine but that holds no picture is caught
    here rather than halfway through a render.
    """
    path = Path(path)
    with open_container(path) as container:
        stream = video_stream(container)
        try:
            first = next(container.decode(stream), None)
        except av.error.FFmpegError as exc:
            raise MediaError(f"video stream cannot be decoded ({ffmpeg_reason(exc)})", path) from None
        if first is None:
            raise MediaError("contains no video frames", path)
        first = upright(first, pixel_aspect(stream))  # as it is shown: a phone's portrait video is tall
        duration = _duration(container, stream)
        _check_not_truncated(container, stream, duration, path)
        breaks, end = _find_clock_breaks(container, stream, duration, path)
        if breaks or duration <= 0:
            # A live WebM or Matroska file (a browser's MediaRecorder, Loom) states no duration:
            # its packets, read for the breaks, tell it.
            duration = end
        fps = _average_fps(stream, duration, broken=bool(breaks))
        tracks = [s.index for s in container.streams.audio]
        sound = audio_stream(container)
        return MediaInfo(
            path=path,
            width=first.width,
            height=first.height,
            fps=fps,
            duration=duration,
            has_audio=bool(tracks),
            sound_tracks=len(tracks),
            sound_track=tracks.index(sound.index) + 1 if sound is not None else 0,
            variable_fps=_is_variable(stream, fps),
            matrix=frame_matrix(first),
            breaks=breaks,
        )


TRUNCATION_STEPS = 10
"""Seeks spent finding where a truncated file's video stops (to a 1/1024 of its length)."""


_SEEK_SLACK = 0.1
"""Seconds before a sought time at which a packet still counts as there (timestamps rounded)."""


def truncation_tolerance(promised: float) -> float:
    """Seconds a video may end before its header's duration without counting as truncated."""
    return max(1.0, 0.1 * promised)


def _has_data_at(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream | None, t: float
) -> tuple[bool | None, float | None]:
    """Whether the file holds a packet at ``t`` seconds: of ``stream``, or with None of any
    stream (None if the container cannot seek, e.g. a stream format without an index); and, when
    there is none, the time (on the same clock as ``t``) of the last packet read before the
    data ended, if any was."""
    try:
        # Any frame, not the keyframe before: only packets are read, nothing is decoded.
        if stream is not None:
            start = float((stream.start_time or 0) * stream.time_base)
            container.seek((stream.start_time or 0) + int(t / stream.time_base), stream=stream,
                           any_frame=True, backward=True)
            packets = container.demux(stream)
        else:
            start = (container.start_time or 0) / av.time_base
            container.seek((container.start_time or 0) + int(t * av.time_base), any_frame=True, backward=True)
            packets = container.demux()
        # The seek may land well before ``t``: on the keyframe before it (a format that only
        # indexes keyframes), or at the very start (a Matroska file cut off before its index,
        # whose demuxer then falls back there silently). Only a packet at ``t`` counts.
        untimed, last = False, None
        for packet in packets:
            stamp = packet.pts if packet.pts is not None else packet.dts
            if not packet.size:
                continue
            if stamp is None or not packet.time_base:
                untimed = True
                continue
            last = float(stamp * packet.time_base) - start
            if last >= t - _SEEK_SLACK:
                return True, None
        return (None, None) if untimed else (False, last)
    except av.error.FFmpegError:
        return None, None


def _check_not_truncated(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, promised: float,
    path: Path,
) -> None:
    """Raise if the file's data ends well before the duration its header promises.

    A recording cut off part-way (an interrupted copy or download, a recorder that crashed)
    keeps its header: it opens, says how long it is, and then its demuxer just stops early,
    so the first stage to notice would be whichever reads furthest first (often the sound).
    Looking up a packet near the end takes one seek and one read.

    When the video stream states no length of its own (Matroska), ``promised`` is the whole
    file's, which may be its sound's: then any stream's data counts, so a recording whose
    sound runs on after the picture is not mistaken for a cut-off one.
    """
    if stream.time_base is None or promised <= truncation_tolerance(promised):
        return
    which = stream if stream.duration is not None else None
    last_needed = promised - truncation_tolerance(promised)
    found, last = _has_data_at(container, which, last_needed)
    if found is not False:
        return
    if last is None:
        # Nothing read before the end: find where the data stops by halving.
        lo, hi = 0.0, last_needed  # data found at lo, none at hi
        for _ in range(TRUNCATION_STEPS):
            mid = (lo + hi) / 2
            if _has_data_at(container, which, mid)[0]:
                lo = mid
            else:
                hi = mid
        last = lo
    # (Otherwise the read ran through to where the data stops: a Matroska file cut off before
    # its index is read once, not once per halving.)
    raise MediaError(f"video is truncated: frames stop at {last:.1f} s of {promised:.1f} s", path)


def frame_step(stream: av.video.stream.VideoStream) -> float:
    """Seconds from one frame to the next at ``stream``'s nominal rate (1/30 if it has none)."""
    rate = stream.base_rate or stream.average_rate
    return 1.0 / float(rate) if rate and 0 < rate <= 1000 else 1.0 / 30.0


CLOCK_RESET = 1.0
"""Seconds by which a recording's timestamps may step back and still be the decoder's reordering
of frames (or :data:`REORDER_FRAMES` frames, if longer); a larger step back is a reset of its
clock (files joined end to end, as ``cat a.ts b.ts`` joins them, a camera restarted), after which
the frames follow on."""
REORDER_FRAMES = 16
"""Frames by which B-frames can come before later ones in a file (x264's deepest pyramid): at
1 fps, 16 s."""
SOUNDLESS_BREAK = 600.0
"""Without a sound track to tell a break from a still picture, a jump of the timestamps ahead by
more than this (ten minutes) is a break: a variable-frame-rate screen recorder writes no frames
while the screen stands still, which a reader may well do for a minute."""
BREAK_SLACK = 5.0
"""Seconds within which the sound's jump must lie of the picture's for the two to be one break."""


class ClockBreaks:
    """Closes the breaks in a clock of frame times, frame by frame.

    A frame more than :data:`CLOCK_RESET` seconds (or :data:`REORDER_FRAMES` frames) before
    the latest frame before it follows a reset; a frame more than :data:`CLOCK_BREAK` seconds
    after it follows a break if ``ahead(at, jump)`` says so, given the file time of the latest
    frame and the jump (a still screen in a variable-frame-rate recording jumps as far, and is
    no break). After a break the frame is taken to come ``step`` seconds (a frame) after the
    latest. The probe decides with the sound's timestamps (see :func:`scan_clock`), and the
    reader follows the probe's decisions, so they agree; the sound closes its own breaks alike
    (see :mod:`greenscreen.io.audio`).
    """

    def __init__(self, step: float, ahead: Callable[[float, float], bool] | None = None):
        self.step = step
        self.shut = 0.0
        """Seconds of the file's clock left out so far (less those it went back)."""
        self.found: list[tuple[float, float]] = []
        """``(at, closed)`` of each break so far (see :attr:`MediaInfo.breaks`)."""
        self.ahead: list[float] = []
        """The file time of the last frame before each break ahead so far."""
        self.latest: float | None = None
        """The latest frame time so far, breaks closed ..."""
        self._latest_file = 0.0
        """... and the same frame's time on the file's clock."""
        self._is_break = ahead or (lambda at, jump: True)
        self._back = max(CLOCK_RESET, REORDER_FRAMES * step)

    def closed(self, t: float) -> float:
        """The time of a frame at ``t`` seconds of the file's clock, with the breaks closed."""
        now = t - self.shut
        if self.latest is not None:
            jump = now - self.latest
            forward = jump > CLOCK_BREAK and self._is_break(self._latest_file, jump)
            if forward or jump < -self._back:
                if forward:
                    self.ahead.append(self._latest_file)
                gap = jump - self.step
                self.shut += gap
                now -= gap
                self.found.append((now, gap))
        if self.latest is None or now >= self.latest:
            self.latest, self._latest_file = now, t
        return now


@dataclass(frozen=True)
class ClockScan:
    """What a read of all of a recording's packets found: see :func:`scan_clock`."""

    breaks: tuple[tuple[float, float], ...]
    """``(at, closed)`` of each break (see :attr:`MediaInfo.breaks`)."""
    ahead: tuple[float, ...]
    """The file time (from the first frame) of the last frame before each break ahead."""
    end: float | None
    """Where the last frame ends, breaks closed (seconds from the first frame); None if the
    packets tell nothing."""

    def is_break(self, at: float, jump: float) -> bool:
        """For :class:`ClockBreaks`: whether the jump after the frame at file time ``at`` is
        one of the breaks found."""
        return any(abs(at - a) < 1e-3 for a in self.ahead)


@functools.lru_cache(maxsize=16)
def _scan_clock(path: str, size: int, modified: int) -> ClockScan:
    container = open_container(Path(path))
    try:
        stream = video_stream(container)
        sound = audio_stream(container)
        if not stream.time_base:
            return ClockScan((), (), None)
        times: list[float] = []
        sound_jumps: list[float] = []  # where on the video's clock the sound jumped ahead
        sound_end: float | None = None
        try:
            container.seek(stream.start_time or 0, stream=stream, backward=True)
            for packet in container.demux(*(s for s in (stream, sound) if s is not None)):
                stamp = packet.pts if packet.pts is not None else packet.dts
                if stamp is None or not packet.size or not packet.time_base:
                    continue
                at = float(stamp * packet.time_base)
                if packet.stream.index == stream.index:
                    times.append(at)
                else:
                    if sound_end is not None and at - sound_end > CLOCK_BREAK:
                        sound_jumps.append(sound_end)
                    # A sound packet lasts a few ms; MP4 writes a gap as the duration of the
                    # packet before it, which is not counted.
                    sound_end = at + min(float((packet.duration or 0) * packet.time_base), 1.0)
        except av.error.FFmpegError:
            pass  # a file that cannot be read through is reported by the render; judged so far
        if not times:
            return ClockScan((), (), None)
        # Times from the first frame shown, as the reader counts them: the earliest of the first
        # packets (B-frames come after the frame they precede).
        origin = min(times[:REORDER_FRAMES + 1])
        jumps = [j - origin for j in sound_jumps]

        def is_break(at: float, jump: float) -> bool:
            if sound is None:
                return jump > SOUNDLESS_BREAK
            return any(abs(j - at) <= BREAK_SLACK for j in jumps)

        clock = ClockBreaks(frame_step(stream), is_break)
        for t in times:
            clock.closed(t - origin)
        return ClockScan(tuple(clock.found), tuple(clock.ahead), round(clock.latest + clock.step, 6))
    finally:
        container.close()


def scan_clock(path: Path) -> ClockScan:
    """The breaks in the clock of ``path``'s video (see :class:`ClockBreaks`), from all of its
    packets' timestamps (nothing is decoded): a break ahead counts where the sound jumps too
    (within :data:`BREAK_SLACK`), or, without a sound track, beyond :data:`SOUNDLESS_BREAK`.

    Reading the packets costs about 10 µs a frame (0.15 s for ten minutes at 30 fps, more from a
    slow disk); the result is remembered per file, as a render asks for it from several stages.
    """
    status = Path(path).stat()
    return _scan_clock(str(path), status.st_size, status.st_mtime_ns)


def breaks_of(path: Path) -> Callable[[float, float], bool]:
    """For :class:`ClockBreaks` reading ``path``'s frames: whether a jump ahead is one of the
    breaks :func:`scan_clock` found (the packets are read only when a jump comes)."""
    return lambda at, jump: scan_clock(path).is_break(at, jump)


def _find_clock_breaks(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, duration: float, path: Path
) -> tuple[tuple[tuple[float, float], ...], float]:
    """The video's clock breaks (see :func:`scan_clock`) and where its last frame ends with them
    closed (seconds from the first frame; ``duration`` if unknown).

    A file whose header counts its frames is read only when its frames at the nominal rate do
    not fill its duration about as they should (a break leaves them short of it, a reset beyond
    it). Matroska, MPEG-TS and other formats that count no frames are always read, and so is a
    file that states no duration.
    """
    step = frame_step(stream)
    if stream.frames and -CLOCK_RESET <= duration - stream.frames * step <= CLOCK_BREAK and duration > 0:
        return (), duration
    try:
        scan = scan_clock(path)
    except (OSError, MediaError):
        return (), duration
    return scan.breaks, scan.end if scan.end is not None else duration


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    """Seconds from the video's first frame to the end of its last."""
    # PyAV 19 gives an unset rational as a falsy AVRational(0, 1), never None.
    if stream.duration is not None and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
        if container.format.name == "asf" and stream.start_time:
            # ASF (WMV) counts its duration from 0 with the first frame at its preroll, so the
            # output was a frame longer than the recording (3.067 s for 3 s).
            seconds -= float(stream.start_time * stream.time_base)
        return seconds
    end = container.duration / av.time_base if container.duration is not None else None
    if "matroska" in container.format.name:
        # Matroska states where the video ends (its DURATION tag), or where the file does,
        # counted from 0 rather than from the first frame: a recording whose timestamps start
        # late (a live recording joined late, -itsoffset) was taken for one that long, and
        # then for a truncated one. The file's end also counts the sound's encoder padding.
        tagged = _clock_seconds(stream.metadata.get("DURATION", ""))
        end = tagged if tagged is not None else end
        if end is not None and stream.start_time is not None and stream.time_base:
            return max(0.0, end - float(stream.start_time * stream.time_base))
    return end if end is not None else 0.0


def _clock_seconds(text: str) -> float | None:
    """``HH:MM:SS.fraction`` (as Matroska's DURATION tag) in seconds, or None if it is not one."""
    parts = text.strip().split(":")
    try:
        if len(parts) != 3:
            return None
        value = int(parts[0]) * 3600 + int(parts[1]) * 60 + float(parts[2])
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _average_fps(stream: av.video.stream.VideoStream, duration: float, *, broken: bool = False) -> Fraction:
    # The header's average counts a clock break's hours as the recording's: not with ``broken``.
    # A rate over 1000 is a time base taken for one (a raw DV file's average reads 60000), not
    # the recording's: the next guess is taken.
    guesses = (None if broken else stream.average_rate, stream.guessed_rate, stream.base_rate)
    rate = next((r for r in guesses if r and 0 < r <= 1000), None)
    if not rate and stream.frames and duration > 0:
        rate = Fraction(stream.frames) / Fraction(duration).limit_denominator(1000)
    nominal = stream.base_rate
    if rate and nominal and 0.95 * nominal <= rate < nominal:
        # A few frames dropped (a recorder under load leaves gaps, its timestamps on the grid):
        # the recording runs at its own rate, not at a rate like 29.5 that would skip and
        # repeat frames all through the output. More than that is variable (see _is_variable).
        rate = nominal
    if not rate or rate <= 0 or rate > 1000:
        rate = Fraction(30)
    return Fraction(rate).limit_denominator(1001)


def _is_variable(stream: av.video.stream.VideoStream, average: Fraction) -> bool:
    # A constant-rate stream's nominal rate (r_frame_rate) equals its average; a VFR stream's
    # nominal rate is its time base's tick (e.g. 1000) or a peak well above the average.
    nominal = stream.base_rate
    return bool(nominal) and float(nominal) > 1.05 * float(average)


def ffmpeg_reason(exc: BaseException) -> str:
    """The first line of an FFmpeg/OS error, for one-line messages to the user."""
    text = getattr(exc, "strerror", None) or str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
