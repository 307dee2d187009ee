"""``greenscreen check``: will this recording key well, and is its sound usable?"""

from __future__ import annotations

import json
from pathlib import Path

import click

from greenscreen.check import check_recording, language_from_locale
from greenscreen.check.report import LANGUAGES
from greenscreen.check.sheet import SHEET_FORMATS, write_sheet
from greenscreen.cli.options import parse_crop, resolve_settings
from greenscreen.compositor import crop_of
from greenscreen.errors import OutputError
from greenscreen.io.atomic import check_output_path
from greenscreen.io.files import valid_json
from greenscreen.key.settings import KeySettings
from greenscreen.settings import field_spec


@click.command("check")
@click.argument("speaker", type=click.Path(path_type=Path))
@click.argument("screen", type=click.Path(path_type=Path), required=False)
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Where to write the PNG report sheet [default: SPEAKER.check.png beside it].")
@click.option("--lang", type=click.Choice(LANGUAGES), help="Language of the report [default: from the locale].")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of text.")
@click.option("--no-sheet", is_flag=True, help="Do not write the PNG report sheet.")
@click.option("-p", "--preset", multiple=True, help="Judge the sheet with this preset's key settings.")
@click.option("--crop", help="Judge only this part of the webcam frame, LEFT,TOP,RIGHT,BOTTOM (as render's --crop).")
@click.option("--backdrop", type=click.Choice(field_spec(KeySettings, "screen")["choices"]),
              help="Colour of the sheet, as render's --backdrop [default: the preset's, else green].")
def check_command(
    speaker: Path,
    screen: Path | None,
    output: Path | None,
    lang: str | None,
    as_json: bool,
    no_sheet: bool,
    preset: tuple[str, ...],
    crop: str | None,
    backdrop: str | None,
) -> None:
    """Check a short test recording of SPEAKER (and SCREEN) before recording the real thing.

    Looks at the sheet (light, folds, shadow, framing), the speaker (green spill, exposure,
    noise, motion blur or focus, automatic exposure, flicker), the sound (level, clipping, background noise) and
    the formats, and says per topic and overall whether it is good, usable or poor, with advice.
    Exit code 0 whatever the verdict (it is in the report); 1 if a recording cannot be read.

    \b
    Examples:
      greenscreen check test.mp4
      greenscreen check test.mp4 screen.mp4 --lang de -o report.png
    """
    lang = lang or language_from_locale()
    overrides: dict = {"layout": parse_crop(crop)}
    if backdrop is not None:
        overrides["key"] = {"screen": backdrop}
    settings = resolve_settings(preset, overrides)
    sheet_path = None
    sheet_skipped = None
    inputs = (speaker,) + ((screen,) if screen else ())
    if output is not None and not no_sheet:
        if output.suffix.lower() not in SHEET_FORMATS:
            raise click.BadParameter(
                f"the report sheet is a picture; name it .png or .jpg (got {output.suffix or 'no extension'!r})",
                param_hint="'-o'",
            )
        check_output_path(output, inputs)
        sheet_path = output
    elif not no_sheet:
        sheet_path = speaker.with_name(f"{speaker.stem}.check.png")
        try:
            check_output_path(sheet_path, inputs)
        except OutputError as exc:
            # Beside a recording on a read-only card or share: the report matters, the sheet less.
            sheet_path, sheet_skipped = None, str(exc)
    report = check_recording(speaker, screen, key=settings.key, crop=crop_of(settings))
    if sheet_path is not None:
        write_sheet(report, sheet_path, lang)
    if as_json:
        data = report.to_json(lang)
        data["report_sheet"] = str(sheet_path) if sheet_path else None
        click.echo(json.dumps(valid_json(data), ensure_ascii=False, indent=2, allow_nan=False))
    else:
        click.echo(report.to_text(lang))
        if sheet_path is not None:
            click.echo(("Berichtsbild: " if lang == "de" else "report sheet: ") + str(sheet_path))
    if sheet_skipped is not None:
        click.echo(f"warning: no report sheet written ({sheet_skipped}); give -o to write it elsewhere", err=True)
