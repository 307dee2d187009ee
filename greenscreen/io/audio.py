"""The output soundtrack: one or more sources decoded, resampled, shifted and mixed, streamed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from greenscreen.errors import MediaError
from greenscreen.io.probe import CLOCK_BREAK, CLOCK_RESET, audio_stream, ffmpeg_reason, open_container, video_stream

SAMPLE_RATE = 48_000
CHANNELS = 2


@dataclass(frozen=True)
class AudioSource:
    """One input's audio: ``offset`` seconds later on the output timeline, scaled by ``gain``.

    ``stretch`` lengthens the source's timeline by that factor (a clock drift correction): its
    sound is resampled to ``round(48000 * stretch)`` samples a second and played at 48 kHz, so
    the stretch is exact to 1/48000 (21 ppm: 13 ms at the end of ten minutes at worst).
    """

    path: Path
    offset: float = 0.0
    gain: float = 1.0
    stretch: float = 1.0


class AudioTrack:
    """Pull-based mix of :class:`AudioSource` s as float32 ``(CHANNELS, n)`` blocks at 48 kHz.

    Sources without audio contribute silence; past the end of every source the track is silent,
    so the caller decides how long the soundtrack is.
    """

    def __init__(self, sources: list[AudioSource]):
        self._streams = [_SampleStream(s) for s in sources]

    def read(self, n: int) -> np.ndarray:
        """Return the next ``n`` samples of the mix."""
        mix = np.zeros((CHANNELS, n), np.float32)
        for stream in self._streams:
            mix += stream.read(n)
        np.clip(mix, -1.0, 1.0, out=mix)
        return mix

    def close(self) -> None:
        """Release the decoders."""
        for stream in self._streams:
            stream.close()


class _SampleStream:
    """One source as a contiguous run of samples aligned to the output timeline's zero."""

    def __init__(self, source: AudioSource):
        self._source = source
        self._pending: list[np.ndarray] = []
        self._pending_len = 0
        self._blocks: Iterator[np.ndarray] | None = self._decode()

    def _decode(self) -> Iterator[np.ndarray]:
        src = self._source
        container = open_container(src.path)
        try:
            stream = audio_stream(container)
            if stream is None:
                return
            video_start = _stream_start(video_stream(container))
            stream.thread_type = "AUTO"
            rate = round(SAMPLE_RATE * src.stretch)
            decoding = _Decoding(container, stream, format="fltp", layout="stereo", rate=rate)
            blocks = (out.to_ndarray().astype(np.float32, copy=False) for out in decoding)

            def lead(first: float) -> int:
                # The offset (and the drift's stretch) shift the sound on the output's clock.
                return round(((first - video_start) * src.stretch + src.offset) * SAMPLE_RATE)

            try:
                for samples in _from_video_start(decoding, blocks, video_start, lead):
                    yield samples * np.float32(src.gain)
            except av.error.FFmpegError as exc:
                raise MediaError(
                    f"sound cannot be decoded after {decoding.latest or 0.0:.1f} s: the file is corrupt or cut off "
                    f"({ffmpeg_reason(exc)})",
                    src.path,
                ) from None
        finally:
            container.close()

    def read(self, n: int) -> np.ndarray:
        while self._pending_len < n and self._blocks is not None:
            block = next(self._blocks, None)
            if block is None:
                self._blocks = None
                break
            self._pending.append(block)
            self._pending_len += block.shape[1]
        out = np.zeros((CHANNELS, n), np.float32)
        filled = 0
        while filled < n and self._pending:
            block = self._pending[0]
            take = min(n - filled, block.shape[1])
            out[:, filled : filled + take] = block[:, :take]
            filled += take
            if take == block.shape[1]:
                self._pending.pop(0)
            else:
                self._pending[0] = block[:, take:]
        self._pending_len -= filled
        return out

    def close(self) -> None:
        if self._blocks is not None:
            self._blocks.close()  # type: ignore[attr-defined]
            self._blocks = None


def _stream_start(stream: av.stream.Stream) -> float:
    if stream.start_time is None or not stream.time_base:  # PyAV 19: AVRational(0, 1), not None
        return 0.0
    return float(stream.start_time * stream.time_base)


