"""Presets: TOML files holding any subset of the render settings.

A preset has one table per settings group (``[key]``, ``[layout]``, ``[timeline]``, ``[encode]``)
and an optional top-level ``description``. Keys a preset leaves out keep their defaults, which
live only in the settings dataclasses (:mod:`greenscreen.config`).

Lookup order for a name: an explicit file path, then the user's preset folder, then the presets
that ship with greenscreen (so a user preset may shadow a built-in one of the same name).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import re
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from greenscreen.config import RenderSettings
from greenscreen.errors import OutputError, SettingsError
from greenscreen.io.files import check_input_file, os_reason
from greenscreen.io.atomic import atomic_path
from greenscreen.settings import field_spec, replace_checked
from greenscreen.title_cards import asks_for_card, card_problems

GROUPS = tuple(f.name for f in dataclasses.fields(RenderSettings))

_SAFE_NAME = re.compile(r"[^\w.-]+")


class PresetError(SettingsError):
    """A preset file with one or more problems; :attr:`problems` holds one line per problem.

    ``str()`` is the file name and, for one problem, that problem on the same line; for several,
    a count followed by one indented line each, so every problem is reported at once.
    """

    def __init__(self, problems: list[str], path: str | Path):
        self.problems = list(problems)
        if len(problems) == 1:
            message = problems[0]
        else:
            message = f"{len(problems)} problems\n" + "\n".join(f"  {p}" for p in problems)
        super().__init__(message, path)


@dataclass(frozen=True)
class PresetInfo:
    """One preset found on disk."""

    name: str
    path: Path
    source: str
    """``"user"`` or ``"built-in"``."""
    description: str
    shadowed: bool = False
    """True for a built-in preset hidden by a user preset of the same name."""


def user_preset_dir() -> Path:
    """The user's preset folder (XDG config on Linux/macOS, APPDATA on Windows)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    else:
        # The XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored (it would make the
        # presets depend on the folder greenscreen is started in).
        xdg = os.environ.get("XDG_CONFIG_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".config"
    return base / "greenscreen" / "presets"


def unreadable_folder_reason(folder: Path) -> str | None:
    """Why the presets ``folder`` cannot be listed, in words; None if it can or does not exist.

    ``Path.glob`` lists an unreadable folder (a locked profile, wrong permissions) as empty, so
    the user's presets would vanish from ``presets list`` and be "unknown" without a word.
    """
    try:
        with os.scandir(folder):
            return None
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return "it is a file, not a folder"
    except OSError as exc:
        return os_reason(exc)


def builtin_preset_dir() -> Path:
    """The folder of presets that ship with greenscreen.

    Installed, they are the package data ``greenscreen.builtin_presets``; run from a source
    checkout that was never installed (``PYTHONPATH=.``) that package does not exist, and the
    presets are the checkout's top-level ``presets/`` folder.
    """
    try:
        return Path(str(resources.files("greenscreen.builtin_presets")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "presets"


def builtin_names() -> set[str]:
    """Names of the presets that ship with greenscreen (these are never overwritten)."""
    folder = builtin_preset_dir()
    return {p.stem for p in folder.glob("*.toml")} if folder.is_dir() else set()


def available_presets() -> dict[str, Path]:
    """Map every preset name to its file; user presets shadow built-ins of the same name."""
    found: dict[str, Path] = {}
    for folder in (builtin_preset_dir(), user_preset_dir()):
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found[path.stem] = path
    return found


def list_presets() -> list[PresetInfo]:
    """Every preset, user ones first, each group sorted by name; shadowed built-ins included."""
    user_dir = user_preset_dir()
    user = sorted(user_dir.glob("*.toml")) if user_dir.is_dir() else []
    user_names = {p.stem for p in user}
    builtin_dir = builtin_preset_dir()
    builtin = sorted(builtin_dir.glob("*.toml")) if builtin_dir.is_dir() else []
    out = [PresetInfo(p.stem, p, "user", _description(p)) for p in user]
    out += [
        PresetInfo(p.stem, p, "built-in", _description(p), shadowed=p.stem in user_names)
        for p in builtin
    ]
    return out


def _description(path: Path) -> str:
    """The preset's description, or a note that it cannot be read (listing must not fail)."""
    try:
        data = _read(path)[1]
    except SettingsError:
        return "(unreadable: run 'greenscreen presets validate' on it)"
    text = data.get("description", "")
    return text if isinstance(text, str) else ""


def find_preset(name: str | Path) -> Path:
    """Resolve a preset name or path to its file, or raise :class:`SettingsError` listing choices.

    Anything that looks like a path (has a folder separator or ends in ``.toml``) is taken as
    one; otherwise the user folder is searched before the built-in presets.
    """
    text = str(name)
    as_path = Path(text)
    if as_path.suffix == ".toml" or os.sep in text or "/" in text:
        if not os.path.lexists(as_path):
            raise SettingsError("preset file not found", as_path)
        check_input_file(as_path, what="preset file", error=SettingsError)
        return as_path
    for folder in (user_preset_dir(), builtin_preset_dir()):
        candidate = folder / f"{text}.toml"
        if os.path.lexists(candidate):
            # Found by name but a pipe, a folder or a broken link: say so, not "unknown".
            check_input_file(candidate, what="preset file", error=SettingsError)
            return candidate
    names = sorted(available_presets())
    close = difflib.get_close_matches(text, names, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    unreadable = unreadable_folder_reason(user_preset_dir())
    note = f"; your presets folder {user_preset_dir()} cannot be read: {unreadable}" if unreadable else ""
    raise SettingsError(f"unknown preset '{text}' ({hint}available: {', '.join(names) or 'none'}){note}")


def read_preset_text(path: Path) -> str:
    """The text of the preset file at ``path``; :class:`SettingsError` if it cannot be read."""
    return _read_text(path)


def read_preset_file(path: Path) -> dict[str, Any]:
    """Parse a preset file; a syntax error names the file and the line."""
    return _read(path)[1]


def _utf16(data: bytes) -> str | None:
    """``data`` as the text of Notepad's "Unicode" (UTF-16 with a byte order mark), or None if
    it is not that: in a settings file most characters are ASCII, so half its bytes are 0."""
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")) or len(data) % 2:
        return None
    high = data[3::2] if data.startswith(b"\xff\xfe") else data[2::2]
    if high.count(0) * 2 < len(high):
        return None
    try:
        return data.decode("utf-16")
    except UnicodeDecodeError:
        return None


def _read_text(path: Path, what: str = "preset file") -> str:
    check_input_file(path, what=what, error=SettingsError)
    try:
        data = path.read_bytes()
    except OSError as exc:  # the error names the path again, with its errno: say why, once
        raise SettingsError(f"{what}: {os_reason(exc)}", path) from None
    text = _utf16(data)
    if text is not None:
        return text
    try:
        return data.decode("utf-8-sig")  # a BOM, as Windows editors write
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SettingsError(
            f"line {line}: not UTF-8 text (saved as Windows-1252 or Latin-1?); save the {what} as UTF-8", path
        ) from None


def read_settings_file(path: Path, *, what: str = "preset file") -> tuple[str, dict[str, Any]]:
    """The text and the parsed TOML of a settings file (a preset, an edit file): the one TOML
    reader, so every file's syntax error names the file and the line alike."""
    return _read(path, what)


def _read(path: Path, what: str = "preset file") -> tuple[str, dict[str, Any]]:
    text = _read_text(path, what)
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's TOMLDecodeError has no line attribute; its message ends "(at line N, column M)".
        message = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if where:
            reason = message[: where.start()].strip()
            raise PresetError(
                [f"line {where[1]}: not valid TOML: {reason} (column {where[2]})"], path
            ) from None
        raise PresetError([f"not valid TOML: {message}"], path) from None


def key_lines(text: str, within: tuple[str, ...] = ()) -> dict[tuple[str | None, str], int]:
    """Map ``(section, key)`` of a settings file's text to its line number.

    ``within`` is the path of a table whose contents are wanted (``("tutorials", "intro")`` for
    ``[tutorials.intro]`` of a ``batch.toml``): its sections are named relative to it and
    everything outside it is left out. A section's header line is under ``(None, section)``.
    """
    return _key_lines(text, within)


def array_lines(text: str, within: tuple[str, ...] = ()) -> dict[str, list[int]]:
    """The line of every ``[[name]]`` header directly in table ``within``, in order per name."""
    found: dict[str, list[int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"\s*\[\[(.*?)\]\]", line)
        path = _header_path(header[1]) if header else None
        if path is not None and len(path) == len(within) + 1 and path[: len(within)] == within:
            found.setdefault(path[-1], []).append(number)
    return found


_HEADER_PART = re.compile(r"\s*(?:\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)")


def _header_path(header: str) -> tuple[str, ...] | None:
    """``tutorials."2024.intro".key`` -> ``("tutorials", "2024.intro", "key")``; None if unreadable."""
    parts: list[str] = []
    position = 0
    while position < len(header):
        part = _HEADER_PART.match(header, position)
        if part is None:
            return None
        parts.append(next(p for p in part.groups()[:3] if p is not None))
        position = part.end()
        if not part[4]:
            break
    return tuple(parts) if parts and position >= len(header.rstrip()) else None


def apply_settings_tables(
    settings: RenderSettings, data: dict[str, Any], lines: dict[tuple[str | None, str], int]
) -> tuple[RenderSettings, list[str]]:
    """Apply a file's ``{section: {key: value}}`` tables to ``settings``: the result and one
    message per bad key, with its line from ``lines`` (see :func:`key_lines`)."""
    return _problems(settings, data, lines)


def _key_lines(text: str, within: tuple[str, ...] = ()) -> dict[tuple[str | None, str], int]:
    """Map ``(section, key)`` to its line number, so problems can point at the line to edit."""
    lines: dict[tuple[str | None, str], int] = {}
    section: str | None = None
    inside = not within
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"\s*\[\[?([^\]]*)\]", line)
        if header:
            path = _header_path(header[1])
            inside = path is not None and path[: len(within)] == within
            if inside:
                section = ".".join(path[len(within):]) or None  # type: ignore[index]
                if section is not None:
                    lines.setdefault((None, section), number)
            continue
        key = re.match(r"\s*([A-Za-z0-9_\"'-]+)\s*=", line)
        if key and inside:
            lines.setdefault((section, key[1].strip("\"'")), number)
    return lines


def _problems(
    settings: RenderSettings, data: dict[str, Any], lines: dict[tuple[str | None, str], int]
) -> tuple[RenderSettings, list[str]]:
    """Apply ``data`` to ``settings`` and return the result and one message per bad key."""
    problems: list[str] = []
    groups: dict[str, Any] = {}

    def at(section: str | None, key: str) -> str:
        line = lines.get((section, key))
        return f"line {line}: " if line else ""

    for group, values in data.items():
        if group not in GROUPS and not isinstance(values, dict):
            # A setting outside any section ("crf = 30" at the top): say where it belongs.
            owner = [g for g in GROUPS if group in {f.name for f in dataclasses.fields(getattr(settings, g))}]
            hint = f" (it belongs in [{owner[0]}])" if owner else ""
            problems.append(
                f"{at(None, group)}unknown key '{group}'{hint}; settings go in sections: "
                + ", ".join(f"[{g}]" for g in GROUPS)
            )
            continue
        if group not in GROUPS:
            close = difflib.get_close_matches(group, GROUPS, n=1)
            hint = f" (did you mean [{close[0]}]?)" if close else ""
            problems.append(
                f"{at(None, group)}unknown section [{group}]{hint}; sections are "
                + ", ".join(f"[{g}]" for g in GROUPS)
            )
            continue
        if not isinstance(values, dict):
            problems.append(f"{at(None, group)}'{group}' must be a [{group}] table of settings")
            continue
        current = groups.get(group, getattr(settings, group))
        # One key at a time, so every message can name the line of its key.
        for key, value in values.items():
            current, found = replace_checked(current, {key: value})
            problems += [f"{at(group, key)}[{group}] {_with_range(type(current), key, p)}" for p in found]
        groups[group] = current
    return dataclasses.replace(settings, **groups), problems


def _with_range(cls: type, key: str, problem: str) -> str:
    """Add the allowed range to a wrong-type message, so every message tells what is allowed."""
    try:
        spec = field_spec(cls, key)
    except KeyError:
        return problem
    if "between" in problem or "one of" in problem:
        return problem
    if spec["min"] is not None and spec["max"] is not None:
        return f"{problem} (allowed: {spec['min']:g} to {spec['max']:g})"
    if spec["choices"]:
        return f"{problem} (allowed: {', '.join(spec['choices'])})"
    return problem


@dataclass(frozen=True)
class SettingsLayer:
    """One source of settings tables laid over the presets: an edit file, a ``batch.toml``
    table, the command line."""

    tables: dict[str, dict[str, Any]]
    """``{group: {key: value}}``, as in a preset file."""
    source: str | Path
    """Named in messages: the file, or e.g. ``"command line"``."""
    lines: dict[tuple[str | None, str], int] = dataclasses.field(default_factory=dict)
    """Where each key is in ``source`` (see :func:`key_lines`), for the messages."""


def layered_settings(
    presets: str | Path | Sequence[str | Path] | None = (), layers: Sequence[SettingsLayer] = ()
) -> RenderSettings:
    """The settings of a render: defaults < ``presets`` (in order, later ones win) < ``layers``
    (lowest priority first).

    The one place settings are layered, for render and preview (edit file < command line) and
    for batch (``batch.toml``'s top < the tutorial's table < its edit file). Raises
    :class:`PresetError` naming the first layer that holds mistakes, with every one of them.
    """
    if isinstance(presets, str | Path):
        presets = (presets,)
    settings = RenderSettings()
    for preset in presets or ():
        settings = load_preset(preset, base=settings)
    for layer in layers:
        settings, problems = _problems(settings, layer.tables, layer.lines)
        if problems:
            raise PresetError(problems, layer.source)
    _check_cards(settings, layers)
    return settings


class CardError(PresetError):
    """Card settings that make no card, judged on all layers together (see :func:`layered_settings`).

    :attr:`layer` is the highest layer that asked for the card, :attr:`line` where (0: unknown)
    and :attr:`reasons` the problems without the line.
    """

    def __init__(self, reasons: list[str], layer: SettingsLayer, line: int):
        self.layer, self.line, self.reasons = layer, line, reasons
        super().__init__([f"line {line}: [cards] {r}" if line else f"[cards] {r}" for r in reasons], layer.source)


def _check_cards(settings: RenderSettings, layers: Sequence[SettingsLayer]) -> None:
    """Raise :class:`CardError` if the layered settings ask for a card with no text (a subtitle
    or a speaker intro without a title), naming the highest layer whose own value asks for it.

    Judged on the layers together, not one file at a time: a subtitle in an edit file may stand
    under a title given on the command line or in ``batch.toml``. A card that only presets ask
    for is left to the render's own check, which names no file.
    """
    problems = card_problems(settings.cards)
    for layer in reversed(layers):
        cards = layer.tables.get("cards", {})
        asked = [key for key in problems if key in cards and _asks_alone(key, cards[key])]
        if asked:
            line = layer.lines.get(("cards", asked[0])) or layer.lines.get((None, "cards"), 0)
            raise CardError([problems[key] for key in asked], layer, line)


def _asks_alone(key: str, value: Any) -> bool:
    """Whether the card setting ``key`` set to ``value`` (as a settings table holds it) asks
    for a title card; a value the settings reject asks for nothing (it is reported as such)."""
    settings, problems = _problems(RenderSettings(), {"cards": {key: value}}, {})
    return not problems and asks_for_card(settings.cards, key)


def check_preset(path: Path, base: RenderSettings | None = None) -> tuple[RenderSettings, list[str]]:
    """Validate the preset file at ``path``: return the settings it gives and its problems.

    Raises :class:`SettingsError` only when the file cannot be read or parsed at all.
    """
    text, data = _read(path)
    lines = _key_lines(text)
    problems: list[str] = []
    description = data.pop("description", "")
    if not isinstance(description, str):
        problems.append(f"line {lines.get((None, 'description'), '?')}: 'description' must be text")
    settings, found = _problems(base or RenderSettings(), data, lines)
    return settings, problems + found


def load_preset(name: str | Path, base: RenderSettings | None = None) -> RenderSettings:
    """Load preset ``name`` (a name or a path) on top of ``base`` (defaults if None).

    Raises :class:`PresetError` listing every problem of the file at once.
    """
    path = find_preset(name)
    settings, problems = check_preset(path, base)
    if problems:
        raise PresetError(problems, path)
    return settings


def preset_values(settings: RenderSettings, *, everything: bool = False) -> dict[str, dict[str, Any]]:
    """``{group: {key: value}}`` of ``settings`` that differ from the defaults (or all of them)."""
    defaults = RenderSettings()
    out: dict[str, dict[str, Any]] = {}
    for group in GROUPS:
        ours, theirs = getattr(settings, group), getattr(defaults, group)
        for f in dataclasses.fields(ours):
            value = getattr(ours, f.name)
            if everything or value != getattr(theirs, f.name):
                out.setdefault(group, {})[f.name] = value
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # shortest text that reads back as the same float
    if isinstance(value, str):
        # A JSON string with non-ASCII kept is a valid TOML basic string, but for DEL, which
        # JSON leaves as it is and TOML refuses (the preset could not be read back).
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    raise TypeError(f"cannot write {type(value).__name__} {value!r} to a preset")


def dumps_preset(
    settings: RenderSettings, *, description: str = "", everything: bool = False
) -> str:
    """The TOML text of a preset holding ``settings`` (only non-default values unless ``everything``)."""
    parts = [f"description = {_toml_value(description)}\n"] if description else []
    for group, values in preset_values(settings, everything=everything).items():
        body = "".join(f"{key} = {_toml_value(value)}\n" for key, value in values.items())
        parts.append(f"[{group}]\n{body}")
    return "\n".join(parts)


#: Longest preset name in UTF-8 bytes: with ".toml" and the temporary file's affixes it stays
#: well inside the 255 bytes a file name may have.
MAX_NAME_BYTES = 120


def preset_name(text: str) -> str:
    """Turn ``text`` (e.g. a file stem) into a name that is safe as a file name (and short
    enough for one: a longer name is cut at :data:`MAX_NAME_BYTES`)."""
    text = text.strip()
    if text.lower().endswith(".toml"):
        text = text[: -len(".toml")]
    name = _SAFE_NAME.sub("-", text).strip(".-")
    name = name.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", "ignore").rstrip(".-")
    return name or "preset"


def save_preset(
    settings: RenderSettings,
    name: str,
    *,
    description: str = "",
    folder: Path | None = None,
) -> Path:
    """Save ``settings`` as preset ``name`` in the user folder (or ``folder``); return its path.

    Only values that differ from the defaults are written. That keeps a preset short enough to
    read, and it keeps it loadable when a later version renames or drops a setting it never
    changed. A name that belongs to a built-in preset is never overwritten: ``NAME-2`` (or the
    next free number) is used instead. A user preset of the same name is replaced. The file is
    written atomically, so a crash never leaves half a preset behind.
    """
    name = preset_name(name)
    reserved = builtin_names()
    if name in reserved:
        n = 2
        while f"{name}-{n}" in reserved:
            n += 1
        name = f"{name}-{n}"
    folder = folder or user_preset_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a read-only or locked profile, a file where the folder should be
        raise OutputError(f"cannot create the preset folder ({exc.strerror})", folder) from None
    target = folder / f"{name}.toml"
    text = dumps_preset(settings, description=description)
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
