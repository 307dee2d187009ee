"""Errors that tell the user what is wrong and with which file."""

from __future__ import annotations

from pathlib import Path


class GreenscreenError(Exception):
    """An error the user can act on. ``str()`` is one line naming the file and the problem."""

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


class MediaError(GreenscreenError):
    """A recording is missing, unreadable, corrupt or has no usable stream."""


class OutputError(GreenscreenError):
    """The output cannot be written where it was asked for."""


class SettingsError(GreenscreenError):
    """A preset or option holds an unknown key or a value out of range."""
