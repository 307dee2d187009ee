"""Run a batch plan on a ``concurrent.futures.Executor``, keep the user informed, write the report.

The runner only needs ``submit`` and futures, so the same code drives a local process pool and a
Dask cluster (``distributed.Client.get_executor()``). Workers read the recordings and write the
outputs themselves; for a cluster that means every worker must see the recordings and output
folders at the same absolute paths (a network share mounted at the same place).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection as mp_connection
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from greenscreen import __version__
from greenscreen.batch.plan import REPORT_NAME, BatchPlan, Job, progress_path, sidecar_path, stop_path, why_render
from greenscreen.batch.worker import (
    JobOutcome,
    init_local_worker,
    read_progress,
    remove_own_temp_files,
    render_job,
    write_json_atomic,
)
from greenscreen.errors import GreenscreenError, printable
from greenscreen.io.atomic import temp_affixes

LOCK_NAME = ".greenscreen-batch.lock"
POLL_SECONDS = 0.25
REMOTE_STOP_SECONDS = 60.0
"""How long a stopped batch waits for the renders running on a cluster to stop."""
MAX_WORKER_CRASHES = 2
"""A job running in a worker that died this many times fails; fewer, and it is retried."""


def default_jobs() -> int:
    """Tutorials rendered at once by default: half the CPUs, since decoding and x264 already use
    several threads per render (see ``benchmarks/batch_throughput.py``)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus // 2)


# ---------------------------------------------------------------------------------------------
# Events for a front end (the CLI draws bars from them)
# ---------------------------------------------------------------------------------------------


@dataclass
class JobStarted:
    name: str


@dataclass
class JobProgress:
    name: str
    done: int
    total: int


@dataclass
class JobFinished:
    outcome: JobOutcome
    finished: int
    """How many tutorials have finished so far (of :attr:`total`)."""
    total: int


Event = JobStarted | JobProgress | JobFinished
EventCallback = Callable[[Event], None]


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


@dataclass
class BatchReport:
    """The outcome of a batch, as written to ``report.json``."""

    folder: Path
    output: Path
    outcomes: list[JobOutcome]
    unpaired: list[dict[str, Any]]
    unrecognised: list[dict[str, str]]
    started: str
    seconds: float = 0.0
    interrupted: bool = False
    executor: str = "local"
    jobs: int = 1
    report_error: str | None = None
    """Why ``report.json`` could not be written (a full disk), or None."""

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def exit_code(self) -> int:
        """0 if everything rendered or was up to date, 1 if anything failed, 130 if interrupted."""
        if self.interrupted:
            return 130
        return 1 if self.count("failed") or self.report_error else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "greenscreen": __version__,
            "folder": str(self.folder),
            "output": str(self.output),
            "started": self.started,
            "seconds": round(self.seconds, 2),  # wall time of the whole batch
            "executor": self.executor,
            "jobs": self.jobs,
            "interrupted": self.interrupted,
            "summary": {s: self.count(s) for s in ("rendered", "skipped", "failed", "interrupted")}
            | {"unpaired": len(self.unpaired), "unrecognised": len(self.unrecognised)},
            "poor_recordings": [o.name for o in self.outcomes if o.check.get("verdict") == "poor"],
            "tutorials": [asdict(o) for o in self.outcomes],
            "unpaired": self.unpaired,
            "unrecognised": self.unrecognised,
        }

    def write(self) -> Path:
        path = self.output / REPORT_NAME
        write_json_atomic(path, self.to_json())
        return path


def _leftovers(plan: BatchPlan) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    unpaired = [
        {
            "name": t.name,
            "found": sorted(str(p) for paths in t.files.values() for p in paths),
            "reason": t.problem() or "",
        }
        for t in plan.incomplete
    ]
    unrecognised = [{"path": str(u.path), "reason": u.reason} for u in plan.unrecognised]
    return unpaired, unrecognised


