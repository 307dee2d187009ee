"""``greenscreen key``: the keyed speaker as RGBA, for use in other editors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from greenscreen.cli.options import (
    crop_option,
    overrides_from,
    parse_crop,
    plate_option,
    preset_option,
    resolve_settings,
    settings_options,
)
from greenscreen.cli.progress import ProgressBar
from greenscreen.compositor import crop_of
from greenscreen.key_export import key_file


@click.command("key")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), required=True,
    help="For an image: an RGBA .png. For a video: a .webm (VP9 with alpha), a .mov (ProRes 4444) "
    "or a folder of RGBA PNGs.",
)
@preset_option
@plate_option
@crop_option
# Light wrap mixes in the screen behind the speaker, and `key` composites onto nothing.
@settings_options("key", names={"screen": "backdrop"}, skip=("light_wrap", "light_wrap_size"))
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def key_command(
    input_path: Path,
    output: Path,
    preset: tuple[str, ...],
    plate: Path | None,
    crop: str | None,
    quiet: bool,
    **params: Any,
) -> None:
    """Key INPUT (an image or a video of someone in front of a green sheet) into RGBA with straight
    alpha and despilled colour. A crop (--crop, or a preset's) cuts the frame first, as in render.

    \b
    Examples:
      greenscreen key photo.jpg -o speaker.png
      greenscreen key speaker.mp4 -o speaker.webm --plate empty-sheet.mp4
      greenscreen key speaker.mp4 -o frames/ --preset dim-room --crop 100,0,60,0
    """
    overrides = overrides_from(params)
    overrides["layout"] = parse_crop(crop)
    settings = resolve_settings(preset, overrides)
    with ProgressBar(enabled=not quiet, label=output.name) as bar:
        frames = key_file(input_path, output, settings.key, plate, crop=crop_of(settings), progress=bar.update)
    if not quiet:
        click.echo(f"wrote {output} ({frames} frame{'s' if frames != 1 else ''})", err=True)
