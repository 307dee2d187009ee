"""The ``greenscreen`` command line: a thin layer that collects options and calls the library.

Each command lives in its own module and registers itself on :data:`main`.
"""

from __future__ import annotations

import sys

import click

from greenscreen import __version__
from greenscreen.errors import GreenscreenError


class _Group(click.Group):
    """Turns library errors into one line and an exit code; a traceback only with ``--debug``."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except GreenscreenError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted: no output was written", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="greenscreen")
@click.option("--debug", is_flag=True, help="Show a full traceback when something fails.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Turn a webcam recording in front of a green sheet and a screen recording into a finished
    tutorial video.

    \b
    Quick start:
      greenscreen render speaker.mp4 screen.mp4 -o tutorial.mp4
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


# Commands register themselves on import.
from greenscreen.cli import render as _render  # noqa: E402,F401
from greenscreen.cli import presets as _presets  # noqa: E402,F401
from greenscreen.cli import batch as _batch  # noqa: E402,F401
from greenscreen.cli import preview as _preview  # noqa: E402,F401
from greenscreen.cli import key as _key  # noqa: E402,F401
