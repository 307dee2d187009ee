"""Line two recordings up by their sound: offset and clock drift from the soundtracks.

Both recordings usually hear the same voice (the webcam's microphone and the screen
recorder's), but through different microphones, at different levels, with different room noise.
What survives all of that is *when* sounds start. So each soundtrack becomes onset envelopes:
the rise of log energy in six frequency bands every :data:`HOP` seconds (a level or EQ
difference is a constant in log energy and drops out of the rise). Each band is
cross-correlated with the same band of the other recording (numpy's FFT), the bands' results
summed:

1. over the whole recordings, for the coarse offset;
2. window by window along the speaker's recording, near the coarse offset; a straight line
   through the windows' lags gives the offset at the start and the drift (its slope).

Convention, as for ``--offset``: a sound heard at speaker time ``ts`` is heard in the screen
recording at ``offset + ts * (1 + drift_ppm / 1e6)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from greenscreen.config import RenderSettings
from greenscreen.io.audio import iter_mono
from greenscreen.io.probe import SILENT_DBFS, probe

RATE = 8000
"""Sample rate the soundtracks are analysed at: speech onsets live well below 4 kHz."""
HOP = 0.005
"""Seconds between envelope values (200 Hz): a fifth of a 25 fps frame before interpolation."""
_WINDOW = 256
"""STFT window in samples at :data:`RATE` (32 ms)."""
_BANDS = (150.0, 300.0, 600.0, 1200.0, 2000.0, 3000.0, 3900.0)
"""Band edges in Hz: each band's level difference between the microphones cancels on its own."""

MIN_CONFIDENCE = 0.4
"""Below this the match is not trusted (see :attr:`SyncResult.confidence`). Measured on
generated pairs: matching soundtracks score 0.6-0.9, unrelated ones up to about 0.3."""
_WINDOW_MARGIN = 0.25
"""A window whose best lag stands out less than this is left out of the drift line."""
MAX_OFFSET = 120.0
"""Largest offset searched, in seconds, unless the caller asks for more."""
DRIFT_WINDOW = 20.0
"""Length of the windows matched along the recording for the drift, in seconds."""
MIN_WINDOWS = 5
"""Windows needed to fit the drift and to count their agreement as evidence: a line through
three or four unrelated windows' lags is too easily a coincidence. Drift is therefore measured
on recordings of 100 s and more; shorter ones are too short to show it anyway."""
MAX_DRIFT_PPM = 2000.0
"""Clocks of consumer devices differ by up to ~0.1 %; windows are searched for twice that."""


@dataclass(frozen=True)
class SyncResult:
    """How the speaker's recording lines up with the screen recording."""

    offset: float
    """Seconds: the speaker's time 0 falls at this screen time (positive = speaker starts later)."""
    drift_ppm: float
    """The speaker's clock runs this many millionths slow against the screen's (its timeline is
    stretched by ``1 + drift_ppm / 1e6``); 0 when the recordings are too short to tell."""
    confidence: float
    """0..1: how far the best match stands out from the next best (1 = unambiguous)."""
    reason: str = ""
    """Why the result is not usable (a silent side, no clear match); empty if it is."""
    windows: int = 0
    """How many windows along the recording agreed on the drift line."""
    no_track: bool = False
    """True if a recording has no sound track at all (nothing to line up by; not a failure)."""

    @property
    def usable(self) -> bool:
        """True if the offset (and drift) can be trusted."""
        return not self.reason

    @property
    def scale(self) -> float:
        """Factor that stretches the speaker's timeline onto the screen's."""
        return 1.0 + self.drift_ppm * 1e-6


@dataclass(frozen=True)
class Heard:
    """What is compared of one soundtrack, made block by block (see :func:`listen`): held
    whole, an hour of sound at :data:`RATE` took 115 MB before any of it was analysed."""

    energy: np.ndarray
    """float32 (bands, frames): the energy in each band every :data:`HOP` seconds."""
    loudest: float
    """Mean power of the loudest 50 ms (-1 if the sound is shorter than that)."""


