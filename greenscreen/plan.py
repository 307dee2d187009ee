"""The plan: what the output shows at every frame, worked out before any frame is decoded.

From the edit (trim, cuts, segments) and the probed recordings the plan makes the output's
frame grid (:class:`Timeline`) and, for every output frame, the source frame it shows, the
geometry of its layout (a :class:`Shot`: plain values, the speaker's :class:`Placement` and
where the screen goes) and the transition state (:class:`Transition`). Readers, keyer and
compositor take their instructions from it; none of them works out the timeline again.

Memory stays flat with clip length: the plan holds one entry per run of frames (a segment
between cuts), not one per frame.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from greenscreen.composite.layout import CORNERS, WINDOWS, LayoutSettings, Placement, place_speaker, speaker_source_size
from greenscreen.errors import GreenscreenError, SettingsError
from greenscreen.settings import clock_seconds, did_you_mean, parse_clock

if TYPE_CHECKING:
    import numpy as np

    from greenscreen.config import RenderSettings
    from greenscreen.io.probe import MediaInfo


@dataclass(frozen=True)
class Timeline:
    """The output's frame grid and the source times that feed it.

    Source frames are counted on the screen recording's clock at the output's rate (frame ``i``
    is at ``i / fps`` seconds). ``kept`` are the runs of them the output shows, in order, as
    half-open ``(first, end)`` ranges: one run for a plain render, one more after each cut.
    """

    fps: Fraction
    size: tuple[int, int]
    kept: tuple[tuple[int, int], ...]
    recordings_end: float = math.inf
    """Seconds at which the later of the two recordings ends (before the trim), on this clock."""
    trimmed: tuple[int, int] | None = None
    """The run of frames the trim leaves, before the cuts take parts out (``kept``'s span if None)."""

    @property
    def first_frame(self) -> int:
        """The source frame the output starts with."""
        return self.kept[0][0]

    @property
    def frame_count(self) -> int:
        """Frames of the output (without cards)."""
        return sum(end - first for first, end in self.kept)

    def time(self, index: int) -> float:
        """Time in seconds of source frame ``index``."""
        return float(index / self.fps)

    @property
    def trimmed_times(self) -> tuple[float, float]:
        """Start and end in seconds of the clip the trim leaves, before the cuts: what a cut can
        cut from (a cut of the clip's first seconds lies inside it, not outside the clip)."""
        first, end = self.trimmed or (self.kept[0][0], self.kept[-1][1])
        return self.time(first), self.time(end)

    def shows(self, start: float, end: float) -> bool:
        """Whether any of the source time ``start``-``end`` plays in the output (is neither
        trimmed nor cut away)."""
        return any(start < self.time(b) and end > self.time(a) for a, b in self.kept)

    def source_frame(self, n: int) -> int:
        """The source frame output frame ``n`` shows."""
        return source_frame(self.kept, n)

    def source_frames(self) -> Iterator[int]:
        """Every output frame's source frame, in order."""
        for first, end in self.kept:
            yield from range(first, end)

    def output_time(self, t: float) -> float | None:
        """Where source time ``t`` plays in the output (without cards): inside a cut, where the
        cut joins; None before the output's start or after its end."""
        played = 0.0
        for first, end in self.kept:
            a, b = self.time(first), self.time(end)
            if t < a:
                return played if played > 0 else None
            if t < b:
                return played + t - a
            played += b - a
        return None

    def sample_ranges(self, rate: int) -> list[tuple[int, int]]:
        """``kept`` in samples of sound at ``rate`` Hz, cut exactly where the frames are."""
        return [(round(first / self.fps * rate), round(end / self.fps * rate)) for first, end in self.kept]


def source_frame(kept: Sequence[tuple[int, int]], n: int) -> int:
    """The source frame that output frame ``n`` shows, given the ``kept`` runs of a :class:`Timeline`."""
    for first, end in kept:
        if n < end - first:
            return first + n
        n -= end - first
    raise IndexError("output frame past the end of the timeline")


MIN_OUTPUT_SIDE = 2
"""Pixels of the output's shorter side at least: 4:2:0 needs whole 2x2 blocks."""


END_SLACK = 0.1
"""Fraction of a frame by which the recordings may run past the output's last frame."""


def plan_timeline(
    screen: MediaInfo, speaker: MediaInfo, settings: RenderSettings, cuts: Sequence[Cut] = ()
) -> Timeline:
    """Work out output size, frame rate and the frames shown from the sources and settings.

    The output timeline is the screen recording's; it runs until the later of the two sources ends
    (the other holds its last frame or hides the speaker), then the trim applies and the ``cuts``
    (times on the same clock) are taken out of it.
    """
    tl = settings.timeline
    fps = Fraction(tl.fps).limit_denominator(1001) if tl.fps else screen.output_fps
    width = tl.width or screen.width
    height = tl.height or screen.height
    if tl.width and not tl.height:
        height = round(tl.width * screen.height / screen.width)
    elif tl.height and not tl.width:
        width = round(tl.height * screen.width / screen.height)
    size = (width - width % 2, height - height % 2)
    if min(size) < MIN_OUTPUT_SIDE:
        # 4:2:0 video has one colour sample per 2x2 pixels; an odd side is rounded down to even.
        smallest = f"the smallest output is {MIN_OUTPUT_SIDE}x{MIN_OUTPUT_SIDE}"
        if tl.width or tl.height:
            raise SettingsError(f"output size {width}x{height} (--size, or a preset's [timeline] "
                                f"width and height) is too small; {smallest}")
        raise GreenscreenError(
            f"screen recording is {width}x{height} pixels, too small for an output of its size; "
            f"{smallest}: give one with --size",
            screen.path,
        )
    end = end_of_recordings = max(screen.duration, speaker.duration * (1 + tl.drift * 1e-6) + tl.offset)
    if tl.end:
        end = min(end, tl.end)
    first = math.ceil(tl.start * fps - 1e-6)
    # A recording that ends a hair past a frame boundary (an offset found by sound to the
    # millisecond, a duration rounded up by the container) adds no frame of its own: its last
    # frame is already shown. A trim's end is taken as given.
    last = math.ceil(end * fps - (END_SLACK if end == end_of_recordings else 1e-6))
    if last <= first:
        trim = f"{tl.start:g}-{tl.end:g} s" if tl.end else f"from {tl.start:g} s"
        raise SettingsError(
            f"nothing to render: the trim ({trim}) leaves no frames of the {end:.1f} s the "
            "recordings make",
            screen.path,
        )
    kept = [(first, last)]
    for cut in sorted(cuts, key=lambda c: c.start):
        a, b = math.ceil(cut.start * fps - 1e-6), math.ceil(cut.end * fps - 1e-6)
        kept = [part for first_, end_ in kept for part in ((first_, min(end_, a)), (max(first_, b), end_))
                if part[1] > part[0]]
    if not kept:
        raise SettingsError(
            f"nothing to render: the cuts remove every frame of the {tl.start:g}-{end:.1f} s the output would show",
            screen.path,
        )
    return Timeline(fps=fps, size=size, kept=tuple(kept), recordings_end=end_of_recordings, trimmed=(first, last))


@dataclass(frozen=True)
class Chapter:
    """A chapter that starts at ``start`` seconds of the screen recording's clock."""

    start: float
    title: str

    @classmethod
    def parse(cls, text: str) -> Chapter:
        """``"1:20 Passwort ändern"``; raises :class:`SettingsError` naming the problem."""
        when, _, title = text.strip().partition(" ")
        start = parse_clock(when)
        if start is None or start < 0 or not title.strip():
            raise SettingsError(f"chapter '{text}' must be TIME TITLE, e.g. '1:20 Passwort ändern'")
        return cls(start, title.strip())


@dataclass(frozen=True)
class Cut:
    """A stretch removed from both recordings: ``start`` to ``end`` seconds of the screen
    recording's clock (the output's before trims and cuts)."""

    start: float
    end: float

    @classmethod
    def parse(cls, text: str) -> Cut:
        """``"1:20-1:32"`` or ``"80-92.5"``; raises :class:`SettingsError` naming the problem."""
        start_text, dash, end_text = text.strip().partition("-")
        start, end = parse_clock(start_text), parse_clock(end_text)
        if not dash or start is None or end is None:
            raise SettingsError(f"cut '{text}' must be START-END, in seconds or as 1:20.5 (e.g. 1:20-1:32)")
        if end <= start:
            raise SettingsError(f"cut '{text}' ends before it starts")
        return cls(start, end)


def check_cuts(cuts: Sequence[Cut]) -> None:
    """Raise :class:`SettingsError` if two cuts overlap (every pair is named at once)."""
    ordered = sorted(cuts, key=lambda c: c.start)
    clashes = [
        f"{_clock(one.start)}-{_clock(one.end)} and {_clock(other.start)}-{_clock(other.end)}"
        for one, other in zip(ordered, ordered[1:])
        if other.start < one.end
    ]
    if clashes:
        raise SettingsError(f"cuts overlap: {'; '.join(clashes)} (make them one cut)")


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"




# --------------------------------------------------------------------------- segments

SEGMENT_LAYOUTS = ("full", "pip", "circle", "side-by-side", "screen")
"""A segment's layouts: the settings' layouts and ``screen`` (the screen recording alone)."""
TRANSITIONS = ("cut", "crossfade", "slide")
MAX_TRANSITION_SECONDS = 1.0
SEGMENT_KEYS = ("from", "to", "layout", "corner", "size", "window", "transition", "transition_seconds", "title")
"""The keys of a ``[[segment]]`` table (and of ``--segment``), required ones first."""


@dataclass(frozen=True)
class Segment:
    """A stretch of the recordings (``start`` to ``end`` seconds of the screen recording's clock,
    like cuts) shown in ``layout``; ``corner``, ``size`` and ``window`` override the settings'
    for it. ``transition`` leads into it from what was shown before (and out of it into the
    settings' layout where no segment follows), over ``transition_seconds``. A ``title`` makes a
    chapter at its start. ``where`` names it in messages (the edit file's line, the option)."""

    start: float
    end: float
    layout: str
    corner: str | None = None
    size: float | None = None
    window: str | None = None
    transition: str = "cut"
    transition_seconds: float = 0.5
    title: str = ""
    where: str = ""

    @classmethod
    def parse(cls, text: str) -> Segment:
        """``"0:00-0:12=full"``, with more keys as in the edit file:
        ``"0:12-1:30=pip,corner=top-left,transition=crossfade"``. Raises :class:`SettingsError`
        naming every problem."""
        times, eq, rest = text.strip().partition("=")
        start, dash, end = times.partition("-")
        where = f"--segment '{text}': "
        if not eq or not dash:
            raise SettingsError(f"{where}must be START-END=LAYOUT[,KEY=VALUE...], e.g. 0:00-0:12=full")
        layout, *pairs = rest.split(",")
        values: dict[str, Any] = {"from": start.strip(), "to": end.strip(), "layout": layout.strip()}
        problems: list[str] = []
        for pair in pairs:
            key, eq, value = pair.partition("=")
            if not eq:
                problems.append(f"{where}'{pair.strip()}' must be KEY=VALUE")
                continue
            values[key.strip()] = value.strip()
        segment = segment_from(values, where, problems)
        if problems or segment is None:
            raise SettingsError("; ".join(problems))
        return segment


def segment_from(values: dict[str, Any], where: str, problems: list[str]) -> Segment | None:
    """The :class:`Segment` a ``[[segment]]`` table (or ``--segment``) describes, or None after
    adding one line per problem (each starting with ``where``) to ``problems``."""
    found = len(problems)
    for key in values:
        if key not in SEGMENT_KEYS:
            problems.append(f"{where}unknown key '{key}'{did_you_mean(key, SEGMENT_KEYS)}; "
                            f"it takes {', '.join(SEGMENT_KEYS)}")
    missing = [k for k in SEGMENT_KEYS[:3] if k not in values]
    if missing:
        problems.append(f"{where}needs {', '.join(missing)}")
        return None
    start, end = clock_seconds(values["from"]), clock_seconds(values["to"])
    for key, seconds in (("from", start), ("to", end)):
        if seconds is None or seconds < 0:
            problems.append(f"{where}'{key}' must be seconds or a time such as 1:20.5, got {values[key]!r}")
    if start is not None and end is not None and start >= 0 and end <= start:
        problems.append(f"{where}'to' must come after 'from'")
    layout = _choice(values, "layout", SEGMENT_LAYOUTS, where, problems)
    corner = _choice(values, "corner", (*CORNERS, "auto"), where, problems)
    window = _choice(values, "window", WINDOWS, where, problems)
    transition = _choice(values, "transition", TRANSITIONS, where, problems) or "cut"
    size = _number(values, "size", 0.05, 1.0, where, problems)
    seconds = _number(values, "transition_seconds", 0.0, MAX_TRANSITION_SECONDS, where, problems)
    title = values.get("title", "")
    if not isinstance(title, str):
        problems.append(f"{where}'title' must be text, got {title!r}")
    if len(problems) > found or start is None or end is None or layout is None:
        return None
    return Segment(start, end, layout, corner, size, window, transition,
                   0.5 if seconds is None else seconds, title.strip(), where)


def check_segments(segments: Sequence[Segment], recordings_end: float | None = None) -> list[str]:
    """One line per problem of ``segments`` together: overlaps, and with ``recordings_end``
    (seconds on the screen recording's clock) segments beyond the recordings."""
    ordered = sorted(segments, key=lambda s: s.start)
    problems = [
        f"{other.where}segment {_span(other)} overlaps {_span(one)}"
        + (f" ({one.where.rstrip(': ')})" if one.where else "")
        for one, other in zip(ordered, ordered[1:])
        if other.start < one.end
    ]
    if recordings_end is not None:
        for s in ordered:
            if s.start >= recordings_end:
                problems.append(f"{s.where}segment {_span(s)} starts after the recordings end "
                                f"({_clock(recordings_end)})")
            elif s.end > recordings_end + 0.05:
                problems.append(f"{s.where}segment {_span(s)} runs past the end of the recordings "
                                f"({_clock(recordings_end)}); let it end there")
    return problems


def segment_chapters(segments: Sequence[Segment]) -> list[Chapter]:
    """A chapter at the start of every segment with a title."""
    return [Chapter(s.start, s.title) for s in segments if s.title]


def _span(segment: Segment) -> str:
    return f"{_clock(segment.start)}-{_clock(segment.end)}"


def _choice(values: dict[str, Any], key: str, allowed: Sequence[str], where: str, problems: list[str]) -> str | None:
    if key not in values:
        return None
    value = values[key]
    if value not in allowed:
        hint = did_you_mean(value, allowed) if isinstance(value, str) else ""
        problems.append(f"{where}{key} {value!r} is not one of {', '.join(allowed)}{hint}")
        return None
    return value


def _number(
    values: dict[str, Any], key: str, low: float, high: float, where: str, problems: list[str]
) -> float | None:
    if key not in values:
        return None
    value = values[key]
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not low <= number <= high:
        unit = " s" if key == "transition_seconds" else ""
        problems.append(f"{where}{key} must be a number from {low:g} to {high:g}{unit}, got {value!r}")
        return None
    return number


# --------------------------------------------------------------------------- geometry per frame

@dataclass(frozen=True, eq=False)
class Shot:
    """One layout's geometry on this output, as plain values.

    ``placement`` is the speaker's window (None: no speaker); ``screen_box`` where the screen
    recording is fitted, ``(x, y, w, h)`` (None: no screen, as in ``full``, whose speaker stands
    over ``style.background``); ``key_size`` the size speaker frames are keyed at (None: not
    keyed at all); ``style`` the layout settings it was made from (window style, background).
    """

    layout: str
    placement: Placement | None
    screen_box: tuple[int, int, int, int] | None
    key_size: tuple[int, int] | None
    style: LayoutSettings
    picture: np.ndarray | None = None
    """A BGR picture of the output's size behind the speaker instead of ``style.background``
    (the title card of a speaker intro, whose shot's layout is "card")."""


def make_shot(layout: LayoutSettings, output: tuple[int, int], speaker: tuple[int, int], *,
              screen_only: bool = False) -> Shot:
    """The :class:`Shot` of ``layout`` on an ``output`` of ``(W, H)`` for a speaker picture of
    ``speaker`` = ``(w, h)`` (after the crop); ``screen_only`` leaves the speaker out."""
    whole = (0, 0, *output)
    if screen_only:
        return Shot("screen", None, whole, None, layout)
    placement = place_speaker(layout, output=output, speaker=speaker)
    over_screen = layout.layout != "full" or layout.background == "screen"
    box = (placement.screen_box or whole) if over_screen else None
    return Shot(layout.layout, placement, box, speaker_source_size(layout, placement, speaker), layout)


@dataclass(frozen=True)
class Transition:
    """Between two shots: ``kind`` (crossfade or slide) from ``previous`` to the frame's shot,
    ``progress`` of the way (0 < progress < 1)."""

    kind: str
    previous: Shot
    progress: float


@dataclass(frozen=True)
class PlannedFrame:
    """What one output frame shows: source frame ``source`` (at ``time`` seconds of the screen
    recording's clock) in ``shot``, and the ``transition`` under way (None if none)."""

    source: int
    time: float
    shot: Shot
    transition: Transition | None = None

    def shots(self) -> tuple[Shot, ...]:
        """The shots drawn for this frame: the one in view and, in a transition, the last one."""
        return (self.shot,) if self.transition is None else (self.transition.previous, self.shot)

    @property
    def key_size(self) -> tuple[int, int] | None:
        """The size to key the speaker at (the larger where two shots show them), or None when
        no shot shows the speaker: keying is skipped."""
        sizes = [s.key_size for s in self.shots() if s.key_size is not None]
        return max(sizes, key=lambda s: s[0] * s[1]) if sizes else None

    @property
    def screen_size(self) -> tuple[int, int] | None:
        """The size the screen frame is wanted at (the larger where two shots show it), or None."""
        sizes = [s.screen_box[2:] for s in self.shots() if s.screen_box is not None]
        return max(sizes, key=lambda s: s[0] * s[1]) if sizes else None  # type: ignore[return-value]


@dataclass(frozen=True)
class _Piece:
    """Output frames ``out_first`` to ``out_first + length`` showing source frames from
    ``src_first`` on in one shot, which came into view at output frame ``since``, through a
    ``transition`` of ``transition_frames`` from ``previous``."""

    out_first: int
    src_first: int
    length: int
    shot: Shot
    since: int
    transition: str = "cut"
    transition_frames: int = 0
    previous: Shot | None = None


class Plan:
    """The output timeline with its layouts over time: see the module's notes.

    Made by :func:`make_plan`; iterate :meth:`frames` for every output frame in order, or ask
    :meth:`frame` for one.
    """

    def __init__(self, timeline: Timeline, default: Shot, pieces: Sequence[_Piece]):
        self.timeline = timeline
        self.default = default
        self._pieces = list(pieces)
        self._out_starts = [p.out_first for p in self._pieces]
        self._src_starts = [p.src_first for p in self._pieces]
        self.shots = tuple({id(p.shot): p.shot for p in self._pieces}.values())
        """Every shot the output shows."""

    @property
    def frame_count(self) -> int:
        return self.timeline.frame_count

    def frames(self) -> Iterator[PlannedFrame]:
        """Every output frame (without cards), in order."""
        for piece in self._pieces:
            for i in range(piece.length):
                yield self._frame(piece, i)

    def frame(self, n: int) -> PlannedFrame:
        """Output frame ``n`` (counted without cards)."""
        if not 0 <= n < self.frame_count:
            raise IndexError("output frame past the end of the plan")
        piece = self._pieces[bisect.bisect_right(self._out_starts, n) - 1]
        return self._frame(piece, n - piece.out_first)

    def at_source(self, index: int) -> PlannedFrame:
        """The output frame showing source frame ``index``, or the nearest one shown."""
        k = max(bisect.bisect_right(self._src_starts, index) - 1, 0)
        piece = self._pieces[k]
        i = min(max(index - piece.src_first, 0), piece.length - 1)
        return self._frame(piece, i)

    def speaker_size_at(self, t: float) -> tuple[int, int]:
        """The size to decode the speaker frame shown at ``t`` seconds of the screen clock."""
        size = self.at_source(round(t * self.timeline.fps)).key_size
        return size or self.default.key_size or self.timeline.size

    def screen_size_at(self, t: float) -> tuple[int, int]:
        """The size to decode the screen frame shown at ``t`` seconds of its clock."""
        return self.at_source(round(t * self.timeline.fps)).screen_size or self.timeline.size

    def speaker_introduced(self) -> tuple[float, float]:
        """When the speaker first shows in a picture-in-picture window (pip or circle), else in
        any layout, else the whole clip: ``(start, end)`` of that stretch in seconds of the screen
        recording's clock, where a lower third introducing them belongs."""
        for layouts in (("pip", "circle"), ("pip", "circle", "full", "side-by-side")):
            for k, piece in enumerate(self._pieces):
                if piece.shot.layout in layouts and piece.shot.placement is not None:
                    last = piece
                    for after in self._pieces[k + 1 :]:
                        if after.shot is not piece.shot:
                            break
                        last = after
                    return self.timeline.time(piece.src_first), self.timeline.time(last.src_first + last.length)
        return self.timeline.time(self.timeline.first_frame), self.timeline.time(self.timeline.kept[-1][1])

    @property
    def largest_key_size(self) -> tuple[int, int]:
        sizes = [s.key_size for s in self.shots if s.key_size is not None] or [self.default.key_size]
        return max(sizes, key=lambda s: s[0] * s[1])  # type: ignore[arg-type, return-value]

    def _frame(self, piece: _Piece, i: int) -> PlannedFrame:
        source = piece.src_first + i
        done = piece.out_first + i - piece.since
        transition = None
        if piece.previous is not None and done < piece.transition_frames:
            transition = Transition(piece.transition, piece.previous, (done + 1) / (piece.transition_frames + 1))
        return PlannedFrame(source, self.timeline.time(source), piece.shot, transition)


def raise_segment_problems(segments: Sequence[Segment], timeline: Timeline) -> None:
    """Raise :class:`GreenscreenError` naming every problem of ``segments`` on ``timeline`` at
    once (overlaps, segments beyond the recordings), each with its line or option."""
    problems = check_segments(segments, timeline.recordings_end)
    if problems:
        raise GreenscreenError(
            problems[0] if len(problems) == 1
            else f"{len(problems)} problems in the segments\n" + "\n".join(f"  {p}" for p in problems)
        )


def _segment_layout(layout: LayoutSettings, segment: Segment) -> LayoutSettings:
    """``layout`` with ``segment``'s overrides; a value the layout does not allow names the
    segment (one made in Python is not checked as an edit file's is)."""
    try:
        return dataclasses.replace(
            layout,
            layout=layout.layout if segment.layout == "screen" else segment.layout,
            corner=layout.corner if segment.corner in (None, "auto") else segment.corner,
            size=layout.size if segment.size is None else segment.size,
            window=layout.window if segment.window is None else segment.window,
        )
    except SettingsError as exc:
        where = segment.where or f"the segment {segment.start:g}-{segment.end:g}"
        raise SettingsError(f"{where}: {exc}") from None


def make_plan(
    timeline: Timeline,
    settings: RenderSettings,
    speaker: tuple[int, int],
    segments: Sequence[Segment] = (),
    intro: tuple[Shot, int, int] | None = None,
) -> Plan:
    """The :class:`Plan` of ``timeline`` with ``segments`` (outside every segment the settings'
    layout applies); ``speaker`` is the speaker picture's size after the crop. ``intro`` =
    ``(shot, frames, crossfade frames)`` shows the first output frames in that shot (a speaker
    intro on the title card), whatever the segments say, and crossfades out of it. Raises
    :class:`GreenscreenError` naming every segment problem at once (overlaps, segments beyond
    the recordings)."""
    raise_segment_problems(segments, timeline)
    layout, output, fps = settings.layout, timeline.size, timeline.fps
    default = make_shot(layout, output, speaker)
    ordered = sorted(segments, key=lambda s: s.start)
    shots = [make_shot(_segment_layout(layout, s), output, speaker, screen_only=s.layout == "screen")
             for s in ordered]
    bounds = [(math.ceil(s.start * fps - 1e-6), math.ceil(s.end * fps - 1e-6)) for s in ordered]
    # Cut the kept runs where segments begin and end: (out_first, src_first, length, segment).
    raw: list[tuple[int, int, int, int | None]] = []
    out = 0
    for first, end in timeline.kept:
        s = first
        while s < end:
            which, stop = None, end
            for k, (a, b) in enumerate(bounds):
                if a <= s < b:
                    which, stop = k, min(end, b)
                    break
                if a > s:
                    stop = min(end, a)
                    break
            if intro is not None and out < intro[1] < out + stop - s:
                stop = s + intro[1] - out  # the intro ends inside this run: split it there
            raw.append((out, s, stop - s, INTRO if intro is not None and out < intro[1] else which))
            out += stop - s
            s = stop
    pieces: list[_Piece] = []
    for k, (out_first, src_first, length, which) in enumerate(raw):
        shot = intro[0] if which == INTRO else default if which is None else shots[which]  # type: ignore[index]
        before = raw[k - 1][3] if k else None
        if k and which == before:  # the same shot goes on (after a cut, or a segment's end)
            last = pieces[-1]
            pieces.append(dataclasses.replace(last, out_first=out_first, src_first=src_first, length=length))
            continue
        if which == INTRO:
            pieces.append(_Piece(out_first, src_first, length, shot, out_first))
            continue
        if before == INTRO:  # out of the speaker intro: a crossfade from the card
            frames = min(intro[2], _run_length(raw, k))  # type: ignore[index]
            pieces.append(_Piece(out_first, src_first, length, shot, out_first, "crossfade", frames, pieces[-1].shot))
            continue
        # A segment's transition leads into it, and out of it into the settings' layout.
        led = ordered[which] if which is not None else (ordered[before] if before is not None else None)
        if k and led is not None and led.transition != "cut":
            frames = min(round(led.transition_seconds * fps), _run_length(raw, k))
            pieces.append(_Piece(out_first, src_first, length, shot, out_first, led.transition, frames,
                                 pieces[-1].shot))
        else:
            pieces.append(_Piece(out_first, src_first, length, shot, out_first))
    return Plan(timeline, default, pieces)


INTRO = -1
"""Marks the pieces of a speaker intro while the plan is made."""


def _run_length(raw: Sequence[tuple[int, int, int, int | None]], k: int) -> int:
    """Output frames from piece ``k`` until the shot changes."""
    total = 0
    for _, _, length, which in raw[k:]:
        if which != raw[k][3]:
            break
        total += length
    return total
