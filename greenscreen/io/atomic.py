"""Atomic output: write to a temporary file beside the target, rename when complete."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from greenscreen.errors import OutputError


def check_output_path(output: Path, inputs: tuple[Path, ...] = ()) -> None:
    """Raise :class:`OutputError` if ``output`` cannot be written or would overwrite an input."""
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError("output folder does not exist", folder)
    if not os.access(folder, os.W_OK):
        raise OutputError("output folder is not writable", folder)
    if output.is_dir():
        raise OutputError("output path is a folder, expected a file name", output)
    for source in inputs:
        with contextlib.suppress(OSError):
            if source.exists() and output.exists() and output.samefile(source):
                raise OutputError("output would overwrite an input recording", output)
        if output.resolve() == source.resolve():
            raise OutputError("output would overwrite an input recording", output)


@contextlib.contextmanager
def atomic_path(output: Path) -> Iterator[Path]:
    """Yield a temporary path in ``output``'s folder; rename it to ``output`` on success.

    On any exception (including ``KeyboardInterrupt``) the temporary file is removed and an existing
    ``output`` is left untouched. The temporary name keeps the suffix so muxers pick the right
    container.
    """
    folder = output.parent if str(output.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=f".partial{output.suffix}", dir=folder)
    tmp = Path(tmp_name)
    try:
        # Inside the try, so an interrupt (Ctrl-C, SIGTERM) this early still removes the file.
        os.close(fd)
        # mkstemp creates the file private (0600); give the output the permissions of a normal file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        yield tmp
        os.replace(tmp, output)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(output: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``output``; on success it replaces ``output``.

    A folder of frames is only ever seen complete: an earlier folder at ``output`` is swapped out
    only after the new one is finished, and removed after the swap.
    """
    import shutil

    parent = output.parent if str(output.parent) else Path(".")
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".partial", dir=parent))
    try:
        yield tmp
        old = None
        if output.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".old", dir=parent))
            os.replace(output, old / output.name)
        os.replace(tmp, output)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
