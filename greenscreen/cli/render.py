"""``greenscreen render``: one tutorial from a speaker and a screen recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from greenscreen.cli.options import (
    render_settings_from,
    render_settings_options,
    timing_given,
    with_edit,
)
from greenscreen.edit import Edit, read_edit
from greenscreen.cli.progress import ProgressBar
from greenscreen.errors import printable
from greenscreen.io.atomic import is_null_device
from greenscreen.pipeline import check_render_request, render
from greenscreen.sync import apply_sync, sync_wanted


@click.command("render")
@click.argument("speaker", type=click.Path(path_type=Path))
@click.argument("screen", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="The MP4 to write.")
@render_settings_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def render_command(
    speaker: Path,
    screen: Path,
    output: Path,
    preset: tuple[str, ...],
    plate: Path | None,
    crop: str | None,
    out_size: str | None,
    quiet: bool,
    **params: Any,
) -> None:
    """Key SPEAKER (webcam in front of a green sheet) and place them over SCREEN (a screen
    recording), writing a web-ready H.264/AAC MP4.

    \b
    Examples:
      greenscreen render speaker.mp4 screen.mp4 -o tutorial.mp4
      greenscreen render speaker.mp4 screen.mp4 -o out.mp4 --corner bottom-left --speaker-size 0.4
      greenscreen render speaker.mp4 screen.mkv -o out.mp4 --offset 1.5 --audio mix
      greenscreen render speaker.mp4 screen.mp4 -o out.mp4 --cut 1:20-1:32 --title-card "Passwort ändern"
    """
    edit_file = params.pop("edit_file")
    edit = read_edit(edit_file) if edit_file is not None else Edit()
    parts = with_edit(edit, params)
    settings = render_settings_from(preset, crop, out_size, params, edit)
    check_render_request(speaker, screen, output, settings, plate=plate, captions=parts["captions"],
                         logo=parts["logo"], card_image=parts["card_image"], cuts=parts["cuts"])
    synced = ""
    if sync_wanted(settings, given=timing_given(params, edit)):
        settings, _, synced = apply_sync(speaker, screen, settings)
    with ProgressBar(enabled=not quiet, label=output.name) as bar:
        result = render(
            speaker, screen, output, settings, plate=plate, progress=bar.update, **parts,
        )
    # Said once the render is done: a render that fails says only why.
    if synced:
        click.echo(printable(synced if synced.startswith("warning:") else f"note: {synced}"), err=True)
    for warning in result.warnings:
        click.echo(printable(f"warning: {warning}"), err=True)
    for note in result.notes:
        click.echo(printable(f"note: {note}"), err=True)
    if not quiet:
        w, h = result.size
        picture = f"{w}x{h}, {float(result.fps):.3g} fps, {result.duration:.1f} s"
        if is_null_device(output):  # timing a render: the encoded file went nowhere
            click.echo(f"rendered {picture} into {output} (discarded)", err=True)
        else:
            size = output.stat().st_size
            rate = size * 8 / 1000 / result.duration if result.duration else 0.0
            click.echo(f"wrote {output} ({picture}, {size / 1e6:.1f} MB, {rate:.0f} kbit/s)", err=True)
        if parts["captions"] is not None and not is_null_device(output):
            click.echo(f"wrote {output.with_suffix('.vtt')} (captions for web players)", err=True)
        if result.loudness_before is not None and result.loudness_after is not None:
            click.echo(f"loudness: {result.loudness_before} -> {result.loudness_after}", err=True)
