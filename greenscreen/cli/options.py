"""Click options generated from the settings schema, so ranges and help are written once.

The commands that key or render share their option definitions from here, so the same words
mean the same thing everywhere: ``preview`` takes exactly the settings options of ``render``
(a render's command line with ``render ... -o OUT`` swapped for ``preview`` shows the frames
that render writes), and ``key`` takes its presets, plate, crop and key options.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from greenscreen.composite.lower_third import LowerThird
from greenscreen.composite.redact import Redaction
from greenscreen.config import RenderSettings
from greenscreen.edit import Edit
from greenscreen.errors import SettingsError
from greenscreen.plan import Chapter, Cut, Segment, check_cuts, check_segments
from greenscreen.presets import SettingsLayer, layered_settings
from greenscreen.settings import parse_clock

CROP_FIELDS = ("crop_left", "crop_top", "crop_right", "crop_bottom")


class _WithAliases(click.ParamType):
    """A number option that also takes the words its setting declares (``--loudness off``)."""

    def __init__(self, base: click.ParamType, aliases: dict[str, Any]):
        self.base, self.aliases = base, aliases
        self.name = f"{base.name}|{'|'.join(aliases)}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.lower() in self.aliases:
            return self.aliases[value.lower()]
        return self.base.convert(value, param, ctx)


class FiniteRange(click.FloatRange):
    """click's FloatRange without NaN and infinity, which it lets through (``nan`` compares
    false with both ends of the range)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


def _click_type(cls: type, f: dataclasses.Field) -> Any:
    meta = f.metadata
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    base: click.ParamType
    if meta.get("choices"):
        base = click.Choice(meta["choices"])
    elif kind == "float":
        base = FiniteRange(meta.get("min"), meta.get("max"))
    elif kind == "int":
        base = click.IntRange(meta.get("min"), meta.get("max"))
    elif kind == "bool":
        base = click.BOOL
    else:
        base = click.STRING
    if meta.get("clock"):
        return _Clock(base)
    return _WithAliases(base, meta["aliases"]) if meta.get("aliases") else base


class _Clock(click.ParamType):
    """Seconds, or a time as on a player's clock (``1:20.5``, ``1:02:03``), within the range."""

    def __init__(self, base: click.ParamType):
        self.base = base
        self.name = "SECONDS|[H:]M:S"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            seconds = parse_clock(value)
            if seconds is None:
                self.fail(f"{value!r} is neither seconds nor a time such as 1:20.5", param, ctx)
            value = seconds
        return self.base.convert(value, param, ctx)


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
    return layered_settings(presets, [SettingsLayer(overrides, "command line")])


def parse_crop(value: str | None) -> dict[str, int]:
    """``--crop LEFT,TOP,RIGHT,BOTTOM`` as layout overrides (empty if not given)."""
    if not value:
        return {}
    parts = value.replace(":", ",").split(",")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) != 4 or min(numbers) < 0:
        raise SettingsError(f"--crop takes LEFT,TOP,RIGHT,BOTTOM in pixels, got {value!r}")
    return dict(zip(CROP_FIELDS, numbers))


def parse_size(value: str | None) -> dict[str, int]:
    """``--size WIDTHxHEIGHT`` as timeline overrides (empty if not given)."""
    if not value:
        return {}
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise SettingsError(f"--size takes WIDTHxHEIGHT such as 1920x1080, got {value!r}") from None
    return {"width": w, "height": h}


def _stack(*decorators: Callable[[Callable], Callable]) -> Callable[[Callable], Callable]:
    """Apply ``decorators`` as if written one above the other in this order."""

    def decorate(command: Callable) -> Callable:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return decorate


preset_option = click.option(
    "-p",
    "--preset",
    "preset",
    multiple=True,
    help="Preset name or .toml file (see 'greenscreen presets list'); repeat to combine, later wins.",
)
plate_option = click.option(
    "--plate",
    type=click.Path(path_type=Path),
    help="A few seconds of video (or a photo) of the empty sheet, same camera and light: a cleaner key.",
)
crop_option = click.option(
    "--crop", help="Garbage matte: pixels to cut from the webcam frame, LEFT,TOP,RIGHT,BOTTOM."
)