def read_mono(path: str | Path, rate: int | None = None) -> tuple[np.ndarray, int] | None:
    """Decode the sound of ``path`` (see :func:`~greenscreen.io.probe.audio_stream`) whole, as mono float32 at ``rate`` Hz.

    Sample 0 is the start of the video (as in the render), so two recordings' sounds can be
    compared on their pictures' timelines. ``rate`` None keeps the stream's own rate (no
    resampling, so clipped peaks stay as recorded). Returns ``(samples, rate)``, or None if the
    recording has no audio stream. Only the audio is decoded.
    """
    stream = iter_mono(path, rate)
    if stream is None:
        return None
    blocks, rate = stream
    chunks = list(blocks)
    return (np.concatenate(chunks) if chunks else np.zeros(0, np.float32)), rate


def iter_mono(
    path: str | Path, rate: int | None = None, *, holes: list[tuple[float, float]] | None = None
) -> tuple[Iterator[np.ndarray], int] | None:
    """:func:`read_mono` block by block, for sound too long to hold: ``(blocks, rate)`` or None.

    ``holes``, if given, receives ``(start, seconds)`` of each dropout in the sound (a jump of
    its timestamps, filled with silence) as the blocks are read."""
    path = Path(path)
    container = open_container(path)
    stream = audio_stream(container)
    if stream is None:
        container.close()
        return None
    rate = int(rate or stream.codec_context.sample_rate or SAMPLE_RATE)
    return _mono_blocks(container, stream, rate, path, holes), rate


def _mono_blocks(
    container: av.container.InputContainer, stream: av.stream.Stream, rate: int, path: Path,
    holes: list[tuple[float, float]] | None = None,
) -> Iterator[np.ndarray]:
    try:
        video_start = _stream_start(video_stream(container))
        # Two or more channels are mixed here rather than by the resampler: see _downmix.
        layout = "mono" if _channels(stream) == 1 else "stereo"
        decoding = _Decoding(container, stream, format="fltp", layout=layout, rate=rate, holes=holes)
        planes = (out.to_ndarray().astype(np.float32, copy=False) for out in decoding)
        blocks = (p[0] if len(p) == 1 else _downmix(p) for p in planes)
        try:
            yield from _from_video_start(decoding, blocks, video_start, lambda first: round((first - video_start) * rate))
        except av.error.FFmpegError as exc:
            raise MediaError(
                f"sound cannot be decoded: the file is corrupt or cut off ({ffmpeg_reason(exc)})", path
            ) from None
    finally:
        container.close()


def _from_video_start(
    decoding: _Decoding, blocks: Iterator[np.ndarray], video_start: float, lead: Callable[[float], int]
) -> Iterator[np.ndarray]:
    """``blocks`` of ``decoding``'s sound (samples on the last axis) with sample 0 at the
    video's start: silence first where the sound starts later, the samples before it dropped
    where it starts earlier. ``lead(first)`` is how many samples the sound starting at time
    ``first`` (the video's start if unknown) comes after sample 0 (negative: before it)."""
    skip: int | None = None
    for block in blocks:
        if skip is None:
            ahead = lead(decoding.first if decoding.first is not None else video_start)
            # A second of silence at a time: an offset of an hour made one block of 1.4 GB.
            for done in range(0, max(ahead, 0), SAMPLE_RATE):
                yield np.zeros((*block.shape[:-1], min(SAMPLE_RATE, ahead - done)), np.float32)
            skip = max(-ahead, 0)
        drop = min(skip, block.shape[-1])
        skip -= drop
        if block.shape[-1] > drop:
            yield block[..., drop:]


CANCELLED = 0.1
"""Power of the two channels' mix, as a fraction of the louder channel's, below which they
cancel out: one channel in inverted polarity (a miswired microphone or adapter). Two equal
channels give 2, unrelated ones about 1, one channel alone 0.5."""


def _channels(stream: av.stream.Stream) -> int:
    """How many channels ``stream`` has (2 if it does not say)."""
    layout = getattr(stream.codec_context, "layout", None)
    return int(getattr(layout, "nb_channels", 0) or getattr(stream.codec_context, "channels", 0) or 2)


def _downmix(pair: np.ndarray) -> np.ndarray:
    """Mono of a float32 ``(2, n)`` block: the channels mixed as FFmpeg's resampler mixes them,
    ``(L + R) / sqrt(2)``, or the louder channel where the mix cancels out (see
    :data:`CANCELLED`), which the resampler made silence, so that sync and check called such a
    recording silent."""
    mono = (pair[0] + pair[1]) * np.float32(np.sqrt(0.5))
    left, right = float(np.dot(pair[0], pair[0])), float(np.dot(pair[1], pair[1]))
    if float(np.dot(mono, mono)) < CANCELLED * max(left, right):
        return pair[0] if left >= right else pair[1]
    return mono


