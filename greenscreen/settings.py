"""The settings schema: one typed table of every tunable value, its default and its allowed range.

Every settings group is a frozen dataclass whose fields are declared with :func:`setting`. The
metadata on each field (range, choices, help text) is the single source that presets validation,
the CLI options and the preview sliders all read, so a bound is written down exactly once. Each
group checks itself when it is made (:func:`check_fields`), so settings made in Python are held
to the same bounds as a preset, an edit file or the command line.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import os
import re
from dataclasses import field
from collections.abc import Sequence
from typing import Any

from greenscreen.errors import SettingsError

HEX_COLOUR = r"#[0-9a-fA-F]{6}"
"""The pattern of a colour setting, ``"#rrggbb"``."""
HEX_COLOUR_HINT = 'a colour "#rrggbb"'


def did_you_mean(word: str, known: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` naming the entry of ``known`` closest to a mistyped ``word``,
    or an empty string when none is close."""
    import difflib  # only when something is wrong

    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def setting(
    default: Any,
    *,
    help: str,
    min: float | None = None,
    max: float | None = None,
    choices: tuple[str, ...] | None = None,
    pattern: str | None = None,
    pattern_hint: str | None = None,
    aliases: dict[str, Any] | None = None,
    clock: bool = False,
) -> Any:
    """Declare a settings field with its default, documentation and allowed values.

    ``pattern`` is a regular expression a text value must match in full; ``pattern_hint`` says
    in words what it allows (for the error message). ``aliases`` are words that stand for a
    value, in files and on the command line (``loudness = "off"`` for 0). A ``clock`` setting is
    a time in seconds that may also be written as on a player's clock: ``"1:20.5"``,
    ``"1:02:03"``.
    """
    return field(
        default=default,
        metadata={
            "help": help, "min": min, "max": max, "choices": choices,
            "pattern": pattern, "pattern_hint": pattern_hint, "aliases": aliases or {}, "clock": clock,
        },
    )


_CLOCK = re.compile(r"(-?)(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)")


def parse_clock(text: str) -> float | None:
    """Seconds of a time written ``"83.5"``, ``"1:23.5"`` or ``"1:01:23"``; None if it is neither
    (``"nan"`` and ``"inf"``, which ``float`` reads, are no time either)."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        return value if math.isfinite(value) else None
    match = _CLOCK.fullmatch(text)
    if match is None:
        return None
    sign, hours, minutes, seconds = match.groups()
    if float(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
        return None
    value = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    return -value if sign else value


def clock_seconds(value: Any) -> float | None:
    """Seconds of a time given in a file (TOML): a number, or a string :func:`parse_clock`
    reads; None if it is neither, or not finite (TOML has ``nan`` and ``inf``)."""
    if isinstance(value, str):
        return parse_clock(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def field_spec(cls: type, name: str) -> dict[str, Any]:
    """Return the metadata (help, min, max, choices) of settings field ``name`` of ``cls``."""
    spec = _fields(cls).get(name)
    if spec is None:
        raise KeyError(name)
    return dict(spec[1])


@functools.cache
def _fields(cls: type) -> dict[str, tuple[str, Any]]:
    """Each settings field of ``cls``: its type's name and its metadata (read once per class)."""
    return {
        f.name: (f.type if isinstance(f.type, str) else f.type.__name__, f.metadata)
        for f in dataclasses.fields(cls) if "help" in f.metadata
    }


_KINDS = {"float": float, "int": int, "bool": bool, "str": str}


def normalised(cls: type, name: str, value: Any) -> Any:
    """``value`` for field ``name`` of ``cls`` in the field's own type where it means the same:
    an alias word (``"off"``) as its value, an int or a NumPy number as a float or an int.
    Anything else is returned as it is, for :func:`check_value` to refuse."""
    kind, spec = _fields(cls)[name]
    if kind == "str" and isinstance(value, os.PathLike):
        return os.fspath(value)  # a background picture given as a Path
    if isinstance(value, str):
        value = spec["aliases"].get(value, value)
    if kind == "bool" and type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):
        return bool(value)  # NumPy's own bool, not a subclass of Python's
    if isinstance(value, bool) or kind not in ("float", "int"):
        return value
    if kind == "float" and isinstance(value, numbers.Real):
        return float(value)
    if kind == "int" and isinstance(value, numbers.Integral):
        return int(value)
    if kind == "int" and isinstance(value, numbers.Real) and float(value).is_integer():
        return int(value)  # 20.0 for a crf of 20
    return value


def check_value(cls: type, name: str, value: Any) -> str | None:
    """Return why ``value`` is not allowed for field ``name`` of ``cls``, or None if it is."""
    expected, spec = _fields(cls)[name]
    value = normalised(cls, name, value)
    kind = _KINDS.get(expected)
    if kind is not None and (type(value) is not kind):
        return f"must be {expected}, got {type(value).__name__} {value!r}"
    if spec["choices"] is not None and value not in spec["choices"]:
        return f"must be one of {', '.join(spec['choices'])}, got {value!r}"
    if spec.get("pattern") and not re.fullmatch(spec["pattern"], value):
        return f"must be {spec['pattern_hint'] or 'of the form ' + spec['pattern']}, got {value!r}"
    lo, hi = spec["min"], spec["max"]
    if lo is not None and hi is not None and not lo <= value <= hi:
        return f"must be between {lo:g} and {hi:g}, got {value!r}"
    return None


def check_fields(instance: Any) -> None:
    """Raise :class:`~greenscreen.errors.SettingsError` naming every field of the settings group
    ``instance`` whose value its :func:`setting` does not allow (type, range, choices, pattern),
    and store the others in their field's own type (see :func:`normalised`).

    The groups call it as they are made: ``LayoutSettings(corner="bottom-lefft")`` or
    ``KeySettings(tolerance=-1)`` rendered a wrong picture without a word.
    """
    cls = type(instance)
    problems = []
    for name, (_, spec) in _fields(cls).items():
        value = normalised(cls, name, getattr(instance, name))
        reason = check_value(cls, name, value)
        if reason:
            choices = spec["choices"]
            hint = did_you_mean(value, choices) if choices and isinstance(value, str) else ""
            problems.append(f"{name} {reason}{hint}")
        else:
            # The group is frozen: its constructor's own way round that.
            object.__setattr__(instance, name, value)
    if problems:
        raise SettingsError(f"{cls.__name__}: {'; '.join(problems)}")


def replace_checked(instance: Any, values: dict[str, Any]) -> tuple[Any, list[str]]:
    """Return ``instance`` with ``values`` applied, plus one message per rejected key.

    Every problem is collected (unknown key with a "did you mean", wrong type, out of range)
    so the user sees them all at once; rejected keys are left at their current value.
    """
    cls = type(instance)
    names = [f.name for f in dataclasses.fields(cls)]
    accepted: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in values.items():
        if key not in names:
            problems.append(f"unknown key '{key}'{did_you_mean(key, names)}")
            continue
        spec = field_spec(cls, key)
        value = normalised(cls, key, value)
        if isinstance(value, str) and spec.get("clock"):
            seconds = parse_clock(value)
            if seconds is None:
                problems.append(f"'{key}' must be seconds or a time such as 1:20.5, got {value!r}")
                continue
            value = seconds
        reason = check_value(cls, key, value)
        if reason:
            problems.append(f"'{key}' {reason}")
            continue
        accepted[key] = value
    return dataclasses.replace(instance, **accepted), problems
