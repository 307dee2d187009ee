"""``greenscreen batch``: render every tutorial in a folder of recordings."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click
from tqdm import tqdm

from greenscreen.batch import (
    BatchConfigError,
    BatchPlan,
    BatchReport,
    JobFinished,
    JobProgress,
    JobStarted,
    default_jobs,
    plan_batch,
    run_plan,
)
from greenscreen.batch.runner import Event, dask_executor
from greenscreen.cli import interrupted_exit_code
from greenscreen.errors import GreenscreenError, printable

EXIT_USAGE = 2


class BatchProgress:
    """Overall bar plus one bar per running job on a terminal; one log line per finished job always.

    The log lines go through ``tqdm.write`` so they scroll above the bars instead of tearing them.
    """

    def __init__(self, total: int, jobs: int, *, quiet: bool):
        self.quiet = quiet
        self.tty = sys.stderr.isatty() and not quiet
        self.total = total
        self.overall = (
            tqdm(total=total, desc="batch", unit="tutorial", position=0, dynamic_ncols=True, leave=True)
            if self.tty else None
        )
        self.free_slots = list(range(1, jobs + 1))
        """Terminal lines below the overall bar, reused as jobs finish so bars do not wander."""
        self.slots: dict[str, int] = {}
        self.bars: dict[str, tqdm] = {}

    def _bar(self, name: str) -> tqdm:
        if name not in self.bars:
            slot = self.free_slots.pop(0) if self.free_slots else None
            if slot is not None:
                self.slots[name] = slot
            self.bars[name] = tqdm(
                total=None, desc=printable(name), unit="frame", position=slot, leave=False, dynamic_ncols=True
            )
        return self.bars[name]

    def __call__(self, event: Event) -> None:
        if isinstance(event, JobStarted | JobProgress) and self.tty:
            bar = self._bar(event.name)
            if isinstance(event, JobProgress):
                if bar.total != event.total:
                    bar.reset(total=event.total)
                bar.update(event.done - bar.n)
        elif isinstance(event, JobFinished):
            o = event.outcome
            bar = self.bars.pop(o.name, None)
            if bar is not None:
                bar.close()
            if o.name in self.slots:
                self.free_slots.append(self.slots.pop(o.name))
                self.free_slots.sort()
            if self.overall is not None:
                self.overall.update(1)
            if o.status == "rendered":
                line = f"rendered {printable(o.name)} in {o.seconds:.1f} s ({o.duration:.1f} s of video)"
            elif o.status == "skipped":
                line = f"skipped  {printable(o.name)}: {o.reason}"
            else:
                line = f"FAILED   {printable(o.name)}: {printable(o.reason)}"
            if not self.quiet or o.status == "failed":
                tqdm.write(f"[{event.finished}/{event.total}] {line}", file=sys.stderr)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        if self.overall is not None:
            self.overall.close()


def _table(rows: list[tuple[str, str, str]]) -> str:
    # One row per line whatever the file names hold (a newline, bytes that are not UTF-8).
    rows = [tuple(printable(cell) for cell in row) for row in rows]  # type: ignore[misc]
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return "\n".join(f"  {a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in rows)


def _leftover_rows(plan: BatchPlan) -> list[tuple[str, str, str]]:
    rows = []
    for t in plan.incomplete:
        found = ", ".join(sorted(p.name for paths in t.files.values() for p in paths))
        rows.append(("unpaired", t.name, f"{t.problem()} (found {found})"))
    for u in plan.unrecognised:
        rows.append(("unrecognised", str(u.path.relative_to(plan.folder)), u.reason))
    return rows


def print_dry_run(plan: BatchPlan) -> None:
    """What a real run would do, one line per tutorial and per left-over file."""
    labels = {"render": "would render", "skip": "skip", "fail": "would fail"}
    rows = [(labels[e.action], e.name, e.reason) for e in plan.entries] + _leftover_rows(plan)
    if rows:
        click.echo(_table(rows))
    counts = {a: len(plan.by_action(a)) for a in ("render", "skip", "fail")}  # type: ignore[arg-type]
    click.echo(
        f"{counts['render']} to render, {counts['skip']} up to date, {counts['fail']} cannot be "
        f"rendered, {len(plan.incomplete)} unpaired, {len(plan.unrecognised)} unrecognised files "
        f"(dry run: nothing was written)"
    )


def print_summary(report: BatchReport, plan: BatchPlan) -> None:
    """The table at the end of a batch: every tutorial with its result, then the left-overs."""
    rows = []
    for o in report.outcomes:
        detail = o.reason
        if o.status == "rendered":
            detail = f"{o.seconds:.1f} s" + (f"; {'; '.join(o.notes)}" if o.notes else "")
        rows.append((o.status, o.name, detail))
    rows += _leftover_rows(plan)
    if rows:
        click.echo(_table(rows))
    poor = [o for o in report.outcomes if o.check.get("verdict") == "poor"]
    if poor:
        click.echo(f"{len(poor)} poor recording(s) (greenscreen check):")
        for o in poor:
            for problem in o.check["poor"]:
                click.echo(f"  {o.name}: {problem}")
    click.echo(
        f"{report.count('rendered')} rendered, {report.count('skipped')} skipped, "
        f"{report.count('failed')} failed"
        + (f", {report.count('interrupted')} interrupted" if report.interrupted else "")
        + f", {len(plan.incomplete)} unpaired in {report.seconds:.1f} s; "
        f"report: {report.output / 'report.json'}"
    )


SCHEDULER_ADDRESS = re.compile(r"(?:[a-z][a-z0-9+.-]*://)?(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}")
"""A Dask scheduler's address: [PROTOCOL://]HOST:PORT."""


