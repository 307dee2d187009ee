"""What kind of thing a path names, checked before anything opens it.

Every input (recordings, plates, images, presets, settings files) goes through
:func:`check_input_file` before it is opened: opening a named pipe blocks until someone writes
to it, which would hang a render or a batch forever with no output, and a device or socket is
never a recording. A symlink loop or an over-long name fails here, with one clear line, instead
of deep inside a library.
"""

from __future__ import annotations

import errno
import math
import os
import stat
from pathlib import Path
from typing import Any

from greenscreen.errors import GreenscreenError, MediaError

NAME_MAX_FALLBACK = 255
"""Bytes in one file name on every common file system (ext4, XFS, Btrfs, APFS, NTFS in UTF-16
units); used when the file system cannot be asked."""


def kind_of(mode: int) -> str:
    """A short description of a ``st_mode`` that is not a regular file ("a named pipe (FIFO)")."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def os_reason(exc: OSError) -> str:
    """A user-facing reason for an ``OSError`` met while looking at a path."""
    if exc.errno == errno.ELOOP:
        return "is a symlink loop (a link that points back to itself)"
    if exc.errno == errno.ENAMETOOLONG:
        return "file name is too long for the file system"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "file not found"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "file is not readable (permission denied)"
    return f"cannot be read ({exc.strerror or type(exc).__name__})"


def check_input_file(
    path: str | Path, *, what: str = "video file", error: type[GreenscreenError] = MediaError
) -> os.stat_result:
    """Return the ``stat`` of ``path`` if it is a regular file (symlinks followed); else raise
    ``error`` (a :class:`MediaError` by default) with one line naming the file and the problem.

    ``what`` names what was expected ("video file", "image", "preset file") in the message.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT and os.path.lexists(path):
            raise error("is a broken link (what it points to does not exist)", path) from None
        raise error(os_reason(exc), path) from None
    except ValueError:  # an embedded NUL byte: no file can have that name
        raise error("file not found", path) from None
    expected = f"expected {'an' if what[:1].lower() in 'aeiou' else 'a'} {what}"
    if stat.S_ISDIR(st.st_mode):
        raise error(f"is a folder, {expected}", path)
    if not stat.S_ISREG(st.st_mode):
        raise error(f"is {kind_of(st.st_mode)}, not a regular file; {expected}", path)
    return st


def name_max(folder: str | Path) -> int:
    """The longest file name, in bytes, that ``folder``'s file system allows."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):  # Windows has no pathconf; odd mounts
        return NAME_MAX_FALLBACK


def name_bytes(name: str) -> int:
    """Length of a file name as the file system counts it (bytes, UTF-8 as Linux stores it)."""
    return len(os.fsencode(name))


def valid_text(text: str) -> str:
    """``text`` as valid Unicode: the undecodable bytes of a name that is not UTF-8 (kept as
    lone surrogates) become U+FFFD, as a file manager shows them; so does a lone surrogate that
    a Windows file name may hold."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


def valid_json(data: Any) -> Any:
    """``data`` (JSON-like) made fit for strict JSON readers (``jq``, browsers' ``JSON.parse``):
    every string valid Unicode (a file name that is not UTF-8 keeps its undecodable bytes as
    lone surrogates; they become U+FFFD, as a file manager shows them), and a figure that could
    not be measured (NaN, infinity, which Python writes as the invalid ``NaN``) ``null``."""
    if isinstance(data, str):
        return valid_text(data)
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {valid_json(k): valid_json(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [valid_json(v) for v in data]
    return data


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` and ``b`` are the same file or folder as the file system sees them: through
    "..", links, and the letter case of a case-insensitive disk (macOS, a USB stick, a share),
    which comparing resolved names misses. False if either does not exist."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False
