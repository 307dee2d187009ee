"""The code that runs in a worker process (local pool or Dask worker): render one tutorial.

Progress travels back through a small file beside the output (``.NAME.mp4.progress``) rather
than a queue: the output folder is shared by every worker anyway, so the same mechanism works
for a local process pool and for Dask workers on other machines, and needs no extra server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from greenscreen.batch.plan import Job, stop_path
from greenscreen.errors import GreenscreenError, unexpected_line
from greenscreen.io.atomic import temp_affixes, temp_pattern
from greenscreen.io.files import valid_json

Status = Literal["rendered", "skipped", "failed", "interrupted"]

PROGRESS_INTERVAL = 0.3
"""Seconds between progress-file updates: often enough for a live bar, rare enough for a share."""

_local_worker = False
"""True in a worker of greenscreen's own process pool (see :func:`init_local_worker`)."""


@dataclass
class JobOutcome:
    """What happened to one tutorial; sent back from the worker, so plain data only."""

    name: str
    status: Status
    reason: str = ""
    seconds: float = 0.0
    output: str = ""
    duration: float = 0.0
    """Seconds of video written."""
    notes: list[str] = field(default_factory=list)
    host: str = ""
    detail: str = ""
    """A traceback for unexpected errors (shown with --debug, kept in report.json)."""
    inputs: dict[str, str] = field(default_factory=dict)
    """Role (speaker, screen, plate) -> recording; filled in by the runner for the report."""
    loudness: dict[str, Any] = field(default_factory=dict)
    """EBU R128 figures of the soundtrack ``before`` and ``after`` normalising."""
    sync: dict[str, Any] = field(default_factory=dict)
    """How the recordings were lined up by sound (offset, drift_ppm, confidence, used), if they were."""
    check: dict[str, Any] = field(default_factory=dict)
    """With ``batch --check``: the check's verdict and its poor topics (see :func:`check_summary`)."""


def write_json_atomic(path: Path, data: Any, *, durable: bool = True) -> None:
    """Write JSON to a temp file in the same folder, then rename: readers never see half a file.

    ``durable`` also flushes it to disk first (skipped for the throwaway progress files).
    The data is made valid for strict readers first (see :func:`valid_json`).
    """
    data = valid_json(json.loads(json.dumps(data, default=str)))
    prefix, suffix = temp_affixes(path.parent, path.name, ".partial")
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=False, default=str, allow_nan=False)
            f.write("\n")
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class BatchStopped(Exception):
    """The batch that gave this render asked it to stop (see :func:`stop_path`)."""


class ProgressFile:
    """Throttled ``{"done", "total", "pid", "host"}`` writes to the job's progress file.

    Each write first looks for the job's stop mark (``stop``) and raises :class:`BatchStopped`
    if the batch has put it there: the render then unwinds as on Ctrl-C, removing its
    temporary file. A batch stops its own workers with a signal; on a cluster this is the way.
    """

    def __init__(self, path: Path, stop: Path | None = None):
        self.path = path
        self.stop = stop
        self._last = 0.0
        self._host = socket.gethostname()

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < PROGRESS_INTERVAL:
            return
        self._last = now
        if self.stop is not None and self.stop.exists():
            raise BatchStopped
        with contextlib.suppress(OSError):  # progress is a nicety; never fail a render over it
            write_json_atomic(
                self.path, {"done": done, "total": total, "pid": os.getpid(), "host": self._host},
                durable=False,
            )

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()


def read_progress(path: Path) -> tuple[int, int] | None:
    """``(done, total)`` from a progress file, or None if there is none (yet)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return int(data["done"]), int(data["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_own_temp_files(job: Job) -> None:
    """Delete this job's render temp files (``.STEM.<random>.partial.mp4``).

    render() removes its temporary file itself when interrupted, except if the signal lands in
    the instant between the file's creation and the cleanup handler; this closes that gap. The
    batch also calls it for a job whose worker was killed outright. The
    pattern allows no dot in the random part, so tutorial "a" never touches "a.b"'s file.
    """
    pattern = temp_pattern(job.output)
    with contextlib.suppress(OSError):
        for entry in job.output.parent.iterdir():
            if pattern.fullmatch(entry.name):
                entry.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    with contextlib.suppress(OSError), open(path, "rb") as f:
        os.fsync(f.fileno())


def check_summary(job: Job) -> dict[str, Any]:
    """Check the tutorial's recordings: overall verdict, suggested crop and the poor topics."""
    from greenscreen.check import check_recording
    from greenscreen.compositor import crop_of

    report = check_recording(job.speaker, job.screen, key=job.settings.key, crop=crop_of(job.settings))
    data = report.to_json()
    poor = [
        f"{t['message']} ({t['advice']})" if t["advice"] else t["message"]
        for t in data["topics"] if t["verdict"] == "poor"
    ]
    return {"verdict": data["verdict"], "crop": data["crop"], "poor": poor}


