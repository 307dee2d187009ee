"""The render pipeline: decode -> key -> composite -> encode, streamed frame by frame.

Background threads feed the frame loop through bounded queues (:class:`Prefetch`), so
memory stays flat whatever the clip length and the stages overlap on all cores:

* screen lane: decode the screen recording, one yuv420p frame per output frame;
* speaker lane: decode the webcam (its own thread), then key each frame that will be shown;
* audio lane: measure the soundtrack's loudness, then decode, filter and AAC-encode it, one
  output frame's worth at a time;
* the loop itself: copy the screen frame into the encoder's frame, blend the speaker's
  rectangle into it, encode, mux the video and the sound's packets.

PyAV (decode, encode) and OpenCV release the GIL, so Python threads are enough. The screen
recording is never converted to BGR, and copied once: from the decoder's frame into the one
frame the loop hands to the encoder again and again (see :meth:`Compositor.compose_i420`).
"""

from __future__ import annotations

import ctypes
import dataclasses
import math
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from greenscreen.backdrop import BackdropWatch, plate_warning
from greenscreen.composite.lower_third import LowerThird
from greenscreen.composite.lower_third import never_shown as lower_thirds_never_shown
from greenscreen.composite.lower_third import timed as timed_lower_thirds
from greenscreen.composite.quiet_corner import AUTO, quiet_corner
from greenscreen.composite.redact import Redaction
from greenscreen.compositor import Compositor, crop_of
from greenscreen.config import RenderSettings
from greenscreen.errors import MediaError, OutputError, SettingsError
from greenscreen.io.atomic import atomic_path, check_output_path, companion_path, is_null_device
from greenscreen.io.audio import SAMPLE_RATE, AudioSource, AudioTrack
from greenscreen.io.audio_filters import FilteredTrack, KeptSound, StopWhen
from greenscreen.io.captions import Cue, read_captions, webvtt
from greenscreen.io.captions import caption_language as caption_language_tag
from greenscreen.io.colour import Matrix
from greenscreen.io.files import same_file
from greenscreen.io.loudness import Loudness, SoundPlan, plan_sound
from greenscreen.io.prefetch import Prefetch, close_source
from greenscreen.io.poster import PosterPicker
from greenscreen.io.probe import MediaInfo, probe
from greenscreen.io.reader import read_frames
from greenscreen.io.stills import load_plate, read_image, read_image_with_alpha
from greenscreen.io.writer import VideoWriter
from greenscreen.io.yuv import frame_planes, new_frame
from greenscreen.key import Keyer, KeyResult
from greenscreen.plan import (  # noqa: F401  (Timeline, source_frame, Cut, ...: importable from here as before)
    MIN_OUTPUT_SIDE,
    Chapter,
    Cut,
    Plan,
    Segment,
    Shot,
    Timeline,
    _clock,
    check_cuts,
    make_plan,
    make_shot,
    plan_timeline,
    raise_segment_problems,
    segment_chapters,
    source_frame,
)
from greenscreen.title_cards import CardFrames, card_picture, card_problems, has_speaker_intro

if TYPE_CHECKING:
    from greenscreen.composite.captions import CaptionBurner

MP4_SUFFIXES = (".mp4", ".m4v")
"""What a render's output may be called: players go by the extension."""

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(frames_done, frames_total)`` after each output frame."""

QUEUE_BYTES = 8 * 2**20
"""Memory each lane may hold in frames waiting for the next stage. Four picture-in-picture
frames fit easily; a full-frame 1080p speaker (a 14 MB keyed frame) gets a queue of one, so
peak memory stays under budget whatever the layout."""


def queue_depth(frame_bytes: int, *, most: int = 4) -> int:
    """How many frames of ``frame_bytes`` a lane queues: at least 1, at most ``most``."""
    return max(1, min(most, QUEUE_BYTES // max(frame_bytes, 1)))


M_TRIM_THRESHOLD = -1  # mallopt parameter numbers, from glibc's <malloc.h>
M_MMAP_THRESHOLD = -3


def return_large_buffers_to_os() -> None:
    """Tune glibc's allocator for a frame loop: big buffers back to the OS, smaller ones kept.

    glibc raises its mmap threshold after the first large free (up to 32 MB); from then on
    frame-sized arrays come from per-thread heaps that keep their high-water mark. With keying
    on one thread and compositing on another, a full-frame 1080p render peaked ~70 MB higher
    for it. So buffers of 4 MB and more (a 1080p float32 matte is 8 MB) are mmapped and
    unmapped each time; the render loop reuses its few full-frame buffers rather than
    allocating them per frame. Below 4 MB (picture-in-picture keying, half-resolution keyer
    stages) buffers come from the heap: a full-frame 1080p render mapping them afresh spent a
    third of its time in page faults (29 -> 22 s, peak 528 -> 552 MB at 4 MB).

    Fixing the mmap threshold also pins the heap's trim threshold at 128 KB, so the heap was
    given back and faulted in again every frame (~400 page faults a frame, 0.6 s of a 10 s
    1080p render); below 16 MB of free heap it is now kept. A no-op on other C libraries.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 4 << 20)
        libc.mallopt(M_TRIM_THRESHOLD, 16 << 20)
    except (OSError, AttributeError):  # musl or another libc: nothing to tune
        pass


@contextmanager
def opencv_threads(count: int) -> Iterator[None]:
    """Run the block with OpenCV's worker pool set to ``count`` threads, then restore it.

    A render keeps every core busy with decoding and x264 already; OpenCV splitting the
    keyer's and blender's calls over its own pool only adds hand-offs and spinning workers.
    With one thread a render took about 2 % less CPU and wall time (1080p and 720p, the
    picture-in-picture and the full layout). The setting is process-wide, hence the restore.
    """
    previous = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


