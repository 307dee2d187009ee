"""Atomic output: write to a temporary file beside the target, rename when complete."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from greenscreen.errors import OutputError, printable
from greenscreen.io.files import kind_of, name_bytes, name_max, os_reason, same_file


def is_null_device(path: Path) -> bool:
    """True if ``path`` is the null device (``/dev/null`` or another node of the same device).

    Writing there is how people time a render without keeping it, so it is written to for real
    (and never replaced by a regular file).
    """
    try:
        st, null = os.stat(path), os.stat(os.devnull)
    except (OSError, ValueError):
        return False
    return stat.S_ISCHR(st.st_mode) and stat.S_ISCHR(null.st_mode) and st.st_rdev == null.st_rdev


def companion_path(output: Path, suffix: str) -> Path:
    """Where a file that goes with ``output`` is written (its captions ``.vtt``, its poster
    ``.jpg``): beside it with ``suffix``, or for the null device the null device itself, so a
    timed render does that work too and creates nothing in ``/dev``."""
    return output if is_null_device(output) else output.with_suffix(suffix)


def _link_target(output: Path) -> Path:
    """The file a symbolic link ``output`` names, or ``output`` itself (also when it cannot be
    looked at, such as a name too long for the file system: the checks after say so)."""
    try:
        return Path(os.path.realpath(output)) if output.is_symlink() else output
    except OSError:
        return output


def check_output_path(output: Path, inputs: tuple[Path, ...] = ()) -> None:
    """Raise :class:`OutputError` if ``output`` cannot be written or would overwrite an input.

    The output is a new or an existing regular file, or the null device (see
    :func:`is_null_device`); an existing folder, named pipe, other device or socket is refused,
    never replaced.
    """
    if is_null_device(output):
        return
    output = _link_target(output)  # written through (see atomic_path): its target's folder counts
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError("output folder does not exist", folder)
    if not os.access(folder, os.W_OK):
        raise OutputError("output folder is not writable", folder)
    limit = name_max(folder)
    if name_bytes(output.name) > limit:
        raise OutputError(
            f"file name is too long ({name_bytes(output.name)} bytes; the file system allows {limit})",
            output,
        )
    try:
        st = os.stat(output)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"output {os_reason(exc)}", output) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError("output path is a folder, expected a file name", output)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise OutputError(
            f"output is {kind_of(st.st_mode)}, not a regular file; give a file name "
            f"(or {os.devnull} to discard the output)",
            output,
        )
    for source in inputs:
        with contextlib.suppress(OSError):
            if st is not None and output.samefile(source):
                raise OutputError("output would overwrite an input recording", output)
        # realpath, unlike Path.resolve, does not raise on a symlink loop (the input's own
        # check names that).
        if os.path.realpath(output) == os.path.realpath(source):
            raise OutputError("output would overwrite an input recording", output)


WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})
"""Errors only writing can cause: a full disk or quota, a file too large for the file system, a
file system that became read-only. Reading an input never raises these, so inside the atomic
writers they always mean the output."""


def _output_error(exc: BaseException, output: Path) -> OutputError | None:
    """The :class:`OutputError` for a failed write of ``output``, or None if ``exc`` is not one."""
    if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
        return OutputError(f"cannot write the output ({os.strerror(exc.errno)})", output)
    return None


TEMP_RANDOM = 8
"""Characters of the random part :mod:`tempfile` puts in a temporary name."""


def temp_affixes(folder: Path, stem: str, suffix: str) -> tuple[str, str]:
    """``(prefix, suffix)`` of a temporary file or folder written in ``folder`` before the
    output named ``stem`` + its extension.

    The name is ``.STEM.<random><suffix>`` (``suffix`` such as ``.partial.mp4``), hidden and
    recognisable. A stem too long for the file system's name limit together with the rest is
    cut and given a hash of the whole stem, so a valid output name always has a valid
    temporary name (and two long names that differ only at the end still differ).
    """
    limit = name_max(folder)
    fixed = 2 + TEMP_RANDOM  # the leading dot, the dot after the stem, the random part
    if name_bytes(stem) + name_bytes(suffix) + fixed <= limit:
        return f".{stem}.", suffix
    if name_bytes(suffix) > limit // 4:  # an absurd extension: the muxer is named explicitly anyway
        suffix = ".partial"
    digest = hashlib.sha256(os.fsencode(stem)).hexdigest()[:8]
    budget = limit - fixed - name_bytes(suffix) - len(digest) - 1
    short = stem
    while short and name_bytes(short) > budget:
        short = short[:-1]
    return f".{short}~{digest}.", suffix


def side_file(output: Path, suffix: str) -> Path:
    """A hidden file beside ``output`` that belongs to it, ``.NAME.EXT<suffix>`` (a fingerprint,
    a progress file); cut and hashed like :func:`temp_affixes` if that would be too long."""
    folder = output.parent if str(output.parent) else Path(".")
    prefix, suffix = temp_affixes(folder, output.name, suffix)
    return output.with_name(prefix[:-1] + suffix)


def temp_pattern(output: Path) -> re.Pattern[str]:
    """Matches the names of :func:`atomic_path`'s temporary files for ``output`` (to clean up
    after a worker that was killed before it could)."""
    folder = output.parent if str(output.parent) else Path(".")
    prefix, suffix = temp_affixes(folder, output.stem, f".partial{output.suffix}")
    # The random part never holds a dot, so output "a" never matches "a.b"'s files.
    return re.compile(re.escape(prefix) + r"[^.]+" + re.escape(suffix))


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is set back at once)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


@contextlib.contextmanager
def atomic_path(output: Path) -> Iterator[Path]:
    """Yield a temporary path in ``output``'s folder; rename it to ``output`` on success.

    On any exception (including ``KeyboardInterrupt``) the temporary file is removed and an existing
    ``output`` is left untouched. The temporary name keeps the suffix so muxers pick the right
    container. An ``output`` that is a symbolic link is written through: the file it points to
    is replaced (in that file's folder) and the link stays, as ffmpeg and editors do.
    """
    if is_null_device(output):
        # Written to for real (timing a render); renaming over it would replace the device.
        yield output
        return
    # A link such as "latest.mp4" kept pointing at this week's file: renaming over the link
    # would turn it into a copy of its own and leave the file it named as it was.
    output = _link_target(output)
    folder = output.parent if str(output.parent) else Path(".")
    prefix, suffix = temp_affixes(folder, output.stem, f".partial{output.suffix}")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    except OSError as exc:  # a read-only file system, a full disk, a folder we may not write
        raise OutputError(f"cannot create a file in the output folder ({exc.strerror})", folder) from None
    tmp = Path(tmp_name)
    # The folder itself, held open: if it is moved while the file is written (a sync client, a
    # user tidying up), the temporary file is still found in it, and removed.
    folder_fd = _open_folder(folder)
    try:
        # Inside the try, so an interrupt (Ctrl-C, SIGTERM) this early still removes the file.
        os.close(fd)
        # mkstemp creates the file private (0600); give the output the permissions of a normal file.
        os.chmod(tmp, 0o666 & ~_umask())
        yield tmp
        os.replace(tmp, output)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            if folder_fd is not None:
                os.unlink(tmp.name, dir_fd=folder_fd)
            else:
                tmp.unlink()
        error = _output_error(exc, output) or _folder_gone(exc, folder, folder_fd, output)
        if error is not None:
            raise error from None
        raise
    finally:
        if folder_fd is not None:
            os.close(folder_fd)


def _open_folder(folder: Path) -> int | None:
    """A descriptor of ``folder`` for removing files in it by name wherever it moves (None where
    the system has none: Windows)."""
    if os.unlink not in os.supports_dir_fd:
        return None
    try:
        return os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None


def _folder_gone(exc: BaseException, folder: Path, folder_fd: int | None, output: Path) -> OutputError | None:
    """The :class:`OutputError` for a write that failed because ``folder`` was moved or deleted
    meanwhile (the muxer reopens its file by name to move the index to the front), else None."""
    if not isinstance(exc, FileNotFoundError):
        return None
    try:
        moved = folder_fd is not None and not os.path.samestat(os.fstat(folder_fd), os.stat(folder))
    except OSError:
        moved = True
    if not moved:
        return None
    return OutputError("the output folder was moved or deleted during the render; nothing was written", output)


def check_replaceable_folder(output: Path, replaceable: re.Pattern[str], inputs: tuple[Path, ...] = ()) -> None:
    """Raise :class:`OutputError` unless an existing folder at ``output`` may be replaced whole:
    every entry in it is a file whose name matches ``replaceable`` (what an earlier run wrote),
    none of them is one of ``inputs``, and it is not the current folder or one that holds it.
    Nothing to check if it does not exist.

    Replacing a folder deletes what it held; a user's own files (or the very recording being
    keyed) must never go with it.
    """
    if not output.is_dir() or is_null_device(output):
        return
    here = Path.cwd()
    if any(same_file(folder, output) for folder in (here, *here.parents)):
        raise OutputError("is the current folder (or holds it); give a new folder name", output)
    try:
        foreign = sorted(e.name for e in os.scandir(output) if not (replaceable.fullmatch(e.name) and e.is_file()))
    except OSError as exc:
        raise OutputError(f"output folder {os_reason(exc)}", output) from None
    foreign += sorted(p.name for p in inputs if same_file(Path(p).parent, output))
    if foreign:
        shown = ", ".join(printable(n) for n in foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise OutputError(
            f"folder already holds other files ({shown}) and would be replaced; give a new or empty folder",
            output,
        )


@contextlib.contextmanager
def atomic_dir(output: Path, replaceable: re.Pattern[str], inputs: tuple[Path, ...] = ()) -> Iterator[Path]:
    """Yield a temporary folder beside ``output``; on success it replaces ``output``.

    A folder of frames is only ever seen complete: an earlier folder at ``output`` is swapped out
    only after the new one is finished, and removed after the swap. It is replaced only if it
    holds nothing but files named like ``replaceable`` and none of ``inputs`` (see
    :func:`check_replaceable_folder`), checked on entry, before any work, and again before the
    swap; the new folder keeps its permissions.
    """
    import shutil

    if is_null_device(output):
        # Frames for the null device are made (timing a key) and thrown away.
        try:
            with tempfile.TemporaryDirectory(prefix="greenscreen-discard.") as discard:
                yield Path(discard)
        except OSError as exc:  # the temporary folder's disk is full
            error = _output_error(exc, output)
            if error is not None:
                raise error from None
            raise
        return
    check_replaceable_folder(output, replaceable, inputs)
    parent = output.parent if str(output.parent) else Path(".")
    prefix, suffix = temp_affixes(parent, output.name, ".partial")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot create a folder in the output folder ({exc.strerror})", parent) from None
    try:
        # mkdtemp makes the folder private (0700): give it the old folder's permissions, or a
        # new folder's.
        os.chmod(tmp, stat.S_IMODE(os.stat(output).st_mode) if output.is_dir() else 0o777 & ~_umask())
        yield tmp
        old = None
        if output.exists():
            # Checked again: files may have been put there while the frames were written.
            check_replaceable_folder(output, replaceable, inputs)
            old = Path(tempfile.mkdtemp(prefix=prefix, suffix=".old", dir=parent))
            os.replace(output, old / output.name)
        os.replace(tmp, output)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        error = _output_error(exc, output)
        if error is not None:
            raise error from None
        raise
