"""``greenscreen sync``: how the speaker's recording lines up with the screen recording by sound."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from greenscreen.cli.options import FiniteRange
from greenscreen.sync import MAX_OFFSET, best_guess, sync


@click.command("sync")
@click.argument("speaker", type=click.Path(path_type=Path))
@click.argument("screen", type=click.Path(path_type=Path))
@click.option("--max-offset", type=FiniteRange(1.0, 3600.0), default=MAX_OFFSET, show_default=True,
              help="Largest offset to search, in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def sync_command(speaker: Path, screen: Path, max_offset: float, as_json: bool) -> None:
    """Find the offset and clock drift between SPEAKER and SCREEN from their sound.

    Both must hear the same thing (the voice, or a clap at the start). Prints the offset (the
    value for --offset), the drift in ppm and a confidence from 0 to 1. Exit code 1 when no
    trustworthy match is found.

    \b
    Example:
      greenscreen sync speaker.mp4 screen.mp4
    """
    result = sync(speaker, screen, max_offset=max_offset)
    if as_json:
        click.echo(json.dumps({
            "offset": round(result.offset, 4),
            "drift_ppm": round(result.drift_ppm, 1),
            "confidence": round(result.confidence, 3),
            "usable": result.usable,
            "reason": result.reason,
        }))
    else:
        click.echo(f"offset:     {result.offset:+.3f} s")
        click.echo(f"drift:      {result.drift_ppm:+.0f} ppm")
        click.echo(f"confidence: {result.confidence:.2f}")
        if not result.usable:
            click.echo(f"warning: no trustworthy match ({result.reason}); set --offset by hand{best_guess(result)}",
                       err=True)
    if not result.usable:
        sys.exit(1)
