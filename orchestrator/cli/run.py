"""`resync run`: resync chosen objects of chosen districts now, with a plan and a confirmation."""

from __future__ import annotations

import contextlib
import signal
import sys
from typing import Iterator

import click

from .. import resync, rights
from ..errors import ResyncError
from .common import confirmed, emit_json, json_option, table, tool_transaction, yes_option
from .selection import selection_options


class _ProgressDisplay:
    """A rich progress bar on a terminal; one line per finished object otherwise (logs, pipes)."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total = total
        self.quiet = quiet
        self.bar = None
        if not quiet and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task("Starting dbt", total=total)

    def __enter__(self):
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar:
            self.bar.stop()

    def __call__(self, event: resync.Progress) -> None:
        if event.kind in ("pull-start", "pull"):
            self._pulled(event)
            return
        if self.bar:
            if event.kind == "start":
                self.bar.update(self.task, description=f"Resyncing {event.object}")
            else:
                self.bar.advance(self.task)
        elif event.kind == "finish" and not self.quiet:
            took = f" ({event.seconds:.2f} s)" if event.seconds is not None else ""
            click.echo(f"[{event.index}/{event.total}] {event.object}: {event.status}{took}", err=True)


    def _pulled(self, event: resync.Progress) -> None:
        if self.bar:
            if event.kind == "pull-start":
                self.bar.update(self.task, description="Pulling from the districts")
            return
        if event.kind == "pull" and not self.quiet:
            if event.error:
                click.echo(f"Pull of {event.object} failed: {event.error}", err=True)
            else:
                click.echo(f"Pulled {event.object}: {event.rows_written:,} landing rows changed"
                           f" ({event.seconds:.2f} s)", err=True)


def _echo_results(result: resync.ResyncResult) -> None:
    rows = [r.as_dict() | {"district": f"{r.district} {r.district_name}"} for r in result.objects]
    click.echo(table(rows, ["object", "district", "status", "rows_replaced", "seconds"]))
    if result.missing_parents:
        click.echo("\nRows at the state whose parents are missing there:")
        for missing in result.missing_parents:
            click.echo(f"  {missing.describe()}")
        click.echo(result.advice)
    if result.ok:
        click.echo(f"\n{result.summary()}")


@click.command()
@selection_options
@click.option("--dry-run", is_flag=True, help="Show the plan and the equivalent dbt command; change nothing.")
@yes_option
@json_option
def run(districts, objects, check_dependencies, school_year, full_refresh, dry_run, yes, as_json) -> None:
    """Resync objects of districts into the state now.

    Each object's rows for the chosen districts (and school year, for year-scoped objects) are
    replaced atomically, in dependency order. Example:

        resync run -d 01 -d 02 -o AttendanceExcuse --check-dependencies
    """
    with tool_transaction() as conn:
        if not dry_run:  # anyone may look at a plan; a resync now is the worker's, or an administrator's
            rights.require_admin(conn, "run a resync directly", "`resync request` queues it for a worker")
        plan = resync.build_plan(conn, list(districts), list(objects), check_dependencies,
                                 school_year, full_refresh)
    if dry_run:
        if as_json:
            emit_json({"dry_run": True, "plan": plan.as_dict()})
        else:
            click.echo(plan.describe())
            click.echo('\nNothing was changed. The same run by hand, after eval "$(resync db env)":')
            if plan.pull_tables:
                click.echo(f"  {plan.pull_command()}")
            click.echo(f"  {plan.dbt_command()}")
        return
    if not as_json or not yes:
        click.echo(plan.describe(), err=as_json)
    if not yes and not confirmed("Resync now?", as_json):
        raise ResyncError("Cancelled: nothing was changed.")
    with _stopping_on_interrupt(), _ProgressDisplay(len(plan.objects), quiet=as_json) as progress:
        result = resync.execute(plan, on_progress=progress)
    if as_json:
        emit_json(result.as_dict())  # its "ok" and "error" say how it went: one document only
    else:
        _echo_results(result)
    if result.interrupted:
        click.echo(f"Error: {result.error}", err=True)
        sys.exit(130)
    if not result.ok and as_json:
        click.echo(f"Error: {result.error or 'The resync did not finish.'}", err=True)
        raise SystemExit(1)
    if not result.ok:
        raise ResyncError(result.error or "The resync did not finish.")


@contextlib.contextmanager
def _stopping_on_interrupt() -> Iterator[None]:
    """Ctrl-C during a run: say so at once; dbt cancels the statement in progress (rolled back)
    and the run reports what committed. A second Ctrl-C interrupts without waiting."""
    def stop(signum, frame) -> None:
        click.echo("Stopping: rolling back the object in progress; objects already replaced stay replaced.",
                   err=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
