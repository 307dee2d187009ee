"""Stages of the soundtrack between decoding and the encoder: FFmpeg audio filters (from PyAV's
bundled FFmpeg) and the cuts.

:class:`FilteredTrack` wraps anything with ``read(n)`` (an :class:`~greenscreen.io.audio.AudioTrack`)
and hands out the same float32 ``(2, n)`` blocks at 48 kHz, run through a chain of filters such
as ``afftdn`` (denoise), ``volume`` and ``alimiter``.

Some filters hold samples back (``afftdn`` analyses whole FFT windows), and FFmpeg leaves the
delay in the stream: the ffmpeg program lines sound and picture up by timestamps, we by sample
count. So each chain's delay is measured once, by sending a noise burst through a copy of it,
and that many samples are dropped from the front; picture and sound stay in sync to the sample.
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Sequence
from fractions import Fraction
from typing import Protocol

import av
import av.filter
import numpy as np

from greenscreen.io.audio import CHANNELS, SAMPLE_RATE
from greenscreen.io.filter_graph import pulled

Filter = tuple[str, str]
"""One filter: FFmpeg's name and its option string, e.g. ``("volume", "3dB")``."""

_BLOCK = 1024
_TIME_BASE = Fraction(1, SAMPLE_RATE)


class SampleSource(Protocol):
    """Anything that hands out the next ``n`` samples as float32 ``(2, n)``."""

    def read(self, n: int) -> np.ndarray: ...


class FilterChain:
    """A configured FFmpeg filter graph: push float32 ``(2, n)`` blocks, take what comes out.

    The graph ends in an ``aformat`` back to 48 kHz stereo float, so filters that change the rate
    (``aresample`` up for true-peak limiting) hand back what went in.
    """

    def __init__(self, filters: Sequence[Filter]):
        self._graph = av.filter.Graph()
        node = self._graph.add_abuffer(
            format="fltp", sample_rate=SAMPLE_RATE, layout="stereo", time_base=_TIME_BASE
        )
        for name, args in [*filters, ("aformat", f"sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo")]:
            following = self._graph.add(name, args)
            node.link_to(following)
            node = following
        sink = self._graph.add("abuffersink")
        node.link_to(sink)
        self._graph.configure()
        self._pts = 0
        self._out: deque[np.ndarray] = deque()
        self.available = 0
        """Filtered samples waiting to be taken."""
        self.metadata: dict[str, str] = {}
        """The newest metadata a filter attached to its output (``ebur128``'s measurements)."""

    def push(self, samples: np.ndarray | None) -> None:
        """Send the next block in (None: the end, so the filters let go of what they hold)."""
        if samples is None:
            self._graph.push(None)
        else:
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples, np.float32), format="fltp", layout="stereo"
            )
            frame.sample_rate = SAMPLE_RATE
            frame.time_base = _TIME_BASE
            frame.pts = self._pts
            self._pts += samples.shape[1]
            self._graph.push(frame)
        for out in pulled(self._graph):
            if out.metadata:
                self.metadata = dict(out.metadata)
            block = out.to_ndarray().astype(np.float32, copy=False)
            self._out.append(block)
            self.available += block.shape[1]

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` filtered samples (fewer if fewer are :attr:`available`)."""
        n = min(n, self.available)
        out = np.empty((CHANNELS, n), np.float32)
        filled = 0
        while filled < n:
            block = self._out[0]
            count = min(n - filled, block.shape[1])
            out[:, filled : filled + count] = block[:, :count]
            filled += count
            if count == block.shape[1]:
                self._out.popleft()
            else:
                self._out[0] = block[:, count:]
        self.available -= n
        return out


def chain_delay(filters: Sequence[Filter]) -> int:
    """Samples by which ``filters`` delay their input (0 for sample-by-sample filters)."""
    return _chain_delay(tuple(filters)) if filters else 0


@functools.lru_cache(maxsize=16)
def _chain_delay(filters: tuple[Filter, ...]) -> int:
    # Measured once per chain: the planning passes and the render build the same chains.
    burst = np.random.default_rng(0).standard_normal(SAMPLE_RATE // 4).astype(np.float32) * 0.3
    signal = np.zeros((CHANNELS, SAMPLE_RATE), np.float32)
    signal[:, SAMPLE_RATE // 8 : SAMPLE_RATE // 8 + burst.size] = burst
    chain = FilterChain(filters)
    for start in range(0, signal.shape[1], _BLOCK):
        chain.push(signal[:, start : start + _BLOCK])
    chain.push(None)
    out = chain.take(chain.available)[0]
    # The lag that best lines the output up with the input (a denoiser changes levels, not timing).
    spectrum = np.fft.rfft(out, 2 * signal.shape[1]) * np.conj(np.fft.rfft(signal[0], 2 * signal.shape[1]))
    correlation = np.fft.irfft(spectrum)[: signal.shape[1]]
    return int(np.argmax(correlation))


class _Stage:
    """A stage that reads from ``_source``; closing it closes the source (its decoders)."""

    _source: SampleSource

    def close(self) -> None:
        """Release the source's decoders."""
        close = getattr(self._source, "close", None)
        if close is not None:
            close()


class FilteredTrack(_Stage):
    """``source`` run through ``filters``, sample-aligned with it (see the module docstring)."""

    def __init__(self, source: SampleSource, filters: Sequence[Filter]):
        self._source = source
        self._chain = FilterChain(filters) if filters else None
        self._drop = chain_delay(filters)

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` filtered samples."""
        if self._chain is None:
            return self._source.read(n)
        # The source is silent past its end, so there is always more to push.
        while self._chain.available < n + self._drop:
            self._chain.push(self._source.read(_BLOCK))
        if self._drop:
            self._chain.take(self._drop)
            self._drop = 0
        return self._chain.take(n)



class Stopped(Exception):
    """Raised by :class:`StopWhen` once its event is set: whoever waited for the sound is gone."""


class StopWhen(_Stage):
    """``source``, until ``event`` is set; then every read raises :class:`Stopped`.

    Measuring the loudness reads the whole soundtrack before the first sample is encoded (a
    minute of sound a second); a render that fails or is stopped meanwhile must not wait for it.
    """

    def __init__(self, source: SampleSource, event: threading.Event):
        self._source = source
        self._event = event

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` samples of the source."""
        if self._event.is_set():
            raise Stopped
        return self._source.read(n)


