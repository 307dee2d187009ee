"""Presets: TOML files holding any subset of the render settings.

A preset has one table per settings group (``[key]``, ``[layout]``, ``[timeline]``, ``[encode]``).
Lookup order for a name: an explicit file path, then the user's preset folder, then the presets
that ship with greenscreen.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from greenscreen.config import RenderSettings
from greenscreen.errors import SettingsError
from greenscreen.settings import replace_checked

GROUPS = tuple(f.name for f in dataclasses.fields(RenderSettings))


def user_preset_dir() -> Path:
    """The user's preset folder (XDG config on Linux/macOS, APPDATA on Windows)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "greenscreen" / "presets"


def builtin_preset_dir() -> Path:
    """The folder of presets installed with the package."""
    return Path(str(resources.files("greenscreen.builtin_presets")))


def available_presets() -> dict[str, Path]:
    """Map every preset name to its file; user presets shadow built-ins of the same name."""
    found: dict[str, Path] = {}
    for folder in (builtin_preset_dir(), user_preset_dir()):
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found[path.stem] = path
    return found


def find_preset(name: str) -> Path:
    """Resolve a preset name or path to its file, or raise :class:`SettingsError` listing choices."""
    as_path = Path(name)
    if as_path.suffix == ".toml" or os.sep in name or "/" in name:
        if not as_path.is_file():
            raise SettingsError("preset file not found", as_path)
        return as_path
    presets = available_presets()
    if name not in presets:
        choices = ", ".join(sorted(presets)) or "none"
        raise SettingsError(f"unknown preset '{name}' (available: {choices})")
    return presets[name]


def apply_overrides(
    settings: RenderSettings, overrides: dict[str, Any], *, source: str
) -> RenderSettings:
    """Apply ``{group: {key: value}}`` to ``settings``; raise one :class:`SettingsError` naming
    ``source`` and every bad key."""
    problems: list[str] = []
    groups: dict[str, Any] = {}
    for group, values in overrides.items():
        if group not in GROUPS:
            problems.append(f"unknown section [{group}] (sections: {', '.join(GROUPS)})")
            continue
        if not isinstance(values, dict):
            problems.append(f"[{group}] must be a table of settings")
            continue
        updated, group_problems = replace_checked(getattr(settings, group), values)
        problems += [f"[{group}] {p}" for p in group_problems]
        groups[group] = updated
    if problems:
        raise SettingsError("; ".join(problems), source)
    return dataclasses.replace(settings, **groups)


def load_preset(name: str, base: RenderSettings | None = None) -> RenderSettings:
    """Load preset ``name`` (a name or a path) on top of ``base`` (defaults if None)."""
    path = find_preset(name)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read preset ({exc})", path) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"not valid TOML ({exc})", path) from None
    data.pop("description", None)
    return apply_overrides(base or RenderSettings(), data, source=str(path))