class _Decoding:
    """The sound of ``stream`` decoded and resampled to ``format``, ``layout`` and ``rate``, a
    few seconds at a time.

    Decoded frames are gathered before they are resampled and converted: per 1024-sample AAC
    frame, resampling and converting cost three times what decoding does (10 minutes of sound
    read for sync: 1.7 s, gathered 0.6 s). The samples are the same either way. A stream that
    changes its sample format, layout or rate mid-way gets a new resampler from there on
    (PyAV's takes one kind of input only). Where the stream's timestamps jump ahead (a USB
    microphone or a capture program dropped sound for a moment), the hole is filled with
    silence, so what follows plays at its time instead of early and out of sync with the
    picture, as ffmpeg plays it too. :attr:`first` is the time of the first decoded frame
    (where the sound starts) and :attr:`latest` the latest known one (how far decoding got); None
    where unknown.
    """

    block_seconds = 4
    #: A jump of the timestamps beyond the sound so far by more than this (seconds) is a hole to
    #: fill; smaller ones are the rounding of the container's timestamps (a millisecond in MKV).
    min_hole = 0.01
    #: ... and by more than this, a broken timestamp rather than lost sound (a dropout lasts
    #: moments): it is not filled, or one bad packet could add hours of silence.
    max_hole = CLOCK_BREAK

    def __init__(self, container: av.container.InputContainer, stream: av.stream.Stream | None, *,
                 format: str, layout: str, rate: int, holes: list[tuple[float, float]] | None = None):
        self._container, self._stream = container, stream
        self._output = {"format": format, "layout": layout, "rate": rate}
        self.first: float | None = None
        self.latest: float | None = None
        self.holes = holes if holes is not None else []
        """``(start, seconds)`` of each hole filled, on the stream's clock."""

    def __iter__(self) -> Iterator[av.AudioFrame]:
        fifo = av.AudioFifo()
        resampler = av.AudioResampler(**self._output)
        kind: tuple[str, str, int] | None = None
        # Where the sound so far (silence filled in included) ends on the stream's clock: counted
        # in samples from the first frame's time, so timestamps that jitter a little late and
        # then early again cannot add up to a drift.
        ends: float | None = None
        for decoded, frame in enumerate(self._container.decode(self._stream)):
            if decoded == 0:
                self.first = frame.time
            self.latest = frame.time if frame.time is not None else self.latest
            # A fifo and a resampler hold one kind of input (PyAV's fifo does not check the layout).
            now = (frame.format.name, frame.layout.name, frame.sample_rate)
            if now != kind:
                if kind is not None:
                    if fifo.samples:
                        yield from resampler.resample(fifo.read())
                    yield from resampler.resample(None)  # its tail, before a new one takes over
                    resampler = av.AudioResampler(**self._output)
                fifo, kind = av.AudioFifo(), now
            if frame.time is not None and ends is not None and self.min_hole < frame.time - ends <= self.max_hole:
                hole = round((frame.time - ends) * frame.sample_rate)
                self.holes.append((ends, hole / frame.sample_rate))
                for silence in _silence_like(frame, hole, self.block_seconds * frame.sample_rate):
                    fifo.write(silence)
                    yield from resampler.resample(fifo.read())
                ends += hole / frame.sample_rate
            elif frame.time is not None and ends is not None and not -CLOCK_RESET <= frame.time - ends <= self.max_hole:
                # A break in the clock, closed up (see probe.ClockBreaks): later holes are
                # measured on the clock as it goes on from here.
                ends = frame.time
            if decoded == 0 and frame.time is not None:
                ends = frame.time
            if ends is not None:
                ends += frame.samples / frame.sample_rate
            frame.pts = None  # the fifo checks timestamps for gaps; they were dealt with above
            fifo.write(frame)
            if fifo.samples >= self.block_seconds * frame.sample_rate:
                yield from resampler.resample(fifo.read())
        if fifo.samples:
            yield from resampler.resample(fifo.read())
        yield from resampler.resample(None)


def _silence_like(frame: av.AudioFrame, samples: int, most: int) -> Iterator[av.AudioFrame]:
    """``samples`` of silence in ``frame``'s format, layout and rate, ``most`` at a time."""
    planar = frame.format.is_planar
    channels = len(frame.layout.channels)
    dtype = frame.to_ndarray().dtype
    for start in range(0, samples, most):
        n = min(most, samples - start)
        zeros = np.zeros((channels, n) if planar else (1, n * channels), dtype)
        silence = av.AudioFrame.from_ndarray(zeros, format=frame.format.name, layout=frame.layout.name)
        silence.sample_rate = frame.sample_rate
        yield silence