class KeptSound(_Stage):
    """The parts of ``source`` that ``ranges`` keep (half-open sample ranges, in order), joined.

    Sound before the first range and between ranges is read and dropped, so the source is
    decoded straight through. Where a cut joins two parts they crossfade over ``fade`` samples
    (10 ms): the sound the cut removes fades out under the start of the next part as it fades
    in, so the waveform never jumps (a jump clicks) and the level never dips. Past the last
    range the sound is silent.
    """

    def __init__(self, source: SampleSource, ranges: Sequence[tuple[int, int]], *, fade: int = SAMPLE_RATE // 100):
        self._source = source
        self._ranges = [r for r in ranges if r[1] > r[0]]
        self._fade = fade
        self._position = 0
        """Samples of ``source`` read so far."""
        self._part = 0
        self._tail = np.zeros((CHANNELS, 0), np.float32)
        """The first samples a cut removes: they fade out under the next part's start."""

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` kept samples."""
        out = np.zeros((CHANNELS, n), np.float32)
        filled = 0
        while filled < n and self._part < len(self._ranges):
            first, end = self._ranges[self._part]
            while self._position < first:  # a trim or a cut: read past it
                skipped = self._source.read(min(first - self._position, SAMPLE_RATE))
                if self._part > 0 and self._tail.shape[1] < self._fade:
                    self._tail = np.concatenate([self._tail, skipped[:, : self._fade - self._tail.shape[1]]], axis=1)
                self._position += skipped.shape[1]
                if not skipped.shape[1]:
                    break  # the sound ended inside the cut
            take = min(n - filled, end - self._position)
            block = self._source.read(take)
            if self._part > 0:
                self._crossfade(block, self._position - first)
            out[:, filled : filled + block.shape[1]] = block
            filled += take
            self._position += take
            if self._position >= end:
                self._part += 1
                self._tail = np.zeros((CHANNELS, 0), np.float32)
        return out

    def _crossfade(self, block: np.ndarray, into: int) -> None:
        """Fade ``block`` (``into`` samples into a part after a cut) in over the cut's tail."""
        length = self._tail.shape[1]
        m = min(block.shape[1], length - into)
        if m <= 0:
            return
        ramp = ((into + np.arange(m)) / length).astype(np.float32)
        block[:, :m] = block[:, :m] * ramp + self._tail[:, into : into + m] * (1 - ramp)

