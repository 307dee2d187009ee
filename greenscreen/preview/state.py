"""Everything the preview window does that needs no display: settings, frame position, view
modes, slider mapping, key handling, colour picking, saving.

:mod:`greenscreen.preview.window` only forwards OpenCV's trackbar, mouse and key events here and
shows :meth:`PreviewState.display`. Every view is built from the same
:class:`~greenscreen.compositor.Compositor` that render uses, fed the same frames on the same
timeline, cards included: the key is bit-identical to render's, and the composite view is the
I420 frame render encodes, converted to BGR once for display.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from greenscreen.composite.lower_third import timed as timed_lower_thirds
from greenscreen.compositor import Compositor, crop_of
from greenscreen.config import RenderSettings
from greenscreen.errors import GreenscreenError
from greenscreen.frames import bgr_to_hex
from greenscreen.io.colour import Matrix, bgr_to_i420, i420_to_bgr
from greenscreen.io.yuv import Planes, i420_planes
from greenscreen.key import KeyResult
from greenscreen.pipeline import caption_burners, speaker_intro
from greenscreen.plan import Plan, PlannedFrame, Shot, make_plan
from greenscreen.presets import preset_name, save_preset
from greenscreen.preview.sliders import Slider, preview_sliders
from greenscreen.preview.source import Source

if TYPE_CHECKING:
    from greenscreen.composite.captions import CaptionBurner

VIEWS = ("composite", "matte", "checker", "compare")
"""View modes, in the order of keys 1-4: the render's frame; the alpha matte as grey; the keyed
speaker over a checkerboard; the original webcam frame beside the composite."""

LETTERBOX_BGR = (70, 40, 40)
"""Bars around a fitted picture: a dull blue, so it cannot be mistaken for any alpha grey."""

CHECKER = (96, 160)
"""The two greys of the checkerboard (neutral, so a green fringe stands out)."""

KEYS_LEFT = {65361, 0x250000, 63234}  # GTK/Qt on X11, Windows, macOS
KEYS_RIGHT = {65363, 0x270000, 63235}
KEYS_UP = {65362, 0x260000, 63232}
KEYS_DOWN = {65364, 0x280000, 63233}

HELP = (
    "space  play / pause",
    "left / right  previous / next frame",
    "up / down  10 frames forward / back",
    "v  next view   1 composite  2 matte  3 checkerboard  4 compare",
    "click  pick the sheet colour there as key colour",
    "a  key colour back to auto",
    "s  save the settings as a preset",
    "h  this help        q / Esc  quit",
    "(the frame slider is in the settings window)",
)


@functools.lru_cache(maxsize=4)
def checkerboard(size: tuple[int, int], cell: int = 16) -> np.ndarray:
    """A neutral grey checkerboard, BGR uint8 of ``size`` = ``(w, h)`` (cached: read-only)."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    board = np.where(((yy // cell) + (xx // cell)) % 2 == 0, CHECKER[0], CHECKER[1]).astype(np.uint8)
    out = np.repeat(board[:, :, None], 3, axis=2)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=4)
def checkerboard_i420(size: tuple[int, int], matrix: Matrix) -> Planes:
    """:func:`checkerboard` as I420 planes (the screen of a preview without a screen recording)."""
    return i420_planes(bgr_to_i420(checkerboard(size), matrix))


@dataclass(frozen=True)
class Region:
    """A rectangle of the view that shows (part of) the original speaker frame.

    View pixel ``(x, y)`` inside the rectangle shows speaker pixel
    ``((x - vx) / scale + sx, (y - vy) / scale + sy)``.
    """

    vx: int
    vy: int
    vw: int
    vh: int
    scale: float
    sx: int = 0
    sy: int = 0

    def to_speaker(self, x: int, y: int) -> tuple[int, int] | None:
        if not (self.vx <= x < self.vx + self.vw and self.vy <= y < self.vy + self.vh):
            return None
        return int((x - self.vx) / self.scale) + self.sx, int((y - self.vy) / self.scale) + self.sy


