"""Probe a recording: what streams it has, its size, frame rate and duration."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from greenscreen.errors import MediaError
from greenscreen.io.colour import Matrix, frame_matrix
from greenscreen.io.files import check_input_file, os_reason
from greenscreen.io.orientation import upright


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
        raise MediaError(f"not a readable video file ({ffmpeg_reason(exc)})", path) from None
    except OSError as exc:  # the file changed between the check and the open
        raise MediaError(os_reason(exc), path) from None
    if not container.streams.video:
        has_audio = bool(container.streams.audio)
        container.close()
        if has_audio:
            raise MediaError("has no video stream, only audio", path)
        raise MediaError("contains no video frames (no streams at all)", path)
    return container


def probe(path: str | Path) -> MediaInfo:
    """Return the :class:`MediaInfo` of ``path`` or raise :class:`MediaError`.

    Decodes the first frame, so a file whose header is fine but that holds no picture is caught
    here rather than halfway through a render.
    """
    path = Path(path)
    with open_container(path) as container:
        stream = container.streams.video[0]
        try:
            first = next(container.decode(stream), None)
        except av.error.FFmpegError as exc:
            raise MediaError(f"video stream cannot be decoded ({ffmpeg_reason(exc)})", path) from None
        if first is None:
            raise MediaError("contains no video frames", path)
        first = upright(first)  # a phone's portrait video is as tall as it is shown
        duration = _duration(container, stream)
        fps = _average_fps(stream, duration)
        return MediaInfo(
            path=path,
            width=first.width,
            height=first.height,
            fps=fps,
            duration=duration,
            has_audio=bool(container.streams.audio),
            variable_fps=_is_variable(stream, fps),
            matrix=frame_matrix(first),
        )


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    # PyAV 19 gives an unset rational as a falsy AVRational(0, 1), never None.
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _average_fps(stream: av.video.stream.VideoStream, duration: float) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate and stream.frames and duration > 0:
        rate = Fraction(stream.frames) / Fraction(duration).limit_denominator(1000)
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
