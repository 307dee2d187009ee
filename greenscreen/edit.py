"""The edit file: what happens when in a tutorial, in one TOML file beside the recordings.

A preset is the look (key, layout, encoding); the edit is the cut: cards, cuts, chapters,
redactions, lower thirds, a logo and captions. It may also hold any preset section (``[cards]``,
``[layout]``, ...), which then wins over the presets and loses to options on the command line.
See ``samples/edit.toml`` for every key with comments.

Every problem of the file is reported at once, with its line and, for an unknown key, the key
it probably meant.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenscreen.composite.lower_third import LowerThird
from greenscreen.composite.redact import Redaction
from greenscreen.config import RenderSettings
from greenscreen.errors import GreenscreenError, SettingsError
from greenscreen.io.captions import CAPTION_SUFFIXES
from greenscreen.io.files import check_input_file
from greenscreen.io.stills import read_image_with_alpha
from greenscreen.plan import SEGMENT_KEYS, Chapter, Cut, Segment, check_cuts, check_segments, segment_from
from greenscreen.presets import (
    GROUPS,
    SettingsLayer,
    apply_settings_tables,
    array_lines,
    key_lines,
    read_settings_file,
)
from greenscreen.settings import clock_seconds, did_you_mean

#: The lists an edit holds: TOML key -> the keys each entry takes (required first).
LISTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cut": (("from", "to"), ()),
    "chapter": (("at", "title"), ()),
    "redact": (("box",), ("from", "to")),
    "lower_third": (("name",), ("role", "from", "to")),
    "segment": (SEGMENT_KEYS[:3], SEGMENT_KEYS[3:]),
}
FILES = {"logo": "logo", "captions_file": "captions", "card_image": "card_image"}
"""Keys naming a file (relative to the edit file's folder) -> the :class:`Edit` field. The
captions file is ``captions_file``: ``[captions]`` is the section of how they are shown."""
TEXT = ("caption_language",)


class EditError(GreenscreenError):
    """An edit file with one or more problems; :attr:`problems` holds one line per problem.

    Not a settings error: the edit is part of the input, like the recordings, so ``render``
    exits with 1 for it (``str()`` as :class:`~greenscreen.presets.PresetError` words it).
    """

    def __init__(self, problems: list[str], path: str | Path):
        self.problems = list(problems)
        message = problems[0] if len(problems) == 1 else (
            f"{len(problems)} problems\n" + "\n".join(f"  {p}" for p in problems))
        super().__init__(message, path)


@dataclass
class Edit:
    """An edit file's contents; lists are empty and files None where it says nothing."""

    path: Path | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    """The preset sections it holds, ``{group: {key: value}}``."""
    cuts: list[Cut] = field(default_factory=list)
    chapters: list[Chapter] = field(default_factory=list)
    redactions: list[Redaction] = field(default_factory=list)
    lower_thirds: list[LowerThird] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    logo: Path | None = None
    card_image: Path | None = None
    captions: Path | None = None
    caption_language: str | None = None
    _lines: dict[tuple[str | None, str], int] = field(default_factory=dict, repr=False)

    def layer(self) -> SettingsLayer:
        """The edit's preset sections as a layer for :func:`~greenscreen.presets.layered_settings`."""
        return SettingsLayer(self.settings, self.path or "edit", self._lines)


def read_edit(path: str | Path) -> Edit:
    """Read and check the edit file at ``path``; raise :class:`EditError` listing every problem."""
    path = Path(path)
    try:
        text, data = read_settings_file(path, what="edit file")
    except SettingsError as exc:
        # Missing, unreadable, not UTF-8, not TOML: a mistake of the input like any other in it.
        raise EditError(getattr(exc, "problems", None) or [exc.message], path) from None
    return edit_from_table(data, path=path, text=text)


def edit_from_table(
    data: dict[str, Any], *, path: Path, text: str, within: tuple[str, ...] = (),
    other_keys: tuple[str, ...] = (),
) -> Edit:
    """Check an already parsed edit: the whole file ``path`` (whose ``text`` gives the lines of
    problems), or its table ``within`` (``("tutorials", "intro")`` in a ``batch.toml``). Files
    it names are relative to ``path``'s folder. ``other_keys`` are keys the caller handles
    itself (taken out of ``data``), offered as did-you-mean too. Raise :class:`EditError`
    listing every problem."""
    headers = array_lines(text, within)
    lines = key_lines(text, within)
    edit = Edit(path=path)
    problems: list[str] = []
    for key, value in data.items():
        line = f"line {lines[(None, key)]}: " if (None, key) in lines else ""
        if key in LISTS:
            entries = value if isinstance(value, list) else None
            if entries is None or not all(isinstance(e, dict) for e in entries):
                problems.append(f"{line}'{key}' must be a list of [[{key}]] tables")
                continue
            for number, entry in enumerate(entries):
                where = headers.get(key, [])
                at = f"line {where[number]}: " if number < len(where) else ""
                item = _entry(key, entry, f"{at}[[{key}]] ", problems)
                if item is not None:
                    getattr(edit, _FIELD[key]).append(item)
        elif key in FILES:
            if not isinstance(value, str) or not value:
                problems.append(f"{line}'{key}' must be a file name")
                continue
            named = (path.parent / value) if not Path(value).is_absolute() else Path(value)
            try:  # a missing logo is a mistake of the file, reported with the others
                check_input_file(named, what="file", error=SettingsError)
            except SettingsError as exc:
                problems.append(f"{line}'{key}' {exc}")
                continue
            if FILES[key] in ("logo", "card_image"):
                try:  # read as render will read it: any picture OpenCV decodes, nothing else
                    read_image_with_alpha(named)
                except GreenscreenError as exc:
                    problems.append(f"{line}'{key}' {exc}")
                    continue
            elif named.suffix.lower() not in CAPTION_SUFFIXES:  # told now, not when its render starts
                problems.append(f"{line}'{key}' must be a .srt or .vtt file, got {value!r}")
                continue
            setattr(edit, FILES[key], named)
        elif key in TEXT:
            if not isinstance(value, str):
                problems.append(f"{line}'{key}' must be text")
                continue
            setattr(edit, key, value)
        elif key in GROUPS:
            edit.settings[key] = value
        else:
            known = [*LISTS, *FILES, *TEXT, *GROUPS, *other_keys]
            problems.append(f"{line}unknown key '{key}'{did_you_mean(key, known)}")
    try:
        check_cuts(edit.cuts)
    except SettingsError as exc:
        problems.append(str(exc))
    problems += check_segments(edit.segments)
    # An image behind the full layout is relative to the edit file, like its other files.
    background = edit.settings.get("layout", {}).get("background") if isinstance(edit.settings.get("layout"), dict) else None
    if isinstance(background, str) and background and not background.startswith("#") and background != "screen":
        image = Path(background)
        edit.settings["layout"]["background"] = str(image if image.is_absolute() else path.parent / image)
    # The preset sections are checked now too, so one run names every problem of the file.
    edit._lines = lines
    # A card with no text is judged later, on all settings together (presets.layered_settings).
    problems += apply_settings_tables(RenderSettings(), edit.settings, edit._lines)[1]
    if problems:
        raise EditError(problems, path)
    # Problems found later (a segment beyond the recordings) name the file too.
    edit.segments = [dataclasses.replace(s, where=f"{path}: {s.where}") for s in edit.segments]
    return edit


_FIELD = {"cut": "cuts", "chapter": "chapters", "redact": "redactions", "lower_third": "lower_thirds",
          "segment": "segments"}


def _entry(kind: str, entry: dict[str, Any], where: str, problems: list[str]) -> Any:
    """One list entry as its object, or None after adding its problems."""
    if kind == "segment":
        return segment_from(entry, where, problems)
    required, optional = LISTS[kind]
    bad = False
    for key in entry:
        if key not in required + optional:
            problems.append(f"{where}unknown key '{key}'{did_you_mean(key, required + optional)}; "
                            f"it takes {', '.join(required + optional)}")
            bad = True
    missing = [k for k in required if k not in entry]
    if missing:
        problems.append(f"{where}needs {', '.join(missing)}")
        return None
    times: dict[str, float] = {}
    for key in ("from", "to", "at"):
        if key in entry:
            value = entry[key]
            seconds = clock_seconds(value)
            if seconds is None or seconds < 0:
                problems.append(f"{where}'{key}' must be seconds or a time such as 1:20.5, got {value!r}")
                bad = True
            else:
                times[key] = seconds
    if bad:
        return None
    makers: dict[str, Callable[[], Any]] = {
        "cut": lambda: Cut(times["from"], times["to"]) if times["to"] > times["from"] else _ends_first(),
        "chapter": lambda: Chapter(times["at"], _text(entry["title"])),
        "redact": lambda: _redaction(entry["box"], times.get("from", 0.0), times.get("to", math.inf)),
        "lower_third": lambda: _lower_third(entry, times),
    }
    try:
        return makers[kind]()
    except SettingsError as exc:
        problems.append(f"{where}{exc}")
        return None


def _lower_third(entry: dict[str, Any], times: dict[str, float]) -> LowerThird:
    name, role = _text(entry["name"]), _text(entry.get("role", ""), empty=True)
    if "from" not in times and "to" not in times:
        return LowerThird(name, role)  # introduces the speaker, timed by the plan
    if "from" not in times or "to" not in times:
        raise SettingsError("give both 'from' and 'to', or neither (then it introduces the speaker)")
    return LowerThird(name, role, times["from"], times["to"]) if times["to"] > times["from"] else _ends_first()


def _ends_first() -> Any:
    raise SettingsError("'to' must come after 'from'")


def _text(value: Any, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not value.strip() and not empty):
        raise SettingsError(f"must be text, got {value!r}")
    return value.strip()


def _redaction(box: Any, start: float, end: float) -> Redaction:
    if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, int) and v >= 0 for v in box)):
        raise SettingsError(f"'box' must be [x, y, width, height] in whole pixels, got {box!r}")
    if box[2] == 0 or box[3] == 0 or end <= start:
        raise SettingsError("the box must not be empty and 'to' must come after 'from'")
    return Redaction(box[0], box[1], box[2], box[3], start, end)
