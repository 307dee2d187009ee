"""The settings schema: one typed table of every tunable value, its default and its allowed range.

Every settings group is a frozen dataclass whose fields are declared with :func:`setting`. The
metadata on each field (range, choices, help text) is the single source that presets validation,
the CLI options and the preview sliders all read, so a bound is written down exactly once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


def setting(
    default: Any,
    *,
    help: str,
    min: float | None = None,
    max: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """Declare a settings field with its default, documentation and allowed values."""
    return field(
        default=default, metadata={"help": help, "min": min, "max": max, "choices": choices}
    )


def field_spec(cls: type, name: str) -> dict[str, Any]:
    """Return the metadata (help, min, max, choices) of settings field ``name`` of ``cls``."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return dict(f.metadata)
    raise KeyError(name)