def render_job(job: Job) -> JobOutcome:
    """Render one tutorial and record its fingerprint; never raises for a bad recording.

    The fingerprint is written only after :func:`greenscreen.pipeline.render` has renamed the
    finished file into place, so a crash in between just means the tutorial renders again.
    """
    from greenscreen.pipeline import render
    from greenscreen.sync import apply_sync

    started = time.monotonic()
    host = socket.gethostname()
    progress = ProgressFile(job.progress_file, stop_path(job.output))
    try:
        progress.update(0, 0)  # tells the batch this job is running
        settings, notes, synced = job.settings, [], {}
        checked = check_summary(job) if job.check else {}
        if job.sync_by_sound:
            settings, found, message = apply_sync(job.speaker, job.screen, settings, in_batch=True)
            if message:
                notes.append(message.removeprefix("warning: "))
            if not found.no_track:
                synced = {
                    "offset": settings.timeline.offset, "drift_ppm": settings.timeline.drift,
                    "confidence": round(found.confidence, 3), "used": found.usable,
                    # What was found though not used, for an admin to check and pass on.
                    "found_offset": round(found.offset, 4),
                }
        edit = job.edit
        progress.update(0, 0)  # stopped during the check or the sound sync: do not start
        result = render(
            job.speaker, job.screen, job.output, settings, plate=job.plate, captions=job.captions,
            caption_language=edit.caption_language, cuts=edit.cuts, chapters=edit.chapters,
            redactions=edit.redactions, lower_thirds=edit.lower_thirds, logo=edit.logo,
            card_image=edit.card_image, segments=edit.segments,
            progress=progress.update,
        )
        # On disk before the fingerprint says it is done: after a power cut, a fingerprint
        # never vouches for an output whose data did not reach the disk.
        _fsync(job.output)
        st = job.output.stat()
        record = dict(job.record)
        record["output"] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
        record["rendered_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        record["rendered_on"] = host
        if synced:
            record["sync"] = synced
        write_json_atomic(job.sidecar, record)
        return JobOutcome(
            job.name, "rendered", seconds=round(time.monotonic() - started, 2), output=str(job.output),
            duration=result.duration, notes=notes + [f"warning: {w}" for w in result.warnings] + result.notes,
            host=host, sync=synced, check=checked,
            loudness={
                moment: loudness.as_dict()
                for moment, loudness in (("before", result.loudness_before), ("after", result.loudness_after))
                if loudness is not None
            },
        )
    except GreenscreenError as exc:
        return JobOutcome(job.name, "failed", str(exc), round(time.monotonic() - started, 2), host=host)
    except BatchStopped:
        remove_own_temp_files(job)
        return JobOutcome(job.name, "interrupted", "the batch was stopped", round(time.monotonic() - started, 2),
                          host=host)
    except (KeyboardInterrupt, SystemExit):
        # render() has removed its temporary file on the way out. In our own pool the worker is
        # being shut down: leave at once instead of taking the next job.
        if _local_worker:
            progress.remove()
            remove_own_temp_files(job)
            os._exit(130)
        raise
    except Exception as exc:  # a bug, not bad input: keep the batch going, keep the traceback
        return JobOutcome(
            job.name, "failed", unexpected_line(exc),
            round(time.monotonic() - started, 2), host=host, detail=traceback.format_exc(),
        )
    finally:
        progress.remove()


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def init_local_worker() -> None:
    """Initializer of greenscreen's local pool workers.

    * Ctrl-C is handled by the batch process, which stops the workers with SIGTERM; the worker
      ignores SIGINT so a job is not half-interrupted twice.
    * SIGTERM unwinds the render (removing its temporary file) and ends the process.
    * On Linux the worker gets SIGTERM when the batch process dies, even by ``kill -9``, so no
      orphaned render keeps running (and writing) after the batch is gone.
    """
    global _local_worker
    _local_worker = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_exit)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() == 1:  # the parent died before prctl took effect
                os._exit(1)
