"""The ``greenscreen`` command line: a thin layer that collects options and calls the library.

Each command lives in its own module, imported only when that command runs: a render should
not pay for importing batch's process pools (startup time is part of every render's time).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading

import click

from greenscreen import __version__
from greenscreen.errors import GreenscreenError, SettingsError, unexpected_line


EXIT_ERROR = 1
"""Exit code for bad input (a file, an output path) and for unexpected errors."""
EXIT_SETTINGS = 2
"""Exit code for usage and settings errors (click's own usage errors exit 2 as well)."""

#: Command name -> (module, attribute), in the order ``--help`` lists them.
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("greenscreen.cli.render", "render_command"),
    "batch": ("greenscreen.cli.batch", "batch_command"),
    "check": ("greenscreen.cli.check", "check_command"),
    "sync": ("greenscreen.cli.sync", "sync_command"),
    "key": ("greenscreen.cli.key", "key_command"),
    "preview": ("greenscreen.cli.preview", "preview_command"),
    "presets": ("greenscreen.cli.presets", "presets_group"),
}


def _debug(ctx: click.Context) -> bool:
    """Whether ``--debug`` was given (``main`` stores it)."""
    return bool(ctx.obj and ctx.obj.get("debug"))


#: What a command stopped by Ctrl-C leaves, where it is not "no output was written" (every
#: output is written whole or not at all).
_INTERRUPTED = {"preview": "the preview was closed; presets saved with 's' are kept"}


class _Group(click.Group):
    """Loads commands on demand; turns every error into one line and an exit code (1 for bad
    input, 2 for settings, 1 and "unexpected error" for anything else), with a traceback only
    with ``--debug``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name]
        return getattr(importlib.import_module(module), attribute)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except GreenscreenError as exc:
            if _debug(ctx):
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_SETTINGS if isinstance(exc, SettingsError) else EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo(f"interrupted: {_INTERRUPTED.get(ctx.invoked_subcommand, 'no output was written')}", err=True)
            sys.exit(interrupted_exit_code())
        except click.UsageError as exc:
            # One line like every other error, instead of click's usage banner.
            where = (exc.ctx or ctx).command_path
            click.echo(f"error: {exc.format_message()} (see '{where} --help')", err=True)
            sys.exit(EXIT_SETTINGS)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # --help, --version and click's other exits print what they need themselves
        except BrokenPipeError:
            sys.exit(EXIT_ERROR)  # `greenscreen presets list | head -1`: nobody is reading
        except Exception as exc:
            # The last resort: whatever slipped past the checks still ends in one line.
            if _debug(ctx):
                raise
            click.echo(f"error: {unexpected_line(exc)}", err=True)
            sys.exit(EXIT_ERROR)


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
    _standard_streams_open()
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    global _stopped_by
    _stopped_by = int(signal.SIGINT)  # a fresh command (main may be called again in one process)
    _stop_cleanly_on_signals()


def _standard_streams_open() -> None:
    """Give a closed standard stream a sink. A job started with its output closed (``2>&-``,
    as some service managers and cron setups start them) gets ``sys.stderr = None``, and the
    first progress bar or message failed: the command rendered nothing and said nothing.

    The null device is put on the stream's own descriptor (1 or 2), where FFmpeg's and x264's
    C code writes too: a file opened later would otherwise get that number and their lines."""
    for fd, name in ((1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is None:
            null = os.open(os.devnull, os.O_WRONLY)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            setattr(sys, name, open(fd, "w", encoding="utf-8", closefd=False))  # noqa: SIM115 (for the process's life)


_stopped_by = int(signal.SIGINT)
"""The signal that stopped the command (Ctrl-C's unless a handler below saw another)."""


def _raise_interrupt(signum: int, frame: object) -> None:
    global _stopped_by
    _stopped_by = signum
    raise KeyboardInterrupt


def interrupted_exit_code() -> int:
    """The exit code of a command that was stopped: 128 plus the signal's number, as a shell
    reports a process the signal ended (130 for Ctrl-C, 143 for ``kill``, 129 for a closed
    terminal), so scripts see what stopped it."""
    return 128 + _stopped_by


def run() -> None:
    """The ``greenscreen`` program: :func:`main`, and a command stopped by a signal (Ctrl-C,
    ``kill``, a closed terminal) ends by that same signal once it has cleaned up.

    A shell tells a program that was killed from one that exited with 130 by itself: a loop
    such as ``for f in *.mp4; do greenscreen render ...; done`` stops at Ctrl-C only when the
    program died of the SIGINT, and went on with the next file after an exit. The shell still
    shows 128 plus the signal's number as the exit status. ``main`` itself keeps exiting
    (tests and apps call it in their own process).
    """
    try:
        main(prog_name="greenscreen")
    except SystemExit as exc:
        stopped = _stopped_by
        if exc.code == interrupted_exit_code() and hasattr(signal, "SIGHUP"):  # not on Windows
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):  # `| tee` that Ctrl-C ended too
                    stream.flush()
            signal.signal(stopped, signal.SIG_DFL)
            os.kill(os.getpid(), stopped)
        raise


def _stop_cleanly_on_signals() -> None:
    """Make ``kill PID`` and a closed terminal stop a command the way Ctrl-C does.

    Their default action ends the process on the spot, leaving a temporary file behind and, in a
    batch, workers without a report; as an interrupt, every ``atomic_path`` removes its file.
    A signal the caller chose to ignore (``nohup`` ignores SIGHUP) stays ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # called from a thread (a test's CliRunner, an app): signals are the app's business
    for name in ("SIGTERM", "SIGHUP"):  # Windows has no SIGHUP
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) == signal.SIG_DFL:
            signal.signal(number, _raise_interrupt)

