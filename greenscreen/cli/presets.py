"""``greenscreen presets``: list, show and validate presets."""

from __future__ import annotations

import sys

import click

from greenscreen.errors import SettingsError
from greenscreen.presets import (
    PresetError,
    builtin_preset_dir,
    check_preset,
    dumps_preset,
    find_preset,
    list_presets,
    load_preset,
    read_preset_text,
    unreadable_folder_reason,
    user_preset_dir,
)


@click.group("presets")
def presets_group() -> None:
    """List, show and check presets (TOML files of settings).

    \b
    A name is looked up as: a file path, then your preset folder, then the built-in presets.
    Examples:
      greenscreen presets list
      greenscreen presets show dim-room
      greenscreen presets validate my-sheet.toml
    """


@presets_group.command("list")
def list_command() -> None:
    """List every preset with where it comes from and what it is for."""
    presets = list_presets()
    width = max((len(p.name) for p in presets), default=4)
    for p in presets:
        source = "built-in, hidden by your preset" if p.shadowed else p.source
        click.echo(f"{p.name:<{width}}  {source:<8}  {p.description}")
    click.echo(f"\nYour presets folder: {user_preset_dir()}")
    unreadable = unreadable_folder_reason(user_preset_dir())
    if unreadable:
        click.echo(f"warning: your presets folder cannot be read, so your presets are not listed: {unreadable}",
                   err=True)
    click.echo(f"Built-in presets:    {builtin_preset_dir()}")


@presets_group.command("show")
@click.argument("name")
@click.option("--all", "everything", is_flag=True, help="Print every setting the preset gives, defaults included.")
def show_command(name: str, everything: bool) -> None:
    """Print preset NAME (a name or a .toml file), or with --all every setting it results in."""
    path = find_preset(name)
    if everything:
        settings = load_preset(path)
        click.echo(f"# {path}: every setting, defaults included")
        click.echo(dumps_preset(settings, everything=True), nl=False)
    else:
        text = read_preset_text(path)
        click.echo(f"# {path}")
        click.echo(text, nl=False)


@presets_group.command("validate")
@click.argument("files", nargs=-1, required=True)
def validate_command(files: tuple[str, ...]) -> None:
    """Check preset FILES (paths or names): one line per problem, exit code 1 if any has one.

    \b
    A file with problems is reported as render reports it:
      error: my.toml: 2 problems
        line 3: [key] 'tolerance' must be between 0 and 1, got 2.0
        line 4: [key] unknown key 'sofness' (did you mean 'softness'?)
    """
    failed = 0
    for name in files:
        try:
            path = find_preset(name)
            _, problems = check_preset(path)
            if problems:
                raise PresetError(problems, path)
        except SettingsError as exc:  # PresetError included: the same text render prints
            click.echo(f"error: {exc}", err=True)
            failed += 1
            continue
        click.echo(f"{path}: ok")
    if failed and len(files) > 1:
        click.echo(f"{failed} of {len(files)} presets have problems", err=True)
    if failed:
        sys.exit(1)