def _scheduler_address(value: str | None) -> str | None:
    if value is not None and not SCHEDULER_ADDRESS.fullmatch(value.strip()):
        raise click.BadParameter(f"{value!r} is not a scheduler address: give tcp://HOST:PORT, e.g. tcp://render01:8786")
    return value.strip() if value is not None else None


@click.command("batch")
@click.argument("recordings", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for the rendered NAME.mp4 files and report.json (created if missing).")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=None,
              help=f"Tutorials rendered at once [default: {default_jobs()} on this machine].")
@click.option("-p", "--preset", "presets", multiple=True,
              help="Preset for every tutorial; repeat to combine (later wins). A tutorial's own "
              "'preset' replaces these.")
@click.option("-n", "--dry-run", is_flag=True, help="Show what would be rendered, skipped and why; render nothing.")
@click.option("-f", "--force", is_flag=True, help="Re-render every tutorial, even if up to date.")
@click.option("--scheduler", metavar="tcp://HOST:8786", callback=lambda ctx, param, value: _scheduler_address(value),
              help="Render on a Dask cluster instead of this machine (needs greenscreen[cluster]).")
@click.option("--check", "check_first", is_flag=True,
              help="Check each tutorial's recordings first (as 'greenscreen check') and list the poor ones.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars; print only failures and the summary.")
@click.pass_context
def batch_command(
    ctx: click.Context,
    recordings: Path,
    output: Path,
    jobs: int | None,
    presets: tuple[str, ...],
    dry_run: bool,
    force: bool,
    scheduler: str | None,
    check_first: bool,
    quiet: bool,
) -> None:
    """Render every tutorial in RECORDINGS into OUTPUT/NAME.mp4.

    \b
    Naming rule (EXT: a video's, such as mp4, mkv, mov, webm, avi, ts, any case):
      RECORDINGS/NAME.speaker.EXT + RECORDINGS/NAME.screen.EXT   [+ NAME.plate.EXT, NAME.toml]
      RECORDINGS/NAME/speaker.EXT + RECORDINGS/NAME/screen.EXT   [+ plate.EXT, edit.toml]
    A tutorial's edit (cuts, chapters, cards, logo ...; as 'render --edit'): NAME.toml or
    NAME/edit.toml, or a [tutorials.NAME] table in RECORDINGS/batch.toml.

    \b
    Up-to-date outputs are skipped, so rerunning after an interruption continues where it
    stopped. Exit code: 0 all rendered or skipped, 1 some failed, 2 usage or settings errors.

    \b
    Examples:
      greenscreen batch recordings/ -o rendered/
      greenscreen batch recordings/ -o rendered/ --dry-run
      greenscreen batch /mnt/share/rec -o /mnt/share/out --scheduler tcp://render01:8786
    """
    try:
        plan = plan_batch(recordings, output, preset=presets, force=force)
    except BatchConfigError as exc:
        click.echo(f"error: {len(exc.problems)} problem(s) in the batch settings; nothing was rendered:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(EXIT_USAGE)
    except GreenscreenError as exc:
        if ctx.obj and ctx.obj.get("debug"):
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if not plan.entries and not plan.incomplete:
        click.echo(
            f"note: no tutorials found in {plan.folder}; name the recordings NAME.speaker.EXT and "
            "NAME.screen.EXT, or put speaker.EXT and screen.EXT in a folder per tutorial",
            err=True,
        )
    if dry_run:
        print_dry_run(plan)
        return
    for entry in plan.entries:
        if entry.job is not None:
            entry.job.check = check_first
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        click.echo(f"error: cannot create the output folder {output} ({exc.strerror})", err=True)
        sys.exit(EXIT_USAGE)

    def run(executor: object | None, width: int, name: str) -> BatchReport:
        progress = BatchProgress(len(plan.entries), width, quiet=quiet)
        try:
            return run_plan(plan, executor, jobs=width, on_event=progress, executor_name=name)  # type: ignore[arg-type]
        finally:
            progress.close()

    try:
        if scheduler:
            with dask_executor(scheduler) as (executor, threads):
                report = run(executor, jobs or threads, f"dask {scheduler}")
        else:
            report = run(None, jobs or default_jobs(), "local")
    except GreenscreenError as exc:
        if ctx.obj and ctx.obj.get("debug"):
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    print_summary(report, plan)
    if report.report_error:
        click.echo(f"error: {report.report_error}", err=True)
    if report.interrupted:
        click.echo("interrupted: finished tutorials are kept; run the same command again to continue", err=True)
    if ctx.obj and ctx.obj.get("debug"):
        for o in report.outcomes:
            if o.detail:
                click.echo(f"--- {o.name}\n{o.detail}", err=True)
    sys.exit(interrupted_exit_code() if report.interrupted else report.exit_code)