def fit(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, Region]:
    """Scale ``image`` to fit ``size`` keeping its aspect, centred on letterbox bars."""
    w, h = size
    ih, iw = image.shape[:2]
    scale = min(w / iw, h / ih)
    fw, fh = max(1, round(iw * scale)), max(1, round(ih * scale))
    inter = cv2.INTER_NEAREST if scale > 1 else cv2.INTER_AREA  # show matte pixels as they are
    scaled = cv2.resize(image, (fw, fh), interpolation=inter)
    canvas = np.empty((h, w, 3), np.uint8)
    canvas[:] = LETTERBOX_BGR
    x0, y0 = (w - fw) // 2, (h - fh) // 2
    canvas[y0 : y0 + fh, x0 : x0 + fw] = scaled if scaled.ndim == 3 else scaled[:, :, None]
    return canvas, Region(x0, y0, fw, fh, scale)


class PreviewState:
    """The preview's state and behaviour, free of any window.

    Parameters
    ----------
    source : the recordings (see :class:`~greenscreen.preview.source.Source`).
    settings : starting settings (defaults, a preset, command-line options).
    save_name : name used by ``s`` when no prompt is given.
    ask_name : called with the suggested name to ask the user for one (e.g. on a terminal);
        None saves under ``save_name`` without asking, which is what non-interactive use needs.
    preset_folder : where ``s`` saves (the user preset folder if None).
    description : description written into saved presets.
    """

    def __init__(
        self,
        source: Source,
        settings: RenderSettings | None = None,
        *,
        save_name: str = "preview",
        ask_name: Callable[[str], str] | None = None,
        preset_folder: Path | None = None,
        description: str = "",
    ):
        self.source = source
        self.settings = settings or RenderSettings()
        self.sliders: list[Slider] = preview_sliders(self.settings)
        self.index = 0
        self.playing = False
        self.view = VIEWS[0]
        self.show_help = False
        self.quit = False
        self.message = "h: help"
        self.save_name = save_name
        self.ask_name = ask_name
        self.preset_folder = preset_folder
        self.description = description
        self.saved: list[Path] = []
        #: Problems for the terminal (a preset that could not go where it belongs), in order.
        self.problems: list[str] = []
        self.fps_measured = 0.0
        """Frames shown per second, measured by the window loop (shown in the status line)."""
        self._compositor: Compositor | None = None
        self._plan: Plan | None = None
        self._burners: Callable[[Shot], CaptionBurner] | None = None
        """Burned-in captions beside each layout's speaker, as render draws them (made with the
        compositor)."""
        self._keyed: tuple[int, KeyResult | None, np.ndarray | None] | None = None
        self._last_keyed_index: int | None = None
        self._last_key: tuple[tuple[int, tuple[int, int]], KeyResult] | None = None
        """((speaker frame index, size), its key): a held webcam frame is keyed once per size,
        as in a render."""
        self._regions: list[Region] = []
        self._regions_for: tuple | None = None
        self._last_tick = 0.0

    # --- settings and sliders ---------------------------------------------------------------

    def slider(self, label: str) -> Slider:
        """The slider captioned ``label``."""
        for s in self.sliders:
            if s.label == label:
                return s
        raise KeyError(label)

    def slider_position(self, label: str) -> int:
        """Where slider ``label`` stands for the current settings."""
        s = self.slider(label)
        return s.to_position(getattr(getattr(self.settings, s.group), s.name))

    def set_slider(self, label: str, position: int) -> bool:
        """Apply trackbar ``position`` of slider ``label``; return whether a setting changed.

        A position equal to where the current value already stands changes nothing, so a value
        from a preset that lies between two slider steps is kept exactly until the user moves
        that slider (OpenCV calls the callback when a trackbar is created or set).
        """
        s = self.slider(label)
        if position == self.slider_position(label):
            return False
        self.update(s.group, **{s.name: s.to_value(position)})
        return True

    def update(self, group: str, **values: object) -> None:
        """Change settings of ``group``; the next frame is keyed afresh with them."""
        current = getattr(self.settings, group)
        self.settings = dataclasses.replace(
            self.settings, **{group: dataclasses.replace(current, **values)}
        )
        self._compositor = None
        self._keyed = None

    # --- frame position ---------------------------------------------------------------------

    @property
    def frame_count(self) -> int:
        return self.source.frame_count

    def seek(self, index: int) -> None:
        """Show output frame ``index`` (clamped to the recording)."""
        self.index = min(max(int(index), 0), self.frame_count - 1)

    def step(self, frames: int) -> None:
        """Pause and move by ``frames``."""
        self.playing = False
        self.seek(self.index + frames)

    def tick(self, now: float | None = None) -> None:
        """Advance one frame while playing, at most at the recording's frame rate."""
        if not self.playing:
            return
        now = time.monotonic() if now is None else now
        if now - self._last_tick < 1.0 / max(self.source.fps, 1.0) * 0.999:
            return
        self._last_tick = now
        if self.index >= self.frame_count - 1:
            self.playing = False
            return
        self.index += 1

    # --- keys and mouse ---------------------------------------------------------------------

    def handle_key(self, code: int) -> None:
        """React to a key code as returned by ``cv2.waitKeyEx`` (-1 = no key)."""
        if code < 0:
            return
        char = chr(code) if code < 256 else ""  # larger codes are arrows and other special keys
        if code in KEYS_LEFT:
            self.step(-1)
        elif code in KEYS_RIGHT:
            self.step(1)
        elif code in KEYS_UP:
            self.step(10)
        elif code in KEYS_DOWN:
            self.step(-10)
        elif char == " ":
            self.playing = not self.playing
            if self.playing and self.index >= self.frame_count - 1:
                self.index = 0
        elif char and char in "1234":
            self.view = VIEWS[int(char) - 1]
        elif char == "v":
            self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
        elif char == "h":
            self.show_help = not self.show_help
        elif char == "a":
            self.update("key", key_color="auto")
            self.message = "key colour: auto"
        elif char == "s":
            self.message = self._save_keeping_the_session()
        elif char in ("q", "Q", "\x1b"):
            self.quit = True

    def click(self, x: int, y: int) -> str | None:
        """Pick the key colour at view pixel ``(x, y)``; return it, or None off the speaker.

        The colour is the median of a 5x5 patch of the *original* webcam frame (as cropped and
        scaled for keying), so the pick is the sheet's colour and not the keyed result.
        """
        if self._regions_for != (self.settings, self.view, self.index):
            self.render()  # the regions must describe the picture the user clicked on
        speaker = self._speaker_frame()
        if speaker is None:
            return None
        for region in self._regions:
            at = region.to_speaker(x, y)
            if at is None:
                continue
            sx, sy = at
            h, w = speaker.shape[:2]
            patch = speaker[max(sy - 2, 0) : min(sy + 3, h), max(sx - 2, 0) : min(sx + 3, w)]
            colour = bgr_to_hex(np.median(patch.reshape(-1, 3), axis=0))
            self.update("key", key_color=colour)
            self.message = f"key colour {colour}"
            return colour
        self.message = "click on the speaker's sheet to pick the key colour"
        return None

    # --- saving -----------------------------------------------------------------------------

    def save(self) -> Path:
        """Save the current settings as a user preset; return its path."""
        return self._save(self._name_to_save())

    def _name_to_save(self) -> str:
        name = self.save_name
        if self.ask_name is not None:
            name = self.ask_name(name).strip() or name
        return name

    def _save(self, name: str, folder: Path | None = None) -> Path:
        path = save_preset(self.settings, name, description=self.description, folder=folder or self.preset_folder)
        self.saved.append(path)
        return path

    def _save_keeping_the_session(self) -> str:
        """:meth:`save`, and where the preset folder cannot be written (a read-only or full
        profile) the preset goes into the current folder instead: the tuning is what the user
        pressed ``s`` to keep, and the window stays open either way. Returns the status line;
        a failure is also added to :attr:`problems`."""
        name = self._name_to_save()
        try:
            return f"saved {self._save(name)}"
        except (GreenscreenError, OSError) as exc:
            problem = str(exc) if isinstance(exc, GreenscreenError) else f"{exc.strerror}: {exc.filename}"
        try:
            # Under a free name: the current folder holds the user's own files (an edit file
            # called tutorial.toml), which a preset must not replace.
            path = self._save(_free_name(Path.cwd(), name), Path.cwd())
        except (GreenscreenError, OSError):
            self.problems.append(f"the preset could not be saved: {problem}")
            return "could not save the preset (see the terminal); the window stays open"
        self.problems.append(f"the preset folder could not be written ({problem}); saved {path} instead")
        return f"saved {path} (the preset folder could not be written)"

    # --- rendering --------------------------------------------------------------------------

    @property
    def compositor(self) -> Compositor:
        """The render's per-frame compositor for the current settings (rebuilt on change)."""
        if self._compositor is None:
            timeline = getattr(self.source, "timeline", None)
            # The layouts over time depend on the settings (the sliders): planned with them.
            if timeline is not None:
                intro = speaker_intro(self.settings, timeline, self.source.speaker_size,
                                      image=getattr(self.source, "card_image", None),
                                      logo=getattr(self.source, "logo", None))
                segments = getattr(self.source, "segments", ())
                self._plan = make_plan(timeline, self.settings, self.source.speaker_size, segments, intro)
            else:
                self._plan = None
            lower_thirds = getattr(self.source, "lower_thirds", ())
            if self._plan is not None:
                lower_thirds = timed_lower_thirds(lower_thirds, self._plan.speaker_introduced())
            self._compositor = Compositor(
                self.settings,
                output=self.source.output_size,
                speaker=self.source.speaker_size,
                plate=self.source.plate,
                # (sources made of arrays in tests have no redactions)
                redactions=getattr(self.source, "redactions", ()),
                screen_source=getattr(self.source, "screen_source", None),
                lower_thirds=lower_thirds,
                logo=getattr(self.source, "logo", None),
                matrix=self.source.matrix,
            )
            self._last_keyed_index = None
            self._last_key = None
            cues = getattr(self.source, "cues", ())
            self._burners = caption_burners(
                cues, self.source.output_size, self._compositor.matrix, self.settings.captions.size
            ) if cues and self.settings.captions.burn else None
        return self._compositor

    def planned(self) -> PlannedFrame | None:
        """What render's plan says of the current frame (its layout and transition); None on a
        card or without a screen recording (the settings' layout is shown)."""
        self.compositor  # noqa: B018 (makes the plan for the current settings)
        clip = self.source.clip_index(self.index) if self._plan is not None else None
        return None if clip is None else self._plan.frame(clip)  # type: ignore[union-attr]

    def _shot(self) -> Shot:
        planned = self.planned()
        return planned.shot if planned is not None else self.compositor.default

    def _speaker_frame(self) -> np.ndarray | None:
        """The webcam frame shown, cropped and scaled to the size its layout keys it at (None
        when it is hidden or the layout shows no speaker)."""
        planned = self.planned()
        size = self.compositor.speaker_size if planned is None else planned.key_size
        if size is None:
            return None
        return self.source.speaker(self.index, size, crop_of(self.settings))

    def _keyed_frame(self) -> tuple[KeyResult | None, np.ndarray | None]:
        """Key the current speaker frame once per (frame, settings), at its layout's size, with
        one keyer whose learnt state follows size changes, as in a render."""
        if self._keyed is not None and self._keyed[0] == self.index:
            return self._keyed[1], self._keyed[2]
        comp = self.compositor
        speaker = self._speaker_frame()
        if self._last_keyed_index is not None and self.index != self._last_keyed_index + 1:
            # Temporal state only carries across consecutive frames, as in a render.
            comp.keyer.reset()
            self._last_key = None
        source_index = self.source.speaker_index(self.index)
        if speaker is None or source_index is None:
            keyed = None
        else:
            size = (speaker.shape[1], speaker.shape[0])
            if self._last_key is not None and self._last_key[0] == (source_index, size):
                keyed = self._last_key[1]
            else:
                comp.keyer.resize(size)
                keyed = comp.key(speaker)
                self._last_key = ((source_index, size), keyed)
        self._last_keyed_index = self.index
        self._keyed = (self.index, keyed, speaker)
        return keyed, speaker

    def composite(self) -> np.ndarray:
        """The frame render writes at the current position, as a new BGR array: render's I420
        frame (a card's, or the composite's) converted once for display."""
        comp = self.compositor
        w, h = self.source.output_size
        i420 = np.empty((h * 3 // 2, w), np.uint8)
        planes = i420_planes(i420)
        card = self.source.card(self.index)
        if card is not None:
            card[0].draw(card[1], planes)
        else:
            keyed, _ = self._keyed_frame()
            planned = self.planned()
            screen_size = (planned.screen_size if planned is not None else None) or comp.screen_size
            screen = self.source.screen(self.index, screen_size)
            if screen is None and not self.source.has_screen:
                screen = checkerboard_i420(screen_size, comp.matrix)
            time = getattr(self.source, "screen_time", None)
            comp.compose_i420(screen, keyed, planes, time(self.index) if time is not None else None, planned)
            if self._burners is not None:
                self._burners(self._shot()).draw(self.index / self.source.fps, planes)
        return i420_to_bgr(i420, comp.matrix)

    def render(self) -> np.ndarray:
        """The current view, BGR uint8 at the output size, without overlays."""
        size = self.source.output_size
        self._regions_for = (self.settings, self.view, self.index)
        if self.view == "composite":
            frame = self.composite()
            p = self._shot().placement
            keyed, speaker = self._keyed_frame()
            # On a card, or in a layout without the speaker, there is no sheet to pick from.
            if speaker is None or p is None:
                self._regions = []
                return frame
            left = (speaker.shape[1] - p.width) // 2 if speaker.shape[1] > p.width else 0
            self._regions = [Region(p.x, p.y, p.width, p.height, 1.0, sx=left)]
            return frame
        keyed, speaker = self._keyed_frame()
        if keyed is None or speaker is None:
            self._regions = []
            blank = np.empty((size[1], size[0], 3), np.uint8)
            blank[:] = LETTERBOX_BGR
            return blank
        if self.view == "matte":
            grey = np.clip(keyed.alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)
            view, region = fit(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), size)
            self._regions = [region]
            return view
        if self.view == "checker":
            a = keyed.alpha[:, :, None]
            board = checkerboard(keyed.foreground.shape[1::-1]).astype(np.float32)
            over = keyed.foreground.astype(np.float32) * a + board * (1.0 - a)
            view, region = fit(np.clip(over + 0.5, 0, 255).astype(np.uint8), size)
            self._regions = [region]
            return view
        # compare: original webcam frame on the left, the composite on the right
        half = (size[0] // 2, size[1])
        left, region = fit(speaker, half)
        right, _ = fit(self.composite(), (size[0] - half[0], size[1]))
        self._regions = [region]
        return np.hstack([left, right])

    def display(self) -> np.ndarray:
        """The current view with the status line and, if asked for, the help drawn on it."""
        view = self.render()
        h = view.shape[0]
        scale = max(h / 720.0, 0.5)
        key = self.settings.key.key_color
        status = (
            f"{self.index + 1}/{self.frame_count}  {self.index / max(self.source.fps, 1e-6):6.2f}s  "
            f"{self.view}  key {key}  {self.fps_measured:4.1f} fps  {'playing' if self.playing else 'paused'}"
            f"  |  {self.message}"
        )
        _text_box(view, [status], (0, 0), scale)
        if self.show_help:
            _text_box(view, list(HELP), (0, int(40 * scale)), scale)
        return view


def _text_box(image: np.ndarray, lines: list[str], origin: tuple[int, int], scale: float) -> None:
    """Draw ``lines`` on a darkened box at ``origin`` (in place)."""
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, max(1, int(round(scale)))
    size = 0.55 * scale
    line_h = int(26 * scale)
    width = max(cv2.getTextSize(t, font, size, thickness)[0][0] for t in lines) + int(16 * scale)
    x0, y0 = origin
    x1, y1 = min(x0 + width, image.shape[1]), min(y0 + line_h * len(lines) + int(10 * scale), image.shape[0])
    box = image[y0:y1, x0:x1]
    box[:] = (box.astype(np.uint16) * 3 // 10).astype(np.uint8)
    for i, text in enumerate(lines):
        y = y0 + int(20 * scale) + i * line_h
        cv2.putText(image, text, (x0 + int(8 * scale), y), font, size, (255, 255, 255), thickness, cv2.LINE_AA)


def _free_name(folder: Path, name: str) -> str:
    """``name`` as a preset name, numbered (``NAME-2``, ...) if ``folder`` already holds a file
    of that name."""
    base = candidate = preset_name(name)
    number = 2
    while (folder / f"{candidate}.toml").exists():
        candidate, number = f"{base}-{number}", number + 1
    return candidate
