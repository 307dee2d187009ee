"""Click options generated from the settings schema, so ranges and help are written once."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import click

from greenscreen.config import RenderSettings
from greenscreen.presets import apply_overrides, load_preset


def _click_type(cls: type, f: dataclasses.Field) -> Any:
    meta = f.metadata
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    if meta.get("choices"):
        return click.Choice(meta["choices"])
    if kind == "float":
        return click.FloatRange(meta.get("min"), meta.get("max"))
    if kind == "int":
        return click.IntRange(meta.get("min"), meta.get("max"))
    if kind == "bool":
        return click.BOOL
    return click.STRING


def settings_options(
    group: str, *, names: dict[str, str] | None = None, skip: tuple[str, ...] = ()
) -> Callable[[Callable], Callable]:
    """Add one ``--option`` per field of settings ``group`` (default None = "not given").

    ``names`` renames options (field -> option name); the parameter is stored as
    ``<group>__<field>`` so :func:`overrides_from` can collect it.
    """
    cls = type(getattr(RenderSettings(), group))
    names = names or {}

    def decorate(command: Callable) -> Callable:
        for f in reversed(dataclasses.fields(cls)):
            if f.name in skip:
                continue
            option = "--" + names.get(f.name, f.name).replace("_", "-")
            default = f.default
            command = click.option(
                option,
                f"{group}__{f.name}",
                type=_click_type(cls, f),
                default=None,
                help=f"{f.metadata['help']} [default: {default}]",
            )(command)
        return command

    return decorate


def overrides_from(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Collect the settings options the user actually gave into ``{group: {key: value}}``."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in params.items():
        if "__" in name and value is not None:
            group, key = name.split("__", 1)
            out.setdefault(group, {})[key] = value
    return out


def resolve_settings(
    presets: str | tuple[str, ...] | None, overrides: dict[str, dict[str, Any]]
) -> RenderSettings:
    """CLI options over the presets (later ones over earlier ones) over the defaults.

    Several presets combine, e.g. a key preset and a layout preset: ``-p dim-room -p side-by-side``.
    """
    if isinstance(presets, str):
        presets = (presets,)
    settings = RenderSettings()
    for preset in presets or ():
        settings = load_preset(preset, base=settings)
    return apply_overrides(settings, overrides, source="command line")