@dataclass
class RenderResult:
    """What a render produced."""

    output: Path
    frames: int
    fps: Fraction
    size: tuple[int, int]
    duration: float
    notes: list[str] = field(default_factory=list)
    """Things the user may want to know (e.g. which audio was used)."""
    loudness_before: Loudness | None = None
    """The soundtrack as recorded (after denoising); None for a silent track."""
    loudness_after: Loudness | None = None
    warnings: list[str] = field(default_factory=list)
    """Things that are probably not what the user meant (e.g. the speaker is never shown)."""


PLAYABLE_MACROBLOCKS = 36864
"""The largest frame of H.264 level 5.1/5.2 (4096x2304) in 16x16 blocks: what browsers and
hardware decoders play; larger pictures need level 6, which many do not."""
PLAYABLE_SIDE = 16 * int((8 * PLAYABLE_MACROBLOCKS) ** 0.5)
"""The longest side H.264 level 5.1 allows (8688 pixels), however thin the picture."""


def too_large_to_play(size: tuple[int, int]) -> list[str]:
    """A warning if an output of ``size`` is larger than most players decode, else none."""
    w, h = size
    if -(-w // 16) * -(-h // 16) <= PLAYABLE_MACROBLOCKS and max(w, h) <= PLAYABLE_SIDE:
        return []
    return [f"the output is {w}x{h}, larger than most browsers and players can play (4096x2304); "
            "--size 1920x1080 scales it down"]


def undrawable_text_warning(
    settings: RenderSettings, lower_thirds: Sequence[LowerThird], burned: Sequence[Cue], intro: bool, outro: bool
) -> list[str]:
    """A warning naming the characters of the text drawn into the picture (cards, lower
    thirds, burned-in captions) that the shipped font has no glyphs for, if any: they are
    left out of the picture (the captions track, the .vtt and the title keep them)."""
    places = {
        "the title card": [settings.cards.title, settings.cards.subtitle] if intro else [],
        "the outro card": [settings.cards.outro] if outro else [],
        "a lower third": [t for third in lower_thirds for t in (third.name, third.role)],
        "the burned-in captions": [cue.plain for cue in burned],
    }
    if not any(text for texts in places.values() for text in texts):
        return []
    # Pillow is imported only for a render that draws text (start-up time counts per render).
    from greenscreen.text import missing_characters

    found = {where: missing_characters(texts) for where, texts in places.items()}
    missing = missing_characters(found.values())
    if not missing:
        return []
    where = ", ".join(w for w, chars in found.items() if chars)
    return [f"the font has no letters for {' '.join(missing)} (in {where}); they are left out of the picture"]


def speaker_never_shown(timeline: Timeline, speaker: MediaInfo, offset: float) -> str | None:
    """A warning if the speaker is on screen at no output frame (an offset or a trim that
    moves their recording entirely outside the output), else None."""
    first = timeline.time(timeline.first_frame)
    last = timeline.time(timeline.kept[-1][1] - 1)
    half_frame = 0.5 / float(timeline.fps)
    shown_from = offset - half_frame  # as _Held shows a frame half a frame early
    # After the last frame the speaker is held briefly (shown_after_end).
    shown_until = offset + speaker.duration + 1.0 / float(timeline.fps) + 0.1
    if shown_from <= last and shown_until >= first:
        return None
    where = "starts after the output ends" if shown_from > last else "ends before the output starts"
    return (
        f"the speaker is never on screen: with an offset of {offset:g} s their "
        f"{speaker.duration:.1f} s recording {where} (output {first:.1f}-{last:.1f} s); "
        "rendering the screen recording alone"
    )


def speaker_after_screen(screen: MediaInfo, offset: float) -> str | None:
    """A warning if the offset starts the speaker after the screen recording has ended: the
    output then runs on, over its last frame held, to show them alone."""
    if offset <= 0 or offset < screen.duration:  # (a still image lasts 0 s: shown throughout)
        return None
    return (
        f"the speaker starts after the screen recording: with an offset of {offset:g} s they "
        f"appear at {offset:g} s, after its {screen.duration:.1f} s, over its last frame held"
    )


def clock_break_warning(path: Path, at: float, closed: float) -> str:
    """The warning for a break in ``path``'s clock at ``at`` seconds (see probe.ClockBreaks)."""
    if closed > 0:
        what = f"jumps {_length(closed)} ahead at {_clock(at)} (a paused recorder or a computer that slept?)"
    else:
        what = f"goes back {_length(-closed)} at {_clock(at)} (files joined end to end, or the camera restarted?)"
    return f"{path.name}: its clock {what}; the recording is read on from there, picture and sound alike"


def _length(seconds: float) -> str:
    """A length of time as "42 s", "12 min" or "2.5 h"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def choose_audio(
    screen: MediaInfo, speaker: MediaInfo, settings: RenderSettings, notes: list[str]
) -> list[AudioSource]:
    """Pick the soundtrack's sources; fall back to the other recording if the asked one is silent."""
    recordings = {"speaker": speaker, "screen": screen}
    heard = _heard(recordings, settings.timeline.audio, notes)
    # Which track of several is heard (see probe.audio_stream): said, as it may be the wrong one.
    notes += [f"{info.path.name} has {info.sound_tracks} sound tracks: its sound is track {info.sound_track}"
              for info in dict.fromkeys(recordings[role] for role in heard) if info.sound_tracks > 1]
    stretch = 1 + settings.timeline.drift * 1e-6
    return [AudioSource(speaker.path, offset=settings.timeline.offset, stretch=stretch) if role == "speaker"
            else AudioSource(screen.path) for role in heard]


def _heard(recordings: dict[str, MediaInfo], wanted: str, notes: list[str]) -> list[str]:
    """Whose sound (``"speaker"``, ``"screen"``) the soundtrack is made of, for ``--audio``
    ``wanted``: the other recording's where the one asked for has none."""
    if wanted == "mix":
        return [role for role, info in recordings.items() if info.has_audio]
    primary = recordings[wanted]
    other_role = "screen" if wanted == "speaker" else "speaker"
    if primary.has_audio:
        return [wanted]
    if recordings[other_role].has_audio:
        notes.append(f"{primary.path.name} has no audio; using the sound of {recordings[other_role].path.name}")
        return [other_role]
    notes.append("neither recording has audio; the output has a silent soundtrack")
    return []


def shown_after_end(t: float, last_frame_time: float, fps: float) -> bool:
    """Whether the speaker's last frame is still shown at speaker time ``t``.

    After the recording ends its last frame is held for one frame plus 0.1 s (so a rounding
    difference in durations never blinks the speaker away early), then the speaker is hidden.
    """
    return t <= last_frame_time + 1.0 / fps + 0.1


class _Held:
    """Steps through a timestamped frame stream, holding the newest frame at or before a time."""

    def __init__(self, frames: Iterator[tuple[float, np.ndarray]]):
        self._frames = frames
        self._next: tuple[float, np.ndarray] | None = next(frames, None)
        self.current: np.ndarray | None = None
        self.current_time = -math.inf
        self.serial = 0
        """Increases whenever :attr:`current` changes (to reuse work done on a held frame)."""
        self.exhausted = self._next is None

    def at(self, t: float, tolerance: float) -> np.ndarray | None:
        """Advance to time ``t`` and return the frame shown then (None before the first)."""
        while self._next is not None and self._next[0] <= t + tolerance:
            self.current_time, self.current = self._next
            self.serial += 1
            self._next = next(self._frames, None)
        self.exhausted = self._next is None
        return self.current


def check_render_request(
    speaker: Path,
    screen: Path,
    output: Path,
    settings: RenderSettings,
    *,
    plate: str | Path | None = None,
    captions: str | Path | None = None,
    logo: str | Path | None = None,
    card_image: str | Path | None = None,
    cuts: Sequence[Cut] = (),
) -> None:
    """Raise what :func:`render` finds wrong before reading any file: the cuts and cards, and
    where the output, its captions and its poster go. The command line runs it before the
    sound sync, which reads both soundtracks, so a mistyped output folder is reported at once
    and alone."""
    check_cuts(cuts)
    for problem in card_problems(settings.cards).values():
        raise SettingsError(problem)
    # Every file read is a source the output must never overwrite, the plate included.
    background = settings.layout.background
    backdrop = Path(background) if not background.startswith("#") and background != "screen" else None
    inputs = (speaker, screen) + tuple(Path(p) for p in (plate, captions, logo, card_image, backdrop) if p is not None)
    check_output_path(output, inputs)
    wanted = ((captions is not None, companion_path(output, ".vtt"), "captions"),
              (settings.encode.poster, companion_path(output, ".jpg"), "poster"))
    for asked, path, what in wanted:
        if not asked:
            continue
        if path == output and not is_null_device(output):
            # -o talk.jpg with a poster: the poster would be written over the video.
            raise OutputError(
                f"the {what} would be written to {path.name}, the output itself; name the output .mp4",
                output,
            )
        check_output_path(path, inputs)
    # Checked after the more telling problems above (a folder, an input as the output).
    if not is_null_device(output) and output.suffix.lower() not in MP4_SUFFIXES:
        raise OutputError(
            f"the output is an MP4 video; name it .mp4 (got {output.suffix or 'no extension'!r})", output
        )


def _check_settings_type(settings: object, progress: object) -> None:
    """A :class:`TypeError` saying what to pass where a script passed a preset's name for the
    settings, or something else for the progress callback (they failed deep inside)."""
    if not isinstance(settings, RenderSettings):
        raise TypeError(f"settings must be a RenderSettings, got {type(settings).__name__} {settings!r:.60}; "
                        "a preset is greenscreen.presets.load_preset(name)")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a function of (done, total), got {type(progress).__name__}")


def _items(name: str, values: object, kind: type) -> tuple:
    """``values`` (any iterable, a generator too: read once) as a tuple of ``kind``, or a
    :class:`TypeError` saying what to pass where a script passed the command line's words
    (``"1-2"`` for a cut): they failed deep inside, with an AttributeError about the str."""
    parse = f"{kind.__name__}.parse" if hasattr(kind, "parse") else None
    if values is None or isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        hint = f"; use [{parse}({values!r})]" if parse and isinstance(values, str) else ""
        raise TypeError(f"{name} must be a list of {kind.__name__} objects, got {type(values).__name__} "
                        f"{values!r:.60}{hint}")
    items = tuple(values)
    wrong = next((v for v in items if not isinstance(v, kind)), None)
    if wrong is not None:
        hint = f" (from text: {parse}({wrong!r}))" if parse and isinstance(wrong, str) else ""
        raise TypeError(f"{name} must be {kind.__name__} objects, got {type(wrong).__name__} {wrong!r:.60}{hint}")
    return items


def render(
    speaker: str | Path,
    screen: str | Path,
    output: str | Path,
    settings: RenderSettings | None = None,
    *,
    plate: str | Path | None = None,
    captions: str | Path | None = None,
    caption_language: str | None = None,
    cuts: Sequence[Cut] = (),
    chapters: Sequence[Chapter] = (),
    redactions: Sequence[Redaction] = (),
    lower_thirds: Sequence[LowerThird] = (),
    logo: str | Path | None = None,
    card_image: str | Path | None = None,
    segments: Sequence[Segment] = (),
    progress: ProgressCallback | None = None,
) -> RenderResult:
    """Render a tutorial: ``screen`` full-frame with the keyed ``speaker`` on top, to ``output``.

    ``plate`` is an optional image or short video of the empty sheet that helps the keyer.
    ``captions`` (.srt or .vtt, timed like the speaker recording, or like the screen recording
    with ``audio = "screen"``) go into the MP4 as a subtitle track and beside it as
    ``OUTPUT.vtt``, moved by the offset and the trim. Raises
    :class:`~greenscreen.errors.GreenscreenError` subclasses for bad input; the output is written
    atomically, so a failure leaves any earlier file at ``output`` untouched. ``cuts`` take
    stretches out of both recordings (times on the screen recording's clock); picture, sound and
    captions stay in sync across them. ``chapters`` (on the same clock) are written into the MP4
    where their moments play; the title and outro cards get chapters of their own.
    ``redactions`` hide rectangles of the screen recording (its pixels, its clock);
    ``lower_thirds`` show a name and role for a while (same clock; one without times introduces
    the speaker when they first show in a window); ``logo`` is an image shown
    in a top corner throughout and above the cards' text; ``card_image`` is the cards' background.
    ``segments`` change the layout over time (same clock; outside every segment the settings'
    layout applies); a segment's title becomes a chapter.
    """
    settings = settings or RenderSettings()
    _check_settings_type(settings, progress)
    cuts, chapters = _items("cuts", cuts, Cut), _items("chapters", chapters, Chapter)
    redactions, lower_thirds = _items("redactions", redactions, Redaction), _items("lower_thirds", lower_thirds, LowerThird)
    segments = _items("segments", segments, Segment)
    speaker, screen, output = Path(speaker), Path(screen), Path(output)
    check_render_request(speaker, screen, output, settings, plate=plate, captions=captions, logo=logo,
                         card_image=card_image, cuts=cuts)
    return_large_buffers_to_os()
    caption_warnings: list[str] = []
    source_cues = read_captions(captions, caption_warnings) if captions is not None else []
    logo_image = read_image_with_alpha(Path(logo)) if logo is not None else None
    card_picture_image = read_image(Path(card_image)) if card_image is not None else None
    language = caption_language_tag(captions, caption_language) if captions is not None else "und"
    sidecar = companion_path(output, ".vtt")
    poster_path = companion_path(output, ".jpg")
    screen_info = probe(screen)
    speaker_info = probe(speaker)
    notes: list[str] = []
    timeline = plan_timeline(screen_info, speaker_info, settings, cuts)
    shortened: list[str] = []
    intro, outro = title_and_outro_cards(
        settings, timeline, screen_info.matrix, image=card_picture_image, logo=logo_image, shortened=shortened
    )
    intro_seconds = float(intro.frames / timeline.fps) if intro is not None else 0.0
    cues = output_cues(source_cues, timeline, settings, Path(captions) if captions else None, notes,
                       intro_seconds=intro_seconds)
    output_frames = timeline.frame_count + sum(c.frames for c in (intro, outro) if c is not None)
    offset = settings.timeline.offset
    warnings = caption_warnings + [
        w for w in (speaker_never_shown(timeline, speaker_info, offset) or speaker_after_screen(screen_info, offset),)
        if w
    ]
    clip_start, clip_end = timeline.trimmed_times
    warnings += [
        f"the cut {_clock(cut.start)}-{_clock(cut.end)} lies outside the clip "
        f"({_clock(clip_start)}-{_clock(clip_end)}); nothing was cut there"
        for cut in cuts if cut.end <= clip_start or cut.start >= clip_end
    ]
    warnings += [
        f"the segment {_clock(seg.start)}-{_clock(seg.end)} " + _where_not_shown(seg.start, seg.end, timeline)
        + "; it shows nothing"
        for seg in segments if not timeline.shows(seg.start, seg.end)
    ]
    warnings += too_large_to_play(timeline.size)
    for made, companion, what in ((captions is not None, sidecar, "captions"), (settings.encode.poster, poster_path, "poster")):
        # A web page loads OUTPUT.vtt and OUTPUT.jpg beside the video by name: an earlier
        # render's would go with this one. Not removed: it may be the user's own file.
        if not made and not is_null_device(output) and companion.is_file():
            warnings.append(f"{companion.name} beside the output is from before (this render makes no {what}); "
                            "a web page would show it with the new video: remove it if it does not belong")
    warnings += [
        clock_break_warning(info.path, at, closed)
        for info in ((speaker_info,) if same_file(speaker, screen) else (speaker_info, screen_info))
        for at, closed in info.breaks
    ]
    if same_file(speaker, screen):
        warnings.append(f"{speaker.name} is given as both the speaker and the screen recording: "
                        "the speaker is keyed over their own picture")
    # A speaker intro draws the title card into the plan (intro is None then), with its text.
    title_drawn = intro is not None or has_speaker_intro(settings.cards)
    warnings += undrawable_text_warning(
        settings, lower_thirds, cues if settings.captions.burn else [], title_drawn, outro is not None
    )
    crop = crop_of(settings)
    try:
        x0, y0, x1, y1 = crop.box(speaker_info.width, speaker_info.height)
    except ValueError as exc:
        raise SettingsError(str(exc), speaker) from None
    raise_segment_problems(segments, timeline)  # before any frame is read for a quiet corner
    segments = resolve_segment_corners(segments, settings, screen_info, (x1 - x0, y1 - y0), notes)
    settings = resolve_corner(settings, screen_info, (x1 - x0, y1 - y0), notes)
    # What every output frame shows, and in which layout: settled before anything is decoded.
    intro_shot = speaker_intro(settings, timeline, (x1 - x0, y1 - y0), image=card_picture_image, logo=logo_image,
                               shortened=shortened)
    warnings += [f"'{text[:40]}…' is too long for its card: shown cut short, ending in '…' (shorten it)"
                 for text in shortened]
    plan = make_plan(timeline, settings, (x1 - x0, y1 - y0), segments, intro_shot)
    # A lower third without times introduces the speaker where the plan first shows them.
    lower_thirds = timed_lower_thirds(lower_thirds, plan.speaker_introduced())
    warnings += lower_thirds_never_shown(lower_thirds, timeline.shows)
    chapters = [*chapters, *segment_chapters(segments)]
    compositor = Compositor(
        settings,
        output=timeline.size,
        speaker=(x1 - x0, y1 - y0),
        # The screen recording passes through unconverted, so the output takes its matrix.
        matrix=screen_info.matrix,
        redactions=redactions,
        screen_source=(screen_info.width, screen_info.height),
        lower_thirds=lower_thirds,
        logo=logo_image,
    )
    compositor.prepare(plan.shots)  # a background image is read now, before anything heavy
    audio_sources = choose_audio(screen_info, speaker_info, settings, notes)
    # The sound of the frames shown: trimmed and cut like the picture, and measured that way.
    ranges = timeline.sample_ranges(SAMPLE_RATE)
    sound = SoundPlan()

    def open_audio(stop: threading.Event) -> FilteredTrack:
        # Called on the audio thread: measuring the loudness (a pass over the whole soundtrack)
        # overlaps the first frames' decoding, keying and encoding instead of delaying them.
        # The pass ends as soon as the frame loop stops (``stop``), so an error or Ctrl-C is
        # reported at once rather than after the whole soundtrack has been read.
        nonlocal sound
        if audio_sources:
            sound = plan_sound(
                lambda: StopWhen(KeptSound(AudioTrack(audio_sources), ranges), stop),
                skip=0,
                samples=sum(end - first for first, end in ranges),
                settings=settings.sound,
            )
        return FilteredTrack(KeptSound(AudioTrack(audio_sources), ranges), sound.filters)
    burner = None
    if cues and settings.captions.burn:
        burner = caption_burners(cues, timeline.size, compositor.matrix, settings.captions.size)
    marks = _output_chapters(chapters, timeline, intro, outro, settings, warnings, speaker_intro=intro_shot is not None)
    clip_seconds = float(output_frames / timeline.fps)
    poster = PosterPicker(
        settings.encode.poster_at, clip_seconds, compositor.matrix,
        last_frame=float((output_frames - 1) / timeline.fps),
    ) if settings.encode.poster else None
    if poster is not None and settings.encode.poster_at >= clip_seconds:
        warnings.append(
            f"the poster's time {_clock(settings.encode.poster_at)} is past the clip's end "
            f"({_clock(clip_seconds)}); the poster shows its last frame"
        )
    # The keyer belongs to the speaker lane: its learnt state carries across layout changes.
    plate_image = load_plate(Path(plate), crop) if plate is not None else None
    if plate_image is not None and (warning := plate_warning(plate_image, Path(plate), settings.key.screen)):
        warnings.append(warning)
    keyer = Keyer(settings.key, plate=plate_image)
    (sw, sh), (kw, kh) = timeline.size, plan.largest_key_size
    stretch = 1 + settings.timeline.drift * 1e-6
    backdrop = BackdropWatch(settings.key.screen)
    with opencv_threads(1):
        screen_frames = Prefetch(
            backdrop.screen_frames(_screen_lane(
                # Each frame decoded at the size its layout shows it (the plan knows when).
                read_frames(screen, size=plan.screen_size_at, pixel_format="frame", letterbox=True), timeline
            )),
            maxsize=queue_depth(sw * sh * 3 // 2),
            name="screen",
        )
        speaker_frames = Prefetch(
            _speaker_lane(
                Prefetch(
                    backdrop.speaker_frames(read_frames(
                        speaker, size=lambda t: plan.speaker_size_at(t * stretch + offset), crop=crop)),
                    maxsize=queue_depth(kw * kh * 3),
                    name="speaker-decode",
                ),
                plan,
                offset,
                keyer,
                stretch=stretch,
            ),
            maxsize=queue_depth(kw * kh * 7),  # BGR foreground + float32 alpha
            name="speaker-key",
        )
        try:
            with atomic_path(output) as tmp:
                writer = VideoWriter(
                    tmp,
                    width=timeline.size[0],
                    height=timeline.size[1],
                    fps=timeline.fps,
                    settings=settings.encode,
                    title=settings.timeline.title or settings.cards.title,
                    matrix=compositor.matrix,
                    captions=cues,
                    caption_language=language,
                    chapters=marks,
                )
                try:
                    _run(plan, compositor, screen_frames, speaker_frames, open_audio, writer, progress,
                         poster, burner, intro, outro)
                    writer.close()
                except BaseException:
                    writer.abort()
                    raise
        finally:
            screen_frames.close()
            speaker_frames.close()
    notes.extend(sound.notes)
    swapped = backdrop.warning(speaker, screen)
    if swapped:
        warnings.append(swapped)
    poster_jpeg = poster.result() if poster is not None else None
    if poster_jpeg is not None:
        with atomic_path(poster_path) as tmp:
            tmp.write_bytes(poster_jpeg)
    if cues:
        # Browsers ignore MP4 text tracks; web players load this file through <track>.
        with atomic_path(sidecar) as tmp:
            tmp.write_text(webvtt(cues), encoding="utf-8")
    return RenderResult(
        output=output,
        frames=output_frames,
        fps=timeline.fps,
        size=timeline.size,
        duration=float(output_frames / timeline.fps),
        notes=notes,
        loudness_before=sound.before,
        loudness_after=sound.after,
        warnings=warnings,
    )


def caption_burners(
    cues: Sequence[Cue], size: tuple[int, int], matrix: Matrix, font_size: float
) -> Callable[[Shot], CaptionBurner]:
    """The caption burner for each shot: captions go beside its speaker's window (one burner per
    window, each holding only the cue on screen)."""
    from greenscreen.composite.captions import CaptionBurner  # Pillow: only when drawing text

    made: dict[tuple[int, int, int, int] | None, CaptionBurner] = {}

    def burner_for(shot: Shot) -> CaptionBurner:
        p = shot.placement
        avoid = None if p is None else (p.x, p.y, p.width, p.height)
        if avoid not in made:
            made[avoid] = CaptionBurner(cues, size, avoid=avoid, matrix=matrix, size=font_size)
        return made[avoid]

    return burner_for


def title_and_outro_cards(
    settings: RenderSettings,
    timeline: Timeline,
    matrix: Matrix,
    *,
    image: np.ndarray | None = None,
    logo: tuple[np.ndarray, np.ndarray] | None = None,
    shortened: list[str] | None = None,
) -> tuple[CardFrames | None, CardFrames | None]:
    """The title and outro cards the settings ask for (None where there is no text), on the
    background ``image`` if given and with the ``logo`` above their text. Texts cut short to
    fit go into ``shortened`` (see :func:`~greenscreen.title_cards.card_picture`)."""
    cards = settings.cards
    frames = max(round(cards.seconds * timeline.fps), 1)
    fade = round(cards.fade * timeline.fps)
    made = []
    # With a speaker intro the title card is part of the plan (see speaker_intro), not before it.
    title = "" if has_speaker_intro(cards) else cards.title
    for text, subtitle in ((title, cards.subtitle), (cards.outro, "")):
        if not text.strip():
            made.append(None)
            continue
        picture = card_picture(timeline.size, text.strip(), subtitle.strip(), cards, image=image, logo=logo,
                               shortened=shortened)
        made.append(CardFrames(picture, frames, fade, matrix))
    return made[0], made[1]


INTRO_STAND = {"layout": "pip", "corner": "bottom-right", "size": 0.75, "window": "none", "flush": True}
"""Where the speaker stands on a speaker intro's title card: large, on the bottom edge at the
right, the title beside them on the left."""


def speaker_intro(
    settings: RenderSettings,
    timeline: Timeline,
    speaker: tuple[int, int],
    *,
    image: np.ndarray | None = None,
    logo: tuple[np.ndarray, np.ndarray] | None = None,
    shortened: list[str] | None = None,
) -> tuple[Shot, int, int] | None:
    """The speaker intro ``[cards] speaker = true`` asks for (None without it or a title), for
    :func:`~greenscreen.plan.make_plan`: the shot of the speaker standing keyed on the title card
    (its text on the left), the frames it covers (the recordings' first ``cards.seconds``) and
    the frames of the crossfade into the tutorial (``cards.fade``)."""
    cards = settings.cards
    if not has_speaker_intro(cards):
        return None
    picture = card_picture(timeline.size, cards.title.strip(), cards.subtitle.strip(), cards,
                           image=image, logo=logo, text_area=(0.03, 0.58), shortened=shortened)
    stand = make_shot(dataclasses.replace(settings.layout, **INTRO_STAND), timeline.size, speaker)
    shot = dataclasses.replace(stand, layout="card", screen_box=None, picture=picture)
    frames = min(max(round(cards.seconds * timeline.fps), 1), timeline.frame_count)
    return shot, frames, round(cards.fade * timeline.fps)


def resolve_corner(
    settings: RenderSettings, screen: MediaInfo, speaker: tuple[int, int], notes: list[str] | None = None
) -> RenderSettings:
    """``settings`` with ``corner = "auto"`` replaced by the screen recording's quietest corner."""
    layout = settings.layout
    if layout.corner != AUTO:
        return settings
    corner = quiet_corner(screen, layout, speaker) if layout.layout in ("pip", "circle") else "bottom-right"
    if notes is not None and layout.layout in ("pip", "circle"):
        notes.append(f"the speaker goes {corner}, the quietest corner of {screen.path.name}")
    return dataclasses.replace(settings, layout=dataclasses.replace(layout, corner=corner))


def resolve_segment_corners(
    segments: Sequence[Segment], settings: RenderSettings, screen: MediaInfo, speaker: tuple[int, int],
    notes: list[str] | None = None,
) -> list[Segment]:
    """``segments`` with ``corner = "auto"`` (their own, or the settings' they inherit) replaced
    by the corner of the screen recording that is quietest during each segment."""
    resolved = []
    for s in segments:
        if s.layout in ("pip", "circle") and (s.corner or settings.layout.corner) == AUTO:
            layout = dataclasses.replace(
                settings.layout, layout=s.layout, size=s.size or settings.layout.size,
                window=s.window or settings.layout.window,
            )
            corner = quiet_corner(screen, layout, speaker, span=(s.start, s.end))
            if notes is not None:
                notes.append(f"the speaker goes {corner} in {_clock(s.start)}-{_clock(s.end)}, "
                             f"the quietest corner of {screen.path.name} then")
            s = dataclasses.replace(s, corner=corner)
        resolved.append(s)
    return resolved


OPENING_CHAPTER = "Start"
"""The chapter before the first one given, when that starts after 0:00 and the file has no title."""


def _where_not_shown(start: float, end: float, timeline: Timeline) -> str:
    """Why source time ``start``-``end`` never plays: outside the trimmed clip, or cut out."""
    first, last = timeline.trimmed_times
    if end <= first or start >= last:
        return f"lies outside the clip ({_clock(first)}-{_clock(last)})"
    return "lies inside what the cuts take out"


def _output_chapters(
    chapters: Sequence[Chapter],
    timeline: Timeline,
    intro: CardFrames | None,
    outro: CardFrames | None,
    settings: RenderSettings,
    warnings: list[str],
    *,
    speaker_intro: bool = False,
) -> list[tuple[float, float, str]]:
    """``(start, end, title)`` in output seconds of every chapter, cards included (a speaker
    intro's title card too)."""
    if not chapters:
        return []
    fps = timeline.fps
    intro_seconds = float(intro.frames / fps) if intro is not None else 0.0
    main_end = intro_seconds + float(timeline.frame_count / fps)
    total = main_end + (float(outro.frames / fps) if outro is not None else 0.0)
    starts: dict[float, str] = {}
    together: dict[float, list[str]] = {}
    if intro is not None or speaker_intro:
        starts[0.0] = settings.cards.title.strip().split("\n")[0]
    for chapter in sorted(chapters, key=lambda c: c.start):
        at = timeline.output_time(chapter.start)
        if at is None:
            warnings.append(f"the chapter '{chapter.title}' at {_clock(chapter.start)} lies outside the clip; left out")
            continue
        moment = round(intro_seconds + at, 3)
        if moment in starts:
            together.setdefault(moment, [starts[moment]]).append(chapter.title)
        starts[moment] = chapter.title
    # Chapters at one moment (at a cut's join, on a segment's start): a player shows one of
    # them. The last is kept, and the others named, in one line per moment.
    for moment, titles in together.items():
        others = ", ".join(f"'{t}'" for t in titles[:-1])
        warnings.append(f"the chapters {others} and '{titles[-1]}' start at the same moment "
                        f"({_clock(moment)} in the output); only '{titles[-1]}' is kept")
    if outro is not None:
        starts[round(main_end, 3)] = settings.cards.outro.strip().split("\n")[0]
    if starts and min(starts) > 0:
        # An MP4 chapter list has no gaps: players would stretch the first chapter back to 0:00.
        starts[0.0] = settings.timeline.title.strip() or OPENING_CHAPTER
    times = sorted(starts)
    return [(t, times[i + 1] if i + 1 < len(times) else total, starts[t]) for i, t in enumerate(times)]


def output_cues(
    cues: list[Cue], timeline: Timeline, settings: RenderSettings, path: Path | None, notes: list[str],
    *, intro_seconds: float = 0.0,
) -> list[Cue]:
    """``cues`` (timed like the recording whose voice they transcribe) on the output's timeline,
    which starts ``intro_seconds`` before the recordings (the title card)."""
    if not cues or path is None:
        return []
    shift = 0.0 if settings.timeline.audio == "screen" else settings.timeline.offset
    stretch = 1.0 if settings.timeline.audio == "screen" else 1 + settings.timeline.drift * 1e-6
    start = timeline.time(timeline.first_frame)
    duration = float(timeline.frame_count / timeline.fps)
    moved = [Cue(c.start * stretch + shift, c.end * stretch + shift, c.text) for c in cues]
    # Each run of kept frames takes the parts of the cues over it, moved to where it plays; the
    # two parts of a cue a cut goes through meet again on the output, as one cue.
    runs = [(timeline.time(first), timeline.time(end)) for first, end in timeline.kept]
    kept: list[Cue] = []
    changed = 0
    for cue in moved:
        played, parts = 0.0, []
        for a, b in runs:
            lo, hi = max(cue.start, a), min(cue.end, b)
            if hi - lo >= 0.001:
                if parts and abs(parts[-1].end - (lo - a + played)) < 1e-6:
                    parts[-1] = Cue(parts[-1].start, hi - a + played, cue.text)
                else:
                    parts.append(Cue(lo - a + played, hi - a + played, cue.text))
            played += b - a
        changed += sum(p.end - p.start for p in parts) < cue.end - cue.start - 1e-3
        kept += parts
    kept.sort(key=lambda c: c.start)
    if not kept:
        raise MediaError(
            f"no caption falls inside the rendered clip (the captions run {min(c.start for c in cues):.1f}-"
            f"{max(c.end for c in cues):.1f} s; the clip shows {start - shift:.1f}-{start + duration - shift:.1f} s "
            "of that recording)",
            path,
        )
    if changed:
        trimmed = settings.timeline.start > 0 or settings.timeline.end > 0 or len(timeline.kept) > 1
        why = "the trim or the cuts" if trimmed else "the clip's end (they run past the recordings)"
        notes.append(f"{changed} caption(s) of {path.name} are shortened or left out by {why}")
    return [Cue(c.start + intro_seconds, c.end + intro_seconds, c.text) for c in kept]


def _screen_lane(
    frames: Iterator[tuple[float, av.VideoFrame]], timeline: Timeline
) -> Iterator[av.VideoFrame | None]:
    """The screen frame shown at each output frame (None before the first); runs on its thread.

    A held frame is yielded again as the same frame: consumers must not modify it.
    """
    half_frame = 0.5 / float(timeline.fps)
    screen = _Held(frames)
    try:
        for index in timeline.source_frames():
            yield screen.at(timeline.time(index), half_frame)
    finally:
        close_source(frames)


def _speaker_lane(
    frames: Iterator[tuple[float, np.ndarray]],
    plan: Plan,
    offset: float,
    keyer: Keyer,
    *,
    stretch: float = 1.0,
) -> Iterator[KeyResult | None]:
    """The keyed speaker shown at each output frame, or None while hidden; runs on its thread.

    Only frames that are shown are keyed, each once: a held frame reuses its key, and frames a
    faster webcam skips cost nothing, nor do frames of a layout without the speaker. Each is
    keyed at the size its layout shows it (the larger of two in a transition); when that size
    changes the keyer is told, so what it learnt carries over. The keyer sees its frames in
    display order. ``stretch`` is the speaker's clock drift correction: output time ``t`` shows
    speaker time ``(t - offset) / stretch``.
    """
    half_frame = 0.5 / float(plan.timeline.fps)
    speaker = _Held(frames)
    keyed: KeyResult | None = None
    keyed_as: tuple[int, tuple[int, int]] | None = None
    try:
        for planned in plan.frames():
            t = (planned.time - offset) / stretch
            frame = speaker.at(t, half_frame)
            size = planned.key_size
            # After the speaker's last frame, hold it briefly, then hide the speaker.
            visible = size is not None and frame is not None and (
                not speaker.exhausted or shown_after_end(t, speaker.current_time, float(plan.timeline.fps))
            )
            if visible and keyed_as != (speaker.serial, size):
                if (frame.shape[1], frame.shape[0]) != size:
                    # Decoded for the layout before (a frame held across a change): scale it.
                    frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
                keyer.resize(size)
                keyed = keyer.key(frame)
                keyed_as = (speaker.serial, size)
            yield keyed if visible else None
    finally:
        close_source(frames)


def _run(
    plan: Plan,
    compositor: Compositor,
    screen_frames: Iterator[av.VideoFrame | None],
    speaker_frames: Iterator[KeyResult | None],
    open_audio: Callable[[threading.Event], FilteredTrack],
    writer: VideoWriter,
    progress: ProgressCallback | None,
    poster: PosterPicker | None = None,
    burner: Callable[[Shot], CaptionBurner] | None = None,
    intro: CardFrames | None = None,
    outro: CardFrames | None = None,
) -> None:
    """The frame loop: the title card, then one item from each lane per output frame ->
    composite -> encode, then the outro card. Cards are silent. ``open_audio(stop)`` gives the
    soundtrack; it is called on the audio thread, and ``stop`` is set when the loop ends."""
    timeline = plan.timeline
    intro_frames = intro.frames if intro is not None else 0
    outro_frames = outro.frames if outro is not None else 0
    total = intro_frames + plan.frame_count + outro_frames
    done = 0
    # One output frame, filled and encoded again and again: no frame-sized allocation per
    # frame (large ones are mapped and faulted in afresh, see return_large_buffers_to_os).
    canvas = new_frame(*timeline.size)
    out = frame_planes(canvas)
    # The sound is decoded, filtered and AAC-encoded on its own thread (as ffmpeg does): on
    # the frame loop's thread it took a fifth of the loop's time. Its packets are tiny.
    stop = threading.Event()
    sound = Prefetch(
        _audio_lane(writer, lambda: open_audio(stop), timeline.fps, (intro_frames, plan.frame_count, outro_frames)),
        maxsize=AUDIO_QUEUE_FRAMES,
        name="audio",
        stop=stop,
    )
    # The video may run ahead of the sound by this many frames (while the loudness is measured
    # at the start); the muxer holds the video packets meanwhile and still interleaves the
    # file exactly, as long as this stays well under its 10 s max_interleave_delta.
    most_behind = max(1, round(AUDIO_LAG_SECONDS * timeline.fps))
    behind = 0

    def finish_frame() -> None:
        nonlocal done, behind
        writer.write_frame(canvas)
        done += 1
        behind += 1
        while behind and (behind > most_behind or sound.ready()):
            writer.mux_audio(next(sound))
            behind -= 1
        if progress is not None:
            progress(done, total)

    try:
        if intro is not None:
            for i in range(intro.frames):
                intro.draw(i, out)
                if poster is not None and i == intro.full_frame:
                    poster.take(out)  # the title card is the best poster there is
                finish_frame()
        for planned, screen, keyed in zip(plan.frames(), screen_frames, speaker_frames, strict=True):
            t = float(done / timeline.fps)
            compositor.compose_i420(None if screen is None else frame_planes(screen), keyed, out, planned.time, planned)
            if burner is not None:
                burner(planned.shot).draw(t, out)
            if poster is not None and not poster.done:
                poster.offer(t, keyed is not None, out)
            finish_frame()
        if outro is not None:
            for i in range(outro.frames):
                outro.draw(i, out)
                finish_frame()
        for _ in range(behind):
            writer.mux_audio(next(sound))
        # Every block was taken, so the audio thread has encoded its last one: the writer
        # may flush the encoder.
        next(sound, None)
    finally:
        sound.close()


AUDIO_QUEUE_FRAMES = 30
"""Output frames of encoded sound the audio thread may run ahead (a second: a few kB)."""

AUDIO_LAG_SECONDS = 3.0
"""How far the video may run ahead of the sound (a few MB of packets held by the muxer)."""


def _audio_lane(
    writer: VideoWriter, open_audio: Callable[[], FilteredTrack], fps: Fraction, frames: tuple[int, int, int]
) -> Iterator[list[av.Packet]]:
    """The soundtrack's AAC packets for each output frame, in order; runs on its own thread.

    ``frames`` counts the output frames of the title card, the recordings and the outro card;
    the cards are silent. Each output frame brings the sound level with the video (one frame's
    worth at a time, so the muxer interleaves the two closely; the encoder cuts it into AAC
    frames itself).
    """
    intro, main, _ = frames
    written = 0
    audio = open_audio()
    try:
        for done in range(1, sum(frames) + 1):
            target = round(done / fps * SAMPLE_RATE)
            if target <= written:
                yield []
                continue
            n = target - written
            samples = audio.read(n) if intro < done <= intro + main else _silence(n)
            written = target
            yield writer.encode_audio(samples)
    finally:
        audio.close()


def _silence(samples: int) -> np.ndarray:
    return np.zeros((2, samples), np.float32)