# ---------------------------------------------------------------------------------------------
# Output folder housekeeping
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder for the batch's lifetime.

    Two batches writing into one folder would re-render the same tutorials and delete each other's
    temporary files; the lock turns that into a clear error. The lock dies with the process, so a
    killed batch never leaves the folder locked.
    """
    path = output / LOCK_NAME
    try:
        f = open(path, "a+")  # noqa: SIM115 (closed below, after the lock is released)
    except OSError as exc:  # the first write into the folder: it takes no files (read-only, /proc)
        raise GreenscreenError(f"cannot write in the output folder ({exc.strerror})", output) from None
    with f:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks here; rely on the user
            yield
            return
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise GreenscreenError(
                "another greenscreen batch is writing to this folder; wait for it or pick another -o",
                output,
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def clean_stale_files(plan: BatchPlan) -> list[Path]:
    """Remove temporary, progress and stop files an interrupted run left behind; return them.

    Only hidden files that belong to this batch's tutorials (or its report) are touched, and only
    while :func:`output_lock` is held, so no running render can own them.
    """
    # Names as atomic.temp_affixes and side_file make them (long names are cut and hashed).
    prefixes = tuple(
        prefix
        for e in plan.entries
        for prefix in (
            temp_affixes(plan.output, e.output.stem, f".partial{e.output.suffix}")[0],
            temp_affixes(plan.output, sidecar_path(e.output).name, ".partial")[0],
        )
    ) + (f".{REPORT_NAME}.",)
    progress_files = {path(e.output).name for e in plan.entries for path in (progress_path, stop_path)}
    removed = []
    for entry in plan.output.iterdir():
        name = entry.name
        stale = name in progress_files or (name.startswith(prefixes) and ".partial" in name)
        if stale and entry.is_file():
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed


# ---------------------------------------------------------------------------------------------
# Executors
# ---------------------------------------------------------------------------------------------


def local_executor(jobs: int) -> ProcessPoolExecutor:
    """A process pool of ``jobs`` workers started with "spawn".

    Spawned workers start from a fresh interpreter: forking a process that already runs decoder
    and encoder threads (and PyAV's FFmpeg state) can deadlock.
    """
    return ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context("spawn"), initializer=init_local_worker
    )


def _stop_local_workers(executor: Executor) -> None:
    """SIGTERM our pool's workers so a running render unwinds and deletes its temporary file."""
    # ProcessPoolExecutor has no public way to stop a running task (terminate_workers() arrives
    # in Python 3.14), hence the private process table.
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(OSError, AttributeError):
            os.kill(process.pid, signal.SIGTERM)
    # Wait (briefly) until they have unwound, so their temporary files are gone when we report.
    deadline = time.monotonic() + 10
    for process in processes:
        with contextlib.suppress(AttributeError, ValueError):
            process.join(max(0.0, deadline - time.monotonic()))


def _end_broken_pool(executor: Executor, *, grace: float = 10.0) -> None:
    """Make sure every worker of a broken pool ends, so the pool's shutdown can join them.

    A broken pool SIGTERMs its surviving workers and then waits for them without a time limit.
    A worker sitting idle in the task queue sometimes survived that signal (3 batches in 12 hung
    there for good), so stragglers get ``grace`` seconds to unwind (a rendering worker deletes
    its temporary file) and are then killed. Exits are watched through the process sentinels,
    which never reap a process, so a pid is only signalled while its process still exists.
    """
    processes = list((getattr(executor, "_processes", None) or {}).values())
    if not processes:
        return
    deadline = time.monotonic() + grace
    waiting = {p.sentinel: p for p in processes}
    while waiting and time.monotonic() < deadline:
        for sentinel in mp_connection.wait(list(waiting), timeout=max(0.0, deadline - time.monotonic())):
            waiting.pop(sentinel, None)  # type: ignore[call-overload]
    for process in waiting.values():
        with contextlib.suppress(OSError, AttributeError):
            os.kill(process.pid, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------
# The run loop
# ---------------------------------------------------------------------------------------------


def run_plan(
    plan: BatchPlan,
    executor: Executor | None = None,
    *,
    jobs: int | None = None,
    on_event: EventCallback | None = None,
    executor_name: str = "local",
) -> BatchReport:
    """Render every ``render`` entry of ``plan``; return (and write) the :class:`BatchReport`.

    With ``executor`` None a local process pool of ``jobs`` workers is used (and recreated if a
    worker dies, so one crashed render does not take the others down). A ``KeyboardInterrupt``
    stops the workers, writes the report with the unfinished tutorials marked "interrupted" and
    returns; finished outputs and their fingerprints stay, so a rerun continues from there.
    """
    emit = on_event or (lambda event: None)
    jobs = jobs or default_jobs()
    plan.output.mkdir(parents=True, exist_ok=True)
    unpaired, unrecognised = _leftovers(plan)
    report = BatchReport(
        folder=plan.folder, output=plan.output, outcomes=[], unpaired=unpaired,
        unrecognised=unrecognised, started=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        executor=executor_name, jobs=jobs,
    )
    t0, started_wall = time.monotonic(), time.time()
    with output_lock(plan.output):
        clean_stale_files(plan)
        outcomes: dict[str, JobOutcome] = {}
        for entry in plan.entries:
            if entry.action == "skip":
                outcomes[entry.name] = JobOutcome(entry.name, "skipped", entry.reason, output=str(entry.output))
            elif entry.action == "fail":
                outcomes[entry.name] = JobOutcome(entry.name, "failed", entry.reason)
        to_render = [e.job for e in plan.entries if e.action == "render" and e.job is not None]
        total = len(plan.entries)
        finished = 0
        for entry in plan.entries:  # report skips and early failures first, in name order
            if entry.name in outcomes:
                finished += 1
                emit(JobFinished(outcomes[entry.name], finished, total))
        try:
            if to_render:
                own = executor is None
                runner = _Runner(to_render, outcomes, emit, total, jobs)
                if own:
                    runner.run_local()
                else:
                    runner.run_on(executor)
        except KeyboardInterrupt:
            report.interrupted = True
        for job in to_render:
            if job.name not in outcomes and _finished_during(job, started_wall):
                # Its worker put the output and fingerprint in place in the instant before the
                # stop reached it: the report must not call a finished tutorial interrupted.
                outcomes[job.name] = JobOutcome(job.name, "rendered", "finished as the batch was stopped",
                                                output=str(job.output))
            outcomes.setdefault(job.name, JobOutcome(job.name, "interrupted", "the batch was stopped"))
        report.outcomes = [outcomes[e.name] for e in plan.entries]
        for entry, outcome in zip(plan.entries, report.outcomes):
            outcome.inputs = {role: str(path) for role, path in entry.inputs.items()}
        report.seconds = time.monotonic() - t0
        try:
            report.write()
        except OSError as exc:
            # A full disk (the tutorials failing for it too): the summary is still worth printing.
            reason = exc.strerror or (os.strerror(exc.errno) if exc.errno else type(exc).__name__)
            report.report_error = f"{printable(report.output / REPORT_NAME)}: cannot write the report ({reason})"
    return report


def _outcome(future: Future, job: Job) -> JobOutcome:
    """The outcome of ``job``'s finished ``future``: what the worker returned, or a failure
    for a worker that raised (Dask's KilledWorker after its own retries). A broken local pool
    (BrokenProcessPool) is raised: the job is run again."""
    try:
        return future.result()
    except BrokenProcessPool:
        raise
    except Exception as exc:
        return JobOutcome(job.name, "failed", f"worker failed: {type(exc).__name__}: {exc}")


def _finished_during(job: Job, since: float) -> bool:
    """True if ``job``'s output is complete and its fingerprint was written after ``since``."""
    try:
        written = job.sidecar.stat().st_mtime
    except OSError:
        return False
    return written >= since and why_render(job.output, job.record) is None


class _Runner:
    """Submits jobs, polls progress files, collects outcomes."""

    def __init__(
        self, jobs: list[Job], outcomes: dict[str, JobOutcome], emit: EventCallback, total: int, width: int
    ):
        self.pending = list(jobs)
        self.outcomes = outcomes
        self.emit = emit
        self.total = total
        self.width = width
        self.crashes: dict[str, int] = {}
        self.anonymous_breaks = 0
        self.started: set[str] = set()
        self.last_progress: dict[str, tuple[int, int]] = {}

    def _finish(self, outcome: JobOutcome) -> None:
        crashes = self.crashes.get(outcome.name, 0)
        if crashes and outcome.status != "failed":
            outcome.notes.append(f"the worker process rendering it died {crashes} time(s); retried")
        self.outcomes[outcome.name] = outcome
        self.emit(JobFinished(outcome, len(self.outcomes), self.total))

    def _poll(self, running: dict[Future, Job]) -> None:
        for job in running.values():
            progress = read_progress(job.progress_file)
            if progress is None:
                continue
            if job.name not in self.started:
                self.started.add(job.name)
                self.emit(JobStarted(job.name))
            if progress != self.last_progress.get(job.name) and progress[1] > 0:
                self.last_progress[job.name] = progress
                self.emit(JobProgress(job.name, *progress))

    def _drain(self, executor: Executor, *, local: bool) -> bool:
        """Run the pending jobs on ``executor``; return False if a local pool broke."""
        running: dict[Future, Job] = {}
        # Keep at most `width` jobs submitted, so "running" means running and a broken pool
        # only affects the jobs that were really in flight.
        queue = list(self.pending)
        try:
            while queue or running:
                while queue and len(running) < self.width:
                    job = queue.pop(0)
                    running[executor.submit(render_job, job)] = job
                done, _ = wait(running, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                self._poll(running)
                broken = False
                for future in done:
                    job = running.pop(future)
                    try:
                        outcome = _outcome(future, job)
                    except BrokenProcessPool:
                        broken = True
                        queue.insert(0, job)
                        continue
                    self._finish(outcome)
                if broken and local:
                    for future in running:  # they all fail with the pool; run them again
                        future.cancel()
                    queue[:0] = [job for job in running.values() if job not in queue]
                    self.pending = queue
                    return False
            self.pending = []
            return True
        except KeyboardInterrupt:
            if local:
                for future in running:
                    future.cancel()
                _stop_local_workers(executor)
            else:
                self._stop_remote(running)
            raise

    def _stop_remote(self, running: dict[Future, Job]) -> None:
        """Stop the renders running on a cluster, whose workers no signal of ours reaches: put
        their stop marks beside their outputs (the shared folder) and wait up to
        :data:`REMOTE_STOP_SECONDS` for them to see one and unwind (another Ctrl-C stops the
        waiting). Without this they went on writing into the folder after the batch had
        reported them interrupted and let go of its lock. (Cancelling a Dask future does not
        stop a task that runs, and it makes waiting for one impossible: only what is left
        after the wait is cancelled, which keeps queued tasks from starting.) The marks of
        renders that have not stopped stay, so they stop whenever they see them; the next
        batch into the folder removes what is left."""
        marks = {future: stop_path(job.output) for future, job in running.items()}
        for mark in marks.values():
            with contextlib.suppress(OSError):
                mark.touch()
        done: set[Future] = set()
        try:
            done = wait(running, timeout=REMOTE_STOP_SECONDS).done
        except KeyboardInterrupt:
            pass
        for future, job in running.items():
            if future in done:
                self._finish(_outcome(future, job))
                with contextlib.suppress(OSError):
                    marks[future].unlink()
            else:
                future.cancel()
                self._finish(JobOutcome(
                    job.name, "interrupted",
                    "still rendering on the cluster when the batch stopped waiting for it; it stops when it "
                    "sees its stop mark, or its output may yet appear",
                ))

    def _handle_break(self) -> None:
        """A local worker died (killed, out of memory, crashed): the whole pool went with it.

        Call after the broken pool's workers have been joined. The pool stops the surviving
        workers with SIGTERM, and a stopped job removes its progress file on the way out, so a
        progress file still there marks the job whose worker died. That job gets another try in
        a fresh pool, up to :data:`MAX_WORKER_CRASHES` times (a recording that crashes the decoder
        must not stall the batch); the others are simply run again.
        """
        culprits = [job for job in self.pending if job.progress_file.exists()]
        for job in self.pending:
            self.started.discard(job.name)
        if not culprits:
            # Workers dying before they start a job (e.g. a broken installation): give up after
            # a few pools rather than loop forever.
            self.anonymous_breaks += 1
            if self.anonymous_breaks >= MAX_WORKER_CRASHES + 1:
                for job in self.pending:
                    self._finish(JobOutcome(job.name, "failed", "worker processes keep dying before they start"))
                self.pending = []
            return
        for job in culprits:
            job.progress_file.unlink(missing_ok=True)
            remove_own_temp_files(job)  # the dead worker could not
            self.crashes[job.name] = self.crashes.get(job.name, 0) + 1
            if self.crashes[job.name] >= MAX_WORKER_CRASHES:
                self.pending.remove(job)
                self._finish(JobOutcome(
                    job.name, "failed",
                    f"the worker process died {self.crashes[job.name]} times while rendering it "
                    "(killed, out of memory, or crashed)",
                ))

    def run_local(self) -> None:
        while self.pending:
            executor = local_executor(min(self.width, len(self.pending)))
            try:
                ok = self._drain(executor, local=True)
            except KeyboardInterrupt:
                executor.shutdown(wait=False, cancel_futures=True)
                raise
            if not ok:
                _end_broken_pool(executor)
            # After a break this joins the stopped workers, so they have cleaned up.
            executor.shutdown(wait=True, cancel_futures=True)
            if not ok:
                self._handle_break()

    def run_on(self, executor: Executor) -> None:
        self._drain(executor, local=False)


@contextlib.contextmanager
def dask_executor(address: str, *, wait_seconds: float = 60.0) -> Iterator[tuple[Executor, int]]:
    """Connect to the Dask scheduler at ``address``; yield ``(executor, worker threads)``.

    Dask is imported only here, so it stays an optional dependency. Tasks are submitted with
    ``pure=False``: rendering writes files, so Dask must run it every time it is asked, never
    hand back a remembered result.
    """
    try:
        from distributed import Client
    except ImportError:
        raise GreenscreenError(
            "--scheduler needs Dask: pip install 'greenscreen[cluster]'"
        ) from None
    try:
        client = Client(address, timeout=wait_seconds)
    except (OSError, TimeoutError, ValueError) as exc:  # ValueError: an address Dask cannot parse
        # (address is not passed as the error's path: Path() would turn tcp:// into tcp:/)
        raise GreenscreenError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
    try:
        try:
            client.wait_for_workers(1, timeout=wait_seconds)
        except TimeoutError:
            raise GreenscreenError(
                f"no Dask worker connected to {address} within {wait_seconds:g} s; start one with "
                f"'dask worker {address}'"
            ) from None
        threads = sum(client.nthreads().values())
        yield client.get_executor(pure=False), threads
    finally:
        client.close()
