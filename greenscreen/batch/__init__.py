"""Batch rendering: every tutorial in a folder of recordings, in parallel, resumable.

:func:`plan_batch` pairs the recordings, validates every settings file and decides what needs
rendering (this is all ``--dry-run`` does); :func:`run_plan` renders on a local process pool or
any ``concurrent.futures.Executor`` (e.g. a Dask cluster) and writes ``report.json``.
"""

from greenscreen.batch.pairing import Pairing, Tutorial, find_tutorials
from greenscreen.batch.plan import BatchConfigError, BatchPlan, Job, PlanEntry, Problem, plan_batch
from greenscreen.batch.runner import (
    BatchReport,
    JobFinished,
    JobProgress,
    JobStarted,
    default_jobs,
    run_plan,
)
from greenscreen.batch.worker import JobOutcome

__all__ = [
    "BatchConfigError",
    "BatchPlan",
    "BatchReport",
    "Job",
    "JobFinished",
    "JobOutcome",
    "JobProgress",
    "JobStarted",
    "Pairing",
    "PlanEntry",
    "Problem",
    "Tutorial",
    "default_jobs",
    "find_tutorials",
    "plan_batch",
    "run_plan",
]