def _parsed(parse: Callable[[str], Any], check: Callable[[tuple[Any, ...]], None] | None = None) -> Callable:
    """A click callback that turns each value of a repeatable option into an object with
    ``parse`` (and ``check`` the lot), a mistake becoming a usage error (exit 2)."""

    def callback(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[Any, ...]:
        try:
            parsed = tuple(parse(value) for value in values)
            if check is not None:
                check(parsed)
        except SettingsError as exc:
            raise click.BadParameter(str(exc), ctx, param) from None
        return parsed

    return callback


cut_option = click.option(
    "--cut", "cuts", multiple=True, callback=_parsed(Cut.parse, check_cuts), metavar="START-END",
    help="Take START-END out of both recordings (seconds or 1:20.5, on the screen recording's "
    "clock); repeat for more cuts. Sound and captions stay in sync.",
)
chapter_option = click.option(
    "--chapter", "chapters", multiple=True, callback=_parsed(Chapter.parse), metavar='"TIME TITLE"',
    help='A chapter of the MP4, e.g. "1:20 Passwort ändern" (time on the screen recording\'s clock, '
    "as --cut); repeat for more. Title and outro cards get chapters of their own.",
)
redact_option = click.option(
    "--redact", "redactions", multiple=True, callback=_parsed(Redaction.parse), metavar="X,Y,W,H[@START-END]",
    help="Make a rectangle of the screen recording unreadable (its own pixels; from START to END on "
    "its clock, else throughout), e.g. 1200,80,400,40@0:10-0:25; repeat for more.",
)

lower_third_option = click.option(
    "--lower-third", "lower_thirds", multiple=True, callback=_parsed(LowerThird.parse),
    metavar="NAME|ROLE@START-END",
    help="Show a name and role at the bottom for a while, e.g. 'Maria Muster|IT-Service@0:02-0:08' "
    "(times on the screen recording's clock); repeat for more.",
)
speaker_name_option = click.option(
    "--speaker-name", callback=lambda ctx, param, value: _parsed(LowerThird.parse)(ctx, param, (value,))[0]
    if value else None, metavar="NAME|ROLE",
    help="Introduce the speaker: name and role in a lower third for the first seconds they show in "
    "a window, e.g. 'Maria Muster|IT-Service'.",
)

def _segments_apart(segments: tuple[Segment, ...]) -> None:
    problems = check_segments(segments)
    if problems:
        raise SettingsError("; ".join(problems))


segment_option = click.option(
    "--segment", "segments", multiple=True, callback=_parsed(Segment.parse, _segments_apart),
    metavar="START-END=LAYOUT[,KEY=VALUE...]",
    help="Show START-END (on the screen recording's clock) in another layout: full, pip, circle, "
    "side-by-side or screen (no speaker), e.g. 0:00-0:12=full or "
    "0:12-1:30=pip,corner=top-left,transition=crossfade; the keys of the edit file's [[segment]]. "
    "Repeat for more; elsewhere the --layout applies.",
)

edit_option = click.option(
    "--edit", "edit_file", type=click.Path(path_type=Path),
    help="An edit file (TOML): cards, cuts, chapters, redactions, lower thirds, logo, captions "
    "(see samples/edit.toml); options given here add to it or win over it.",
)

logo_option = click.option(
    "--logo", type=click.Path(path_type=Path),
    help="An image (PNG transparency kept) shown in a top corner throughout, away from the speaker.",
)

captions_options = _stack(
    click.option(
        "--captions", type=click.Path(path_type=Path),
        help="Captions (.srt or .vtt, timed like the speaker recording): a subtitle track in the MP4 "
        "and OUTPUT.vtt beside it for web players.",
    ),
    click.option(
        "--caption-language", metavar="CODE",
        help="Language of the captions (de, en, deu, ...) [default: from the file name, talk.de.srt].",
    ),
    click.option(
        "--burn-captions", is_flag=True, default=None,
        help="Also draw the --captions into the picture (open captions), beside the speaker's window.",
    ),
)

card_image_option = click.option(
    "--card-image", type=click.Path(path_type=Path),
    help="A picture for the title and outro cards' background (scaled to cover, veiled with the card colour).",
)

render_settings_options = _stack(
    preset_option,
    edit_option,
    plate_option,
    crop_option,
    cut_option,
    chapter_option,
    redact_option,
    lower_third_option,
    speaker_name_option,
    segment_option,
    logo_option,
    card_image_option,
    captions_options,
    click.option("--size", "out_size", help="Output size WIDTHxHEIGHT [default: the screen recording's]."),
    settings_options("layout", names={"size": "speaker_size"}, skip=CROP_FIELDS),
    settings_options("timeline", skip=("width", "height")),
    settings_options("encode", names={"preset": "encoder_preset"}),
    settings_options("sound"),
    # --burn-captions is a flag of its own (it needs --captions), not a true/false option.
    settings_options("captions", names={"size": "caption_size"}, skip=("burn",)),
    settings_options("cards", names={
        "title": "title_card", "seconds": "card_seconds", "fade": "card_fade",
        "background": "card_background", "color": "card_color", "speaker": "speaker_intro",
    }),
    settings_options("key", names={"screen": "backdrop"}),
)
"""Every option that decides what a render shows and writes: ``-p/--preset`` (repeatable),
``--plate``, ``--crop``, ``--size`` and one option per setting. The command receives
``preset``, ``plate``, ``crop``, ``out_size`` and the settings in ``**params``; pass them to
:func:`render_settings_from`."""


def render_settings_from(
    preset: tuple[str, ...], crop: str | None, out_size: str | None, params: dict[str, Any],
    edit: Edit | None = None,
) -> RenderSettings:
    """The settings the options of :data:`render_settings_options` ask for: defaults < presets
    < the edit file's sections < options on the command line."""
    overrides = overrides_from(params)
    overrides.setdefault("layout", {}).update(parse_crop(crop))
    overrides.setdefault("timeline", {}).update(parse_size(out_size))
    layers = [edit.layer()] if edit is not None else []
    return layered_settings(preset, [*layers, SettingsLayer(overrides, "command line")])


def with_edit(edit: Edit, params: dict[str, Any]) -> dict[str, Any]:
    """The edit's cuts, chapters, redactions, lower thirds, segments, logo and captions joined with the
    same options given on the command line (lists add up; a file given there wins), as keyword
    arguments of :func:`~greenscreen.pipeline.render`. ``--burn-captions`` becomes the setting
    ``captions.burn`` in ``params``."""
    joined = {
        "cuts": (*edit.cuts, *params.pop("cuts", ())),
        "chapters": (*edit.chapters, *params.pop("chapters", ())),
        "redactions": (*edit.redactions, *params.pop("redactions", ())),
        "lower_thirds": (*edit.lower_thirds, *params.pop("lower_thirds", ()), *filter(None, [params.pop("speaker_name", None)])),
        "segments": (*edit.segments, *params.pop("segments", ())),
        "logo": params.pop("logo", None) or edit.logo,
        "card_image": params.pop("card_image", None) or edit.card_image,
        "captions": params.pop("captions", None) or edit.captions,
        "caption_language": params.pop("caption_language", None) or edit.caption_language,
    }
    if params.pop("burn_captions", None):
        if joined["captions"] is None:
            raise click.UsageError("--burn-captions draws the captions given with --captions; give that file too")
        params["captions__burn"] = True
    check_cuts(joined["cuts"])
    # Segments of the file against the options' are checked with the recordings (every problem at once).
    return joined


def timing_given(params: dict[str, Any], edit: Edit | None = None) -> bool:
    """Whether ``--offset`` or ``--drift`` was given, on the command line or in the edit file's
    ``[timeline]`` (then the recordings are not synced by sound)."""
    in_edit = edit is not None and any(k in edit.settings.get("timeline", {}) for k in ("offset", "drift"))
    return in_edit or any(params.get(f"timeline__{key}") is not None for key in ("offset", "drift"))
