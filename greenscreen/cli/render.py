"""``greenscreen render``: one tutorial from a speaker and a screen recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from greenscreen.cli.options import overrides_from, resolve_settings, settings_options
from greenscreen.cli.progress import ProgressBar
from greenscreen.errors import SettingsError
from greenscreen.pipeline import render


def _parse_crop(value: str | None) -> dict[str, int]:
    if not value:
        return {}
    parts = value.replace(":", ",").split(",")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) != 4 or min(numbers) < 0:
        raise SettingsError(f"--crop takes LEFT,TOP,RIGHT,BOTTOM in pixels, got {value!r}")
    return dict(zip(("crop_left", "crop_top", "crop_right", "crop_bottom"), numbers))


def _parse_size(value: str | None) -> dict[str, int]:
    if not value:
        return {}
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise SettingsError(f"--size takes WIDTHxHEIGHT such as 1920x1080, got {value!r}") from None
    return {"width": w, "height": h}


@click.command("render")
@click.argument("speaker", type=click.Path(path_type=Path))
@click.argument("screen", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="The MP4 to write.")
@click.option(
    "-p",
    "--preset",
    multiple=True,
    help="Preset name or .toml file (see 'greenscreen presets list'); repeat to combine, later wins.",
)
@click.option(
    "--plate",
    type=click.Path(path_type=Path),
    help="A few seconds of video (or a photo) of the empty sheet, same camera and light: a cleaner key.",
)
@click.option("--crop", help="Garbage matte: pixels to cut from the webcam frame, LEFT,TOP,RIGHT,BOTTOM.")
@click.option("--size", "out_size", help="Output size WIDTHxHEIGHT [default: the screen recording's].")
@settings_options("layout", names={"size": "speaker_size"}, skip=("crop_left", "crop_top", "crop_right", "crop_bottom"))
@settings_options("timeline", skip=("width", "height"))
@settings_options("encode", names={"preset": "encoder_preset"})
@settings_options("key", names={"screen": "backdrop"})
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
    """
    overrides = overrides_from(params)
    overrides.setdefault("layout", {}).update(_parse_crop(crop))
    overrides.setdefault("timeline", {}).update(_parse_size(out_size))
    settings = resolve_settings(preset, overrides)
    with ProgressBar(enabled=not quiet, label=output.name) as bar:
        result = render(speaker, screen, output, settings, plate=plate, progress=bar.update)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if not quiet:
        w, h = result.size
        click.echo(
            f"wrote {output} ({w}x{h}, {float(result.fps):.3g} fps, {result.duration:.1f} s)", err=True
        )
