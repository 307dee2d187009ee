"""Even loudness and less background noise: the soundtrack measured (EBU R128) and normalised.

Home recordings range from about -35 to -12 LUFS; a tutorial should sound as loud as the next
one. Two passes over the soundtrack, as ffmpeg-normalize does: measure the integrated loudness,
loudness range and true peak with FFmpeg's ``ebur128`` filter, then play the soundtrack through
a linear gain to the target. Where that gain would lift the true peak over the ceiling, a
limiter runs on 4x oversampled sound (so it catches the peaks between samples, which is what
true peak means); it lowers the loudness a little, so the result is measured again and the gain
corrected until it lands on the target.

``denoise`` runs FFmpeg's ``afftdn`` first (steady fan, laptop or street noise), set from the
recording's own noise floor: afftdn leaves noise alone unless it is told roughly how loud it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from greenscreen.io.audio import SAMPLE_RATE
from greenscreen.io.audio_filters import Filter, FilterChain, FilteredTrack, SampleSource
from greenscreen.settings import check_fields, setting

DENOISE_LEVELS = ("off", "light", "strong")
#: afftdn's noise reduction (dB) per denoise level.
_REDUCTION_DB = {"light": 12, "strong": 24}
#: Gains beyond this would mostly lift noise: a soundtrack that quiet is left as it is.
MAX_GAIN_DB = 40.0
#: The limiter and the AAC encoder overshoot the ceiling by a few tenths of a dB; aim below it.
_HEADROOM_DB = 0.5
_BLOCK = 4800


@dataclass(frozen=True)
class SoundSettings:
    """Loudness target and noise reduction of the output's soundtrack."""

    loudness: float = setting(
        -16.0, min=-70.0, max=0.0,
        help="Integrated loudness in LUFS: -16 for the web, -23 for broadcast; off (0) leaves "
        "the level as recorded.",
        aliases={"off": 0.0},
    )
    true_peak: float = setting(-1.0, min=-9.0, max=0.0, help="Ceiling for true peaks after normalising, in dBTP.")
    denoise: str = setting(
        "off", choices=DENOISE_LEVELS, help="Reduce steady background noise (fan, laptop, street)."
    )

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class Loudness:
    """EBU R128 figures of a soundtrack."""

    integrated: float
    """LUFS; -inf for silence."""
    range: float
    """Loudness range, LU."""
    true_peak: float
    """dBTP; -inf for silence."""

    def __str__(self) -> str:
        if not math.isfinite(self.integrated):
            return "silent"
        return f"{self.integrated:.1f} LUFS, range {self.range:.1f} LU, true peak {self.true_peak:.1f} dBTP"

    def as_dict(self) -> dict[str, float | None]:
        """For report.json (JSON has no infinity)."""
        def finite(value: float) -> float | None:
            return round(value, 2) if math.isfinite(value) else None

        return {"integrated_lufs": finite(self.integrated), "range_lu": finite(self.range),
                "true_peak_dbtp": finite(self.true_peak)}


@dataclass
class SoundPlan:
    """What the render does to the soundtrack, decided before the first frame is written."""

    filters: list[Filter] = field(default_factory=list)
    before: Loudness | None = None
    after: Loudness | None = None
    notes: list[str] = field(default_factory=list)


def _db(linear: float) -> float:
    return 20 * math.log10(linear) if linear > 0 else -math.inf


def measure(source: SampleSource, samples: int) -> Loudness:
    """EBU R128 loudness of the next ``samples`` of ``source`` (FFmpeg's ebur128 filter)."""
    meter = FilterChain([("ebur128", "metadata=1:peak=true")])
    for start in range(0, samples, _BLOCK):
        meter.push(source.read(min(_BLOCK, samples - start)))
        meter.take(meter.available)
    meter.push(None)
    last = meter.metadata

    def value(key: str) -> float:
        try:
            return float(last[key])
        except (KeyError, ValueError):
            return -math.inf

    integrated = value("lavfi.r128.I")
    # ebur128 reports -70 LUFS (its gate) for silence, and a linear true peak.
    if integrated <= -70.0:
        integrated = -math.inf
    return Loudness(integrated, max(value("lavfi.r128.LRA"), 0.0), _db(max(value("lavfi.r128.true_peak"), 0.0)))