_FRAMES_PER_FFT = 2048
"""Envelope frames analysed by one FFT call (10 s of sound): few calls, and about 17 MB of
working memory (8192 took 70 MB)."""


def listen(blocks: Iterable[np.ndarray], rate: int = RATE) -> Heard:
    """The band energies and the loudest moment of mono sound given as consecutive float32
    ``blocks`` at ``rate`` Hz (any sizes): the same as of the blocks joined, with memory for a
    few of them and the energies (17 MB an hour)."""
    hop = int(round(HOP * rate))
    window = int(round(_WINDOW * rate / RATE))
    loud_window = max(int(rate * 0.05), 1)
    freqs = np.fft.rfftfreq(window, 1.0 / rate)
    bands = [(freqs >= lo) & (freqs < hi) for lo, hi in zip(_BANDS[:-1], _BANDS[1:])]
    taper = np.hanning(window).astype(np.float32)
    energies: list[np.ndarray] = []
    pending = np.zeros(0, np.float32)  # the sound from frame ``done``'s start on
    unmeasured = np.zeros(0, np.float32)  # the sound after the last whole 50 ms
    done, total, loudest = 0, 0, -1.0

    def analyse(sound: np.ndarray, frames: int) -> None:
        # Frame i is sound[i * hop : i * hop + window], as views of ``sound``.
        windows = np.lib.stride_tricks.sliding_window_view(sound[: (frames - 1) * hop + window], window)[::hop]
        for start in range(0, frames, _FRAMES_PER_FFT):
            power = np.abs(np.fft.rfft(windows[start : start + _FRAMES_PER_FFT] * taper, axis=1)) ** 2
            energies.append(np.stack([power[:, mask].sum(axis=1) for mask in bands]).astype(np.float32))

    for block in _gathered(blocks, 60 * rate):
        total += len(block)
        pending = np.concatenate([pending, block])
        # Frames whose whole window has arrived.
        ready = max((len(pending) - window) // hop + 1, 0) if len(pending) >= window else 0
        if ready:
            analyse(pending, ready)
            done += ready
            pending = pending[ready * hop:]
        unmeasured = np.concatenate([unmeasured, block])
        whole = len(unmeasured) // loud_window
        if whole:
            parts = unmeasured[: whole * loud_window].reshape(whole, loud_window)
            loudest = max(loudest, float(np.mean(np.square(parts, dtype=np.float64), axis=1).max()))
            unmeasured = unmeasured[whole * loud_window:]
    # The last frames read past the end, into silence.
    rest = total // hop - done
    if rest > 0:
        analyse(np.concatenate([pending, np.zeros(window, np.float32)]), rest)
    energy = np.concatenate(energies, axis=1) if energies else np.zeros((len(bands), 0), np.float32)
    return Heard(energy, loudest)


def _gathered(blocks: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """``blocks`` joined into float32 blocks of at least ``size`` samples (the last may be
    shorter): a decoder's blocks of a few hundred samples each cost an FFT call of their own."""
    parts: list[np.ndarray] = []
    count = 0
    for block in blocks:
        parts.append(np.asarray(block, np.float32))
        count += len(block)
        if count >= size:
            yield np.concatenate(parts)
            parts, count = [], 0
    if parts:
        yield np.concatenate(parts)


def onset_envelope(samples: np.ndarray | Heard, rate: int = RATE) -> np.ndarray:
    """Band-limited onset envelopes of mono ``samples`` at ``rate`` Hz (or of what
    :func:`listen` heard of them), one value every :data:`HOP` s.

    Parameters
    ----------
    samples : ndarray, float32, shape (n,)
        Mono sound in [-1, 1].

    Returns
    -------
    ndarray, float32, shape (bands, n // hop)
        The rise of log energy in each band, zero mean and unit variance per band (all zeros
        for a silent band). Bands are compared with their own counterpart only: a bright and a
        dull microphone hear a sound's onset in different bands, and mixing the bands would
        shift it by milliseconds.
    """
    heard = samples if isinstance(samples, Heard) else listen([samples], rate)
    energy = heard.energy
    if energy.shape[1] < 4:
        return np.zeros_like(energy)
    # The floor keeps a band's steady noise (and digital silence) from making onsets of its own:
    # rises are only counted above the band's quiet level.
    floor = np.percentile(energy, 20, axis=1, keepdims=True) + 1e-10
    level = np.log(energy + floor)
    onset = np.maximum(np.diff(level, axis=1, prepend=level[:, :1]), 0.0).astype(np.float32)
    # Remove the slowly varying part (how busy the speech is), keep the onsets' timing.
    span = max(int(round(0.5 / HOP)), 1)
    onset -= cv2.blur(onset, (span, 1), borderType=cv2.BORDER_REFLECT)
    onset -= onset.mean(axis=1, keepdims=True)
    std = onset.std(axis=1, keepdims=True)
    return np.where(std > 1e-6, onset / np.maximum(std, 1e-6), 0.0).astype(np.float32)


EDGE_SECONDS = 0.1
"""Onsets this close to a recording's start or end are left out: the encoder's start-up (a
click on a DC offset) and a cut-off end are no sounds of the room."""

MIN_EVENTS = 2
"""Distinct sounds (strong onsets a quarter of a second apart) each recording needs for a match."""


def _without_edges(envelope: np.ndarray) -> np.ndarray:
    edge = int(round(EDGE_SECONDS / HOP))
    envelope[:, :edge] = 0.0
    envelope[:, max(envelope.shape[1] - edge, 0):] = 0.0
    return envelope


def _events(envelope: np.ndarray, level: float = 3.0, gap: float = 0.25) -> int:
    """How many distinct sounds ``envelope`` holds: runs of onsets above ``level`` (in standard
    deviations) that start more than ``gap`` seconds after the one before."""
    strong = np.flatnonzero(np.abs(envelope).max(axis=0) > level)
    if len(strong) == 0:
        return 0
    return 1 + int(np.count_nonzero(np.diff(strong) > gap / HOP))


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Box-smooth every band of ``x`` over ``width`` envelope values."""
    return cv2.blur(x, (width, 1), borderType=cv2.BORDER_CONSTANT)


def _sounding(part: np.ndarray) -> bool:
    """Whether a stretch of envelopes holds distinct sounds (onsets well above the noise)."""
    return np.count_nonzero(np.abs(part).max(axis=0) > 2.0) >= 10


def _correlate(a: np.ndarray, b: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``c[k - lo] = sum_band sum_i a[band, i] * b[band, i + k]`` for lags ``lo <= k <= hi``
    (b is zero outside its length)."""
    na, nb = a.shape[1], b.shape[1]
    # b's part that any lag can reach, so the FFT stays as short as the search.
    start = max(lo, 0)
    end = min(na + hi, nb)
    seg = np.zeros((b.shape[0], na + hi - lo), np.float32)
    if end > start:
        seg[:, start - lo : end - lo] = b[:, start:end]
    n = 1 << int(np.ceil(np.log2(na + seg.shape[1])))
    # A few bands at a time: all six bands' spectra at once took 300 MB for an hour's
    # recordings; one at a time made the many short windows' searches 40 % slower.
    bands = max(1, min(a.shape[0], (1 << 18) // n))
    spectrum = np.zeros(n // 2 + 1, np.complex128)
    for k in range(0, a.shape[0], bands):
        spectrum += (np.conj(np.fft.rfft(a[k:k + bands], n, axis=1)) * np.fft.rfft(seg[k:k + bands], n, axis=1)).sum(axis=0)
    return np.fft.irfft(spectrum, n)[: hi - lo + 1]


def _peak(c: np.ndarray, exclude: int) -> tuple[float, float]:
    """Sub-sample position of the highest value of ``c`` and its margin over the next peak.

    The margin is ``(best - second) / (best - median)``: 1 when nothing else comes close, near 0
    when another lag (further than ``exclude`` away) matches about as well.
    """
    i = int(np.argmax(c))
    best = float(c[i])
    frac = 0.0
    if 0 < i < len(c) - 1:
        y0, y1, y2 = float(c[i - 1]), best, float(c[i + 1])
        denom = y0 - 2 * y1 + y2
        if denom < 0:
            frac = 0.5 * (y0 - y2) / denom
    rest = c.copy()
    rest[max(i - exclude, 0) : i + exclude + 1] = -np.inf
    second = float(rest.max()) if np.isfinite(rest).any() else float(np.median(c))
    median = float(np.median(c))
    margin = (best - second) / (best - median) if best > median else 0.0
    return i + frac, float(np.clip(margin, 0.0, 1.0))


def _silent(heard: Heard) -> bool:
    """Whether the sound is silent: no 50 ms of it above :data:`~greenscreen.io.probe.SILENT_DBFS`
    (a quiet one above it is matched: the onsets compared are the same at any level; steady
    noise with nothing in it is found out by the match itself, as too few distinct sounds)."""
    return heard.loudest <= 10 ** (SILENT_DBFS / 10)


def estimate(
    speaker: np.ndarray | Heard,
    screen: np.ndarray | Heard,
    rate: int = RATE,
    *,
    max_offset: float = MAX_OFFSET,
) -> SyncResult:
    """Find offset and drift between two mono soundtracks (float32 at ``rate`` Hz, time 0 aligned
    to each recording's start, or what :func:`listen` heard of them). See :class:`SyncResult`
    for the meaning of the figures."""
    heard = [s if isinstance(s, Heard) else listen([s], rate) for s in (speaker, screen)]
    for name, sound in zip(("speaker", "screen"), heard):
        if _silent(sound):
            return SyncResult(0.0, 0.0, 0.0, reason=f"the {name} recording's sound is silent")
    a = _without_edges(onset_envelope(heard[0]))
    b = _without_edges(onset_envelope(heard[1]))
    if not a.any() or not b.any():
        return SyncResult(0.0, 0.0, 0.0, reason="a soundtrack has no distinct sounds to match")
    heard = _events(a), _events(b)
    if min(heard) < MIN_EVENTS:
        # One sound on each side always "matches", whatever it is: no evidence of anything.
        return SyncResult(0.0, 0.0, 0.0, reason=(
            f"too few distinct sounds to line up: {heard[0]} in the speaker's recording, {heard[1]} in the screen's"
        ))
    reach = int(round(max_offset / HOP))
    lo, hi = max(-reach, -a.shape[1] + 1), min(reach, b.shape[1] - 1)
    # Coarse: smoothed envelopes, so a drifting pair's smeared peak still stands out.
    c = _correlate(_smooth(a, 9), _smooth(b, 9), lo, hi)
    c /= np.linalg.norm(a) * np.linalg.norm(b) + 1e-12
    pos, confidence = _peak(c, exclude=int(round(0.25 / HOP)))
    coarse = lo + pos
    # Without drift the unsmoothed peak is sharper and stands out further (short clips).
    raw = _correlate(a, b, lo, hi)
    raw_pos, raw_confidence = _peak(raw, exclude=int(round(0.25 / HOP)))
    if raw_confidence > confidence:
        coarse, confidence = lo + raw_pos, raw_confidence
    duration = a.shape[1] * HOP
    search = int(round((0.2 + MAX_DRIFT_PPM * 1e-6 * duration) / HOP))
    win = int(round(DRIFT_WINDOW / HOP))
    if confidence < MIN_CONFIDENCE and a.shape[1] >= 3 * win:
        # Drift smears the whole-recording peak (0.1 % over ten minutes is 0.6 s); windows are
        # short enough not to smear, and the lag most of them agree on is the coarse one.
        coarse = _coarse_by_windows(a, b, lo, hi, win, spread=search) or coarse
    # Fine: windows along the speaker's recording, each searched near the coarse lag.
    times, lags, weights = [], [], []
    tried = 0
    if a.shape[1] < 2 * win:
        win = a.shape[1]  # a short clip: one window, no drift
    # Windows do not overlap: overlapping ones would share sound and agree on a lag by chance.
    for s in range(0, a.shape[1] - win + 1, win):
        part = a[:, s : s + win]
        if not _sounding(part):
            continue
        tried += 1
        k0 = int(round(coarse)) + s
        wc = _correlate(part, b, k0 - search, k0 + search)
        p, margin = _peak(wc, exclude=int(round(0.1 / HOP)))
        if margin < _WINDOW_MARGIN:
            continue
        times.append((s + win / 2) * HOP)
        lags.append((k0 - search + p - s) * HOP)
        weights.append(margin)
    if not times:
        if confidence < MIN_CONFIDENCE:
            return SyncResult(
                coarse * HOP, 0.0, confidence, reason="no clear match between the soundtracks"
            )
        return SyncResult(coarse * HOP, 0.0, confidence)
    t, lag, w = np.array(times), np.array(lags), np.array(weights)
    offset, slope, keep = _fit_line(t, lag, w, allow_slope=len(t) >= MIN_WINDOWS)
    if keep.sum() >= MIN_WINDOWS:
        # Unrelated sounds give each window a lag of its own; many windows on one line are
        # evidence of a match even where the whole-recording peak is smeared by drift.
        agree = keep.sum() / tried
        confidence = max(confidence, float(np.median(w[keep])) * agree)
    reason = "" if confidence >= MIN_CONFIDENCE else "no clear match between the soundtracks"
    if abs(slope) * 1e6 > MAX_DRIFT_PPM:  # no two real clocks differ this much
        reason = reason or f"implausible drift of {slope * 1e6:+.0f} ppm"
    return SyncResult(float(offset), float(slope * 1e6), float(confidence), reason, int(keep.sum()))


def _coarse_by_windows(a: np.ndarray, b: np.ndarray, lo: int, hi: int, win: int, *, spread: int) -> float | None:
    """The lag (in hops) most windows of ``a`` agree on within ``spread``, searched over lo..hi."""
    lags, margins = [], []
    for s in range(0, a.shape[1] - win + 1, win):
        part = a[:, s : s + win]
        if not _sounding(part):
            continue
        c = _correlate(part, b, lo + s, hi + s)
        p, margin = _peak(c, exclude=int(round(0.25 / HOP)))
        lags.append(lo + p)
        margins.append(margin)
    if not lags:
        return None
    lag, weight = np.array(lags), np.array(margins)
    support = [(weight * (np.abs(lag - x) <= spread)).sum() for x in lag]
    best = int(np.argmax(support))
    near = np.abs(lag - lag[best]) <= spread
    return float(np.median(lag[near]))


def _fit_line(
    t: np.ndarray, lag: np.ndarray, w: np.ndarray, *, allow_slope: bool
) -> tuple[float, float, np.ndarray]:
    """Weighted line ``lag = offset + slope * t`` through the windows, dropping outliers.

    A window that matched an echo or a repeated sound sits far off the line; it is dropped
    when it is more than 20 ms away (windows that truly match sit within a few ms).
    """
    keep = np.ones(len(t), bool)
    offset, slope = float(np.median(lag)), 0.0
    for _ in range(5):
        if allow_slope and keep.sum() >= MIN_WINDOWS:
            slope, offset = np.polyfit(t[keep], lag[keep], 1, w=w[keep])
        else:
            offset = float(np.average(lag[keep], weights=w[keep]))
        resid = np.abs(lag - (offset + slope * t))
        new = resid <= 0.02
        if new.sum() == 0 or (new == keep).all():
            break
        keep = new
    return float(offset), float(slope), keep


def sync(speaker: str | Path, screen: str | Path, *, max_offset: float = MAX_OFFSET) -> SyncResult:
    """Find how ``speaker`` lines up with ``screen`` from their soundtracks (reads only the sound).

    Never fails for silence or unrelated sound: the result then has a ``reason`` and is not
    :attr:`~SyncResult.usable`. Raises :class:`~greenscreen.errors.MediaError` for unreadable files.
    """
    named = (("speaker", Path(speaker)), ("screen", Path(screen)))
    # As render does first: a cut-off or unreadable recording is named as such here, not as
    # "audio is corrupt" when its sound runs out early (a probe is ~10 ms; the sound read below
    # takes seconds). A recording without a sound track is known from it too, before the
    # other's whole soundtrack is decoded for nothing.
    for (name, _), info in zip(named, [probe(path) for _, path in named]):
        if not info.has_audio:
            return SyncResult(0.0, 0.0, 0.0, reason=f"the {name} recording has no sound", no_track=True)
    heard = []
    for name, path in named:
        decoded = iter_mono(path, RATE)
        if decoded is None:
            return SyncResult(0.0, 0.0, 0.0, reason=f"the {name} recording has no sound", no_track=True)
        heard.append(listen(decoded[0], RATE))
    return estimate(heard[0], heard[1], RATE, max_offset=max_offset)


def sync_wanted(settings: RenderSettings, *, given: bool) -> bool:
    """Whether to line the recordings up by sound: only if no offset or drift was asked for.

    ``given`` says an offset or drift was set explicitly (on the command line or in a settings
    file); a preset's non-zero offset counts as given too.
    """
    return not given and settings.timeline.offset == 0 and settings.timeline.drift == 0


GUESS_CONFIDENCE = 0.25
"""Confidence from which an untrusted match is offered to the user as a guess (unrelated
sounds score up to about 0.3; a noise-gated microphone's true match 0.37)."""


def best_guess(result: SyncResult, *, in_batch: bool = False) -> str:
    """For a match not trusted but found (a noise-gated microphone scores low: exact silence
    between its words), the offset it found, for the user to check: "" if none was.
    ``in_batch``: as batch.toml's ``offset`` rather than ``--offset``."""
    if result.usable or result.confidence < GUESS_CONFIDENCE:
        return ""
    setting = f"offset = {result.offset:.3f} in batch.toml" if in_batch else f"--offset {result.offset:.3f}"
    return f" (the best match, at {result.offset:+.3f} s with confidence {result.confidence:.2f}, may be right: " \
           f"check it with {setting})"


def apply_sync(
    speaker: str | Path, screen: str | Path, settings: RenderSettings, *, in_batch: bool = False
) -> tuple[RenderSettings, SyncResult, str]:
    """Line ``speaker`` up with ``screen`` by sound and put the result into ``settings``.

    Returns the settings to render with, the :class:`SyncResult` and one line for the user: a
    note of what was found, or why nothing was (a recording without a sound track), or a warning
    (starting with "warning:") when the match is not trusted and the speaker stays at 0 s.
    ``in_batch``: the offset is set by hand in batch.toml, not with ``--offset``.
    """
    hint = "set its offset in batch.toml" if in_batch else "set --offset"
    result = sync(speaker, screen)
    if result.no_track:
        return settings, result, (
            f"not synced by sound ({result.reason}); the speaker starts at 0 s, {hint} to line them up"
        )
    if not result.usable:
        return settings, result, (
            f"warning: not synced by sound ({result.reason}); the speaker starts at 0 s, "
            f"{hint} to line them up{best_guess(result, in_batch=in_batch)}"
        )
    timeline = dataclasses.replace(settings.timeline, offset=round(result.offset, 4), drift=round(result.drift_ppm, 1))
    return dataclasses.replace(settings, timeline=timeline), result, (
        f"synced by sound: speaker offset {result.offset:+.3f} s, drift {result.drift_ppm:+.0f} ppm "
        f"(confidence {result.confidence:.2f})"
    )
