"""``greenscreen preview``: tune the key in a window and save the settings as a preset."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from greenscreen.cli.options import overrides_from, resolve_settings, settings_options
from greenscreen.presets import preset_name


@click.command("preview")
@click.argument("speaker", type=click.Path(path_type=Path))
@click.argument("screen", type=click.Path(path_type=Path), required=False)
@click.option("-p", "--preset", help="Preset name or .toml file to start from (see 'greenscreen presets list').")
@click.option("--save-as", help="Name for presets saved with 's' [default: preview-SPEAKER; asked on a terminal].")
@settings_options("layout", names={"size": "speaker_size"}, skip=("crop_left", "crop_top", "crop_right", "crop_bottom"))
@settings_options("key", names={"screen": "backdrop"})
def preview_command(
    speaker: Path, screen: Path | None, preset: str | None, save_as: str | None, **params: Any
) -> None:
    """Show SPEAKER keyed over SCREEN (or over a checkerboard) and tune the key live.

    Sliders change every key setting and the layout; what you see is what 'render' writes.
    Press h in the window for the keys: space plays, arrows step, v switches between composite,
    matte, checkerboard and compare views, a click picks the sheet colour, s saves a preset,
    q quits.

    \b
    Examples:
      greenscreen preview speaker.mp4 screen.mp4
      greenscreen preview speaker.mp4 --preset dim-room --save-as kitchen
      greenscreen render speaker.mp4 screen.mp4 -o out.mp4 --preset kitchen
    """
    # Imported here so 'greenscreen --help' and other commands do not load the GUI code.
    from greenscreen.preview.source import PreviewSource
    from greenscreen.preview.state import PreviewState
    from greenscreen.preview.window import check_display, run

    settings = resolve_settings(preset, overrides_from(params))
    check_display()
    default_name = preset_name(save_as or f"preview-{speaker.stem}")
    ask = None
    if save_as is None and sys.stdin.isatty():
        def ask(suggested: str) -> str:
            return click.prompt("Preset name", default=suggested)
    source = PreviewSource.open(speaker, screen, settings)
    try:
        state = PreviewState(
            source,
            settings,
            save_name=default_name,
            ask_name=ask,
            description=f"Saved from 'greenscreen preview' of {speaker.name}",
        )
        run(state)
    finally:
        source.close()
