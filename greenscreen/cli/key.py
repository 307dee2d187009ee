"""``greenscreen key``: the keyed speaker as RGBA, for use in other editors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from greenscreen.cli.options import overrides_from, resolve_settings, settings_options
from greenscreen.cli.progress import ProgressBar
from greenscreen.key_export import key_file


@click.command("key")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), required=True,
    help="For an image: an RGBA .png. For a video: a .webm (VP9 with alpha), a .mov (ProRes 4444) "
    "or a folder of RGBA PNGs.",
)
@click.option("-p", "--preset", multiple=True, help="Preset name or .toml file; repeat to combine.")
@click.option(
    "--plate", type=click.Path(path_type=Path),
    help="A few seconds of video (or a photo) of the empty sheet, same camera and light.",
)
# Light wrap mixes in the screen behind the speaker, and `key` composites onto nothing.
@settings_options("key", names={"screen": "backdrop"}, skip=("light_wrap", "light_wrap_size"))
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def key_command(
    input_path: Path, output: Path, preset: tuple[str, ...], plate: Path | None, quiet: bool, **params: Any
) -> None:
    """Key INPUT (an image or a video of someone in front of a green sheet) into RGBA with straight
    alpha and despilled colour.

    \b
    Examples:
      greenscreen key photo.jpg -o speaker.png
      greenscreen key speaker.mp4 -o speaker.webm --plate empty-sheet.mp4
      greenscreen key speaker.mp4 -o frames/ --preset dim-room
    """
    settings = resolve_settings(preset, overrides_from(params))
    with ProgressBar(enabled=not quiet, label=output.name) as bar:
        frames = key_file(input_path, output, settings.key, plate, progress=bar.update)
    if not quiet:
        click.echo(f"wrote {output} ({frames} frame{'s' if frames != 1 else ''})", err=True)
