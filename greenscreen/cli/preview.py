"""``greenscreen preview``: tune the key in a window and save the settings as a preset."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from greenscreen.cli.options import render_settings_from, render_settings_options, timing_given, with_edit
from greenscreen.edit import Edit, read_edit
from greenscreen.errors import printable
from greenscreen.presets import preset_name
from greenscreen.sync import apply_sync, sync_wanted

TIMELINE_ONLY = ("offset", "start", "end", "fps")
"""Options that only mean something on a screen recording's timeline."""


@click.command("preview")
@click.argument("speaker", type=click.Path(path_type=Path))
@click.argument("screen", type=click.Path(path_type=Path), required=False)
@click.option("--save-as", help="Name for presets saved with 's' [default: preview-SPEAKER; asked on a terminal].")
# The same settings options as render, so a render's command line previews what it renders.
@render_settings_options
def preview_command(
    speaker: Path,
    screen: Path | None,
    save_as: str | None,
    preset: tuple[str, ...],
    plate: Path | None,
    crop: str | None,
    out_size: str | None,
    **params: Any,
) -> None:
    """Show SPEAKER keyed over SCREEN (or over a checkerboard) and tune the key live.

    Takes the options of 'greenscreen render' (presets, --plate, --crop, --offset, --start,
    --end, --size, ...) and shows the frames that render writes with them. Sliders change every
    key setting and the layout. Press h in the window for the keys: space plays, arrows step,
    v switches between composite, matte, checkerboard and compare views, a click picks the
    sheet colour, s saves a preset (the settings, not the plate), q quits.

    \b
    Examples:
      greenscreen preview speaker.mp4 screen.mp4
      greenscreen preview speaker.mp4 screen.mp4 --plate empty.mp4 --offset 1.5 -p dim-room
      greenscreen preview speaker.mp4 --preset dim-room --save-as kitchen
      greenscreen render speaker.mp4 screen.mp4 -o out.mp4 --preset kitchen
    """
    # Imported here so 'greenscreen --help' and other commands do not load the GUI code.
    from greenscreen.io.probe import probe
    from greenscreen.pipeline import resolve_corner, resolve_segment_corners
    from greenscreen.preview.source import PreviewSource
    from greenscreen.preview.state import PreviewState
    from greenscreen.preview.window import check_display, run

    edit_file = params.pop("edit_file")
    edit = read_edit(edit_file) if edit_file is not None else Edit()
    parts = with_edit(edit, params)
    # Chapters are marks in the file and the language a tag: the preview has nothing to show for them.
    parts.pop("chapters")
    parts.pop("caption_language")
    settings = render_settings_from(preset, crop, out_size, params, edit)
    if screen is None:
        ignored = [f"--{name}" for name in TIMELINE_ONLY if params.get(f"timeline__{name}") is not None]
        if ignored:
            click.echo(
                f"note: {', '.join(ignored)} place the speaker on the screen recording's timeline; "
                "without a screen recording the preview shows the speaker's own frames",
                err=True,
            )
    check_display()
    default_name = preset_name(save_as or f"preview-{speaker.stem}")
    ask = None
    if save_as is None and sys.stdin.isatty():
        def ask(suggested: str) -> str:
            return click.prompt("Preset name", default=suggested)
    # Lined up by sound as render will be; the found offset is not part of the settings a
    # preset saved from here holds (it belongs to this pair of recordings).
    timing = settings
    if screen is not None and sync_wanted(settings, given=timing_given(params, edit)):
        timing, _, message = apply_sync(speaker, screen, settings)
        if message:
            click.echo(printable(message if message.startswith("warning:") else f"note: {message}"), err=True)
    source = PreviewSource.open(speaker, screen, timing, plate=plate, **parts)
    try:
        if screen is not None:
            # corner = "auto" is settled once, on the screen recording, as render settles it
            # (for each segment on what the screen shows during it).
            screen_info = probe(screen)
            source.segments = tuple(resolve_segment_corners(source.segments, settings, screen_info, source.speaker_size))
            settings = resolve_corner(settings, screen_info, source.speaker_size)
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
