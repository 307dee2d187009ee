"""Errors that tell the user what is wrong and with which file."""

from __future__ import annotations

from pathlib import Path

UNEXPECTED = "unexpected error"
"""Opens the one line the command line prints for an exception that is not a
:class:`GreenscreenError`: a bug, or a bad input that slipped past every check. The test
suite fails any test whose command prints it (see ``tests/conftest.py``), so each bad input
the suite knows gets its own message instead."""


def unexpected_line(exc: BaseException) -> str:
    """One line for an unexpected exception: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__
    return f"{UNEXPECTED} ({detail}); run with --debug for details"


def printable(text: str | Path) -> str:
    """``text`` (a file name) safe to print on one line: control characters such as a newline
    escaped (``\\n``), bytes that are not UTF-8 shown as ``\\xff``; everything else as it is."""
    out = []
    for c in str(text):
        if c.isprintable():
            out.append(c)
        elif 0xDC80 <= ord(c) <= 0xDCFF:  # an undecodable byte, as os.fsdecode keeps it
            out.append(f"\\x{ord(c) - 0xDC00:02x}")
        else:
            out.append(c.encode("unicode_escape").decode("ascii"))
    return "".join(out)


class GreenscreenError(Exception):
    """An error the user can act on. ``str()`` is one line naming the file and the problem."""

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        self.message = message
        super().__init__(f"{printable(self.path)}: {message}" if self.path is not None else message)


class MediaError(GreenscreenError):
    """A recording is missing, unreadable, corrupt or has no usable stream."""


class OutputError(GreenscreenError):
    """The output cannot be written where it was asked for."""


class SettingsError(GreenscreenError):
    """A preset or option holds an unknown key or a value out of range."""
