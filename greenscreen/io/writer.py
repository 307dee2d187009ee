"""Encode BGR frames and a soundtrack into a web-ready MP4 (H.264 High yuv420p + AAC, faststart)."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from greenscreen.io.audio import SAMPLE_RATE
from greenscreen.io.captions import Cue, mov_text_sample, one_at_a_time
from greenscreen.io.colour import X264_TAGS, Matrix, bgr_to_i420
from greenscreen.io.files import valid_text
from greenscreen.io.yuv import i420_to_frame
from greenscreen.settings import check_fields, setting

X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
)


@dataclass(frozen=True)
class EncodeSettings:
    """Encoder settings. The default favours speed at a bitrate fit for an intranet."""

    preset: str = setting(
        "veryfast", choices=X264_PRESETS, help="x264 speed preset: slower presets give smaller files."
    )
    crf: int = setting(
        23, min=1, max=51,
        help="x264 quality: lower is better and larger (0, lossless, needs a profile browsers cannot play).",
    )
    audio_bitrate: int = setting(128, min=32, max=320, help="AAC bitrate in kbit/s.")
    max_bitrate: int = setting(
        0, min=0, max=100_000,
        help="Cap on the video bitrate in kbit/s (0 = none): quality-based (CRF) encoding that never "
        "goes above this, for congested networks.",
    )
    poster: bool = setting(False, help="Also write OUTPUT.jpg, a poster frame for the web page's <video poster>.")
    poster_at: float = setting(
        0.0, min=0.0, max=86400.0, clock=True,
        help="Second of the output the poster shows (0 = automatic: an early frame with the speaker).",
    )
    lookahead: int = setting(
        0,
        min=0,
        max=250,
        help="x264 rate-control lookahead in frames (0 = the x264 preset's own). Slow presets "
        "look 50 frames ahead; at 1080p each frame held costs about 5 MB of memory.",
    )

    def __post_init__(self) -> None:
        check_fields(self)


_MILLISECONDS = Fraction(1, 1000)


class VideoWriter:
    """Writes one MP4: call :meth:`write_video` per frame, :meth:`write_audio` in between.

    Frames are BGR uint8 (:meth:`write_video`) or I420 planes (:meth:`write_i420`) of exactly
    ``width`` x ``height`` (both even, as 4:2:0 requires).
    Audio blocks are float32 ``(2, n)`` at 48 kHz. The caller interleaves the two in time order
    so the file streams well in a browser. ``matrix`` is the YUV matrix the frames are in (and
    that BGR frames are converted with); the stream is tagged with it.
    """

    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        fps: Fraction,
        settings: EncodeSettings = EncodeSettings(),
        audio: bool = True,
        title: str = "",
        matrix: Matrix = "bt601",
        captions: Sequence[Cue] = (),
        caption_language: str = "und",
        chapters: Sequence[tuple[float, float, str]] = (),
    ):
        if width % 2 or height % 2:
            raise ValueError(f"output size must be even for 4:2:0, got {width}x{height}")
        self.width, self.height = width, height
        self.matrix = matrix
        self._fps = fps
        # The temporary path ends in ".partial.mp4"; name the muxer explicitly.
        self._container = av.open(
            str(path), mode="w", format="mp4", options={"movflags": "+faststart"}
        )
        if title:
            self._container.metadata["title"] = valid_text(title)
        if chapters:
            # MP4 chapters (players list them; ffprobe -show_chapters), in milliseconds.
            self._container.set_chapters([
                {"id": i + 1, "start": round(start * 1000), "end": round(end * 1000),
                 "time_base": _MILLISECONDS, "metadata": {"title": valid_text(name)}}
                for i, (start, end, name) in enumerate(chapters)
            ])
        video = self._container.add_stream("libx264", rate=fps)
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p"
        video.time_base = Fraction(1) / fps
        # PyAV defaults to slice threads, which x264 runs less efficiently than the frame
        # threads the ffmpeg command line uses (and which compress better): ask for those.
        video.thread_type = "FRAME"
        video.thread_count = 0  # one per core, x264's own choice
        # Studio range in ``matrix``; tag the stream so players decode it the same way.
        options = {
            "preset": settings.preset,
            "crf": str(settings.crf),
            "profile": "high",
            "x264-params": X264_TAGS[matrix],
        }
        if settings.max_bitrate:
            # Capped CRF: x264 keeps the quality target, and its VBV model holds the rate to the
            # cap over any stretch, give or take one buffer. A buffer of one second's worth keeps
            # every second under twice the cap (two seconds' let the first second of a busy
            # screen run 63 % over a 4.5 Mbit/s cap).
            options["maxrate"] = f"{settings.max_bitrate}k"
            options["bufsize"] = f"{settings.max_bitrate}k"
        if settings.lookahead:
            # Caps the frames x264 holds for rate control, the bulk of a slow preset's memory.
            options["rc-lookahead"] = str(settings.lookahead)
        video.options = options
        self._video = video
        self._frames = 0
        self._audio = None
        self._samples = 0
        if audio:
            stream = self._container.add_stream("aac", rate=SAMPLE_RATE)
            stream.layout = "stereo"
            stream.bit_rate = settings.audio_bitrate * 1000
            self._audio = stream
        # A soft subtitle track: players such as VLC and QuickTime offer it (browsers ignore
        # MP4 text tracks and load the sidecar .vtt instead). The samples are written by hand,
        # so the stream needs no encoder.
        self._captions = deque(one_at_a_time(list(captions)))
        self._text = None
        if self._captions:
            self._text = self._container.add_mux_stream("mov_text")
            self._text.time_base = _MILLISECONDS
            self._text.metadata["language"] = caption_language
        # Write the header and open every encoder now, on the constructing thread, so that
        # :meth:`encode_audio` may run on another thread from the first frame on (PyAV would
        # otherwise open the encoders lazily on the first mux, racing the audio thread).
        self._container.start_encoding()

    def write_video(self, frame: np.ndarray) -> None:
        """Encode one BGR uint8 frame as the next frame of the video."""
        self.write_i420(bgr_to_i420(frame, self.matrix))

    def write_i420(self, planes: np.ndarray) -> None:
        """Encode one frame given as I420 planes, uint8 ``(height * 3 // 2, width)``.

        The planes are copied, so the caller may reuse its buffer at once.
        """
        if planes.shape != (self.height * 3 // 2, self.width) or planes.dtype != np.uint8:
            raise ValueError(
                f"expected I420 uint8 of shape {(self.height * 3 // 2, self.width)}, "
                f"got {planes.dtype} {planes.shape}"
            )
        self.write_frame(i420_to_frame(planes))

    def write_frame(self, frame: av.VideoFrame) -> None:
        """Encode one yuv420p frame of ``width`` x ``height`` as the next frame of the video.

        The encoder's own format, so nothing is converted. x264 copies the picture before this
        returns, so the caller may fill the same frame again for the next one.
        """
        if (frame.width, frame.height) != (self.width, self.height) or frame.format.name != "yuv420p":
            raise ValueError(
                f"expected a yuv420p frame of {self.width}x{self.height}, "
                f"got {frame.format.name} {frame.width}x{frame.height}"
            )
        frame.pts = self._frames
        self._frames += 1
        self._write_captions(until=float(self._frames / self._fps))
        # PyAV releases the GIL inside the encoder, so decode and key threads run meanwhile.
        self._container.mux(self._video.encode(frame))

    def write_audio(self, samples: np.ndarray) -> None:
        """Encode the next float32 ``(2, n)`` block of the soundtrack and mux it."""
        self.mux_audio(self.encode_audio(samples))

    def encode_audio(self, samples: np.ndarray) -> list[av.Packet]:
        """Encode the next float32 ``(2, n)`` block of the soundtrack; hand the packets to
        :meth:`mux_audio`.

        Only the audio encoder is touched, so this may run on a thread of its own while another
        thread writes the video and muxes (one audio thread at a time, and finished before
        :meth:`close`): a render encodes its sound beside the frame loop, as ffmpeg does.
        """
        if self._audio is None:
            raise RuntimeError("this writer was opened without audio")
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, np.float32), format="fltp", layout="stereo"
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._samples
        self._samples += samples.shape[1]
        return self._audio.encode(frame)

    def mux_audio(self, packets: list[av.Packet]) -> None:
        """Write packets made by :meth:`encode_audio` into the file (on the muxing thread)."""
        self._container.mux(packets)

    def _write_captions(self, until: float) -> None:
        """Mux the cues that start before ``until`` seconds, keeping the file interleaved."""
        while self._captions and self._captions[0].start < until:
            cue = self._captions.popleft()
            packet = av.Packet(mov_text_sample(cue.text))
            packet.stream = self._text
            packet.time_base = _MILLISECONDS
            packet.pts = packet.dts = round(cue.start * 1000)
            packet.duration = max(round(cue.end * 1000) - packet.pts, 1)
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoders and finish the file (moves the index to the front)."""
        self._write_captions(until=float("inf"))
        self._container.mux(self._video.encode(None))
        if self._audio is not None:
            self._container.mux(self._audio.encode(None))
        self._container.close()

    def abort(self) -> None:
        """Close the file without flushing (it is about to be deleted)."""
        try:
            self._container.close()
        except av.error.FFmpegError:
            pass