def noise_floor(source: SampleSource, samples: int) -> float:
    """The quietest steady level of the next ``samples``, in dBFS: the 10th percentile of 50 ms
    RMS levels, ignoring digital silence (padding where a recording has not started)."""
    window = SAMPLE_RATE // 20
    levels = []
    for start in range(0, samples - window + 1, window):
        block = source.read(window)
        power = float(np.mean(block.astype(np.float64) ** 2))
        if power > 1e-12:
            levels.append(10 * math.log10(power))
    return float(np.percentile(levels, 10)) if levels else -math.inf


def plan_sound(
    open_track: Callable[[], SampleSource], skip: int, samples: int, settings: SoundSettings
) -> SoundPlan:
    """Measure the soundtrack and choose the filters that bring it to ``settings``.

    ``open_track()`` must return the soundtrack afresh from its start, each time it is called
    (one pass per call); ``skip`` samples of it are trimmed away, ``samples`` are the output's.
    """
    plan = SoundPlan()

    def run(filters: list[Filter], analyse: Callable[[SampleSource, int], object]) -> object:
        track = FilteredTrack(open_track(), filters)
        try:
            for start in range(0, skip, _BLOCK):
                track.read(min(_BLOCK, skip - start))
            return analyse(track, samples)
        finally:
            track.close()

    if settings.denoise != "off":
        floor = run([], noise_floor)
        assert isinstance(floor, float)
        if math.isfinite(floor):
            # afftdn's noise floor sits about 15-20 dB above the RMS level of broadband noise.
            nf = min(max(floor + 20.0, -80.0), -20.0)
            plan.filters.append(("afftdn", f"nr={_REDUCTION_DB[settings.denoise]}:nf={nf:.1f}"))
            plan.notes.append(f"denoised ({settings.denoise}; noise floor {floor:.0f} dBFS)")
    before = run(plan.filters, measure)
    assert isinstance(before, Loudness)
    plan.before = before
    if not settings.loudness:
        plan.after = before
        return plan
    if not math.isfinite(before.integrated):
        plan.notes.append("the soundtrack is silent; loudness left as it is")
        plan.after = before
        return plan
    gain = settings.loudness - before.integrated
    if gain > MAX_GAIN_DB:
        plan.notes.append(f"the soundtrack is too quiet to normalise ({before.integrated:.1f} LUFS); left as it is")
        plan.after = before
        return plan
    ceiling = settings.true_peak - _HEADROOM_DB
    if before.true_peak + gain <= ceiling:
        plan.filters.append(_volume(gain))
        plan.after = Loudness(before.integrated + gain, before.range, before.true_peak + gain)
    else:
        base = list(plan.filters)
        after = before
        for _ in range(3):  # the limiter takes off a little loudness; correct the gain for it
            filters = base + [_volume(gain), *_limiter(ceiling)]
            measured = run(filters, measure)
            assert isinstance(measured, Loudness)
            after = measured
            if abs(after.integrated - settings.loudness) <= 0.2:
                break
            gain += settings.loudness - after.integrated
        plan.filters = filters
        plan.after = after
    return plan


def _volume(gain_db: float) -> Filter:
    return ("volume", f"volume={gain_db:.3f}dB:precision=float")


def _limiter(ceiling_db: float) -> list[Filter]:
    # alimiter limits samples; at 4x the rate the samples show the true peaks between the 48 kHz
    # ones. latency=1 takes its look-ahead delay back out.
    limit = min(max(10 ** (ceiling_db / 20), 0.0625), 1.0)
    return [
        ("aresample", str(4 * SAMPLE_RATE)),
        ("alimiter", f"limit={limit:.5f}:attack=5:release=50:level=0:latency=1"),
        ("aresample", str(SAMPLE_RATE)),
    ]
