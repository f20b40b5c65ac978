"""`resync schedule`: the weekly full sync and the nightly attendance aggregation."""

from __future__ import annotations

import datetime

import click

from .. import rights, schedules
from .common import emit_json, json_option, moment_text, table, tool_transaction
from .request import _wait_and_report, as_option


@click.group()
def schedule() -> None:
    """The schedules the workers run: list them, change them, run one now."""


def _when(moment: datetime.datetime | None, zone: str | None = None) -> str:
    """In the schedule's own time zone when given (that is how its cron reads), else local time."""
    return moment_text(moment, "%Y-%m-%d %H:%M %Z", schedules.zone_named(zone) if zone else None)


@schedule.command("list")
@json_option
def list_(as_json: bool) -> None:
    """Each schedule: its cron expression and time zone, when it is next due, how it last went."""
    with tool_transaction() as conn:
        found = schedules.list_all(conn)
    if as_json:
        emit_json([s.as_dict() for s in found])
        return
    rows = [{"name": s.name, "cron": s.cron, "timezone": s.timezone, "enabled": "yes" if s.enabled else "no",
             "owner": s.owner or "-", "next_due": "never" if s.problem else _when(s.next_due(), s.timezone),
             "last_due": _when(s.last_due_at, s.timezone), "last_outcome": s.outcome or "-"}
            for s in found]
    click.echo(table(rows, ["name", "cron", "timezone", "enabled", "owner", "next_due", "last_due", "last_outcome"]))
    click.echo("")
    for s in found:
        click.echo(f"{s.name}: {s.description}")
    for s in found:
        if s.problem:
            click.echo(f"{s.name} never comes due: {s.problem} Fix it with `resync schedule set {s.name} CRON`.")
    if any(not s.owner for s in found):
        click.echo("A schedule without an owner tells nobody how its runs end: `resync schedule set NAME`"
                   " makes you its owner.")


@schedule.command("set")
@click.argument("name")
@click.argument("cron", required=False)
@click.option("--timezone", metavar="ZONE", default=None, help="Time zone the cron expression is read in, e.g. America/Chicago.")
@click.option("--enable/--disable", "enabled", default=None, help="Turn the schedule on or off.")
@as_option
@json_option
def set_(name: str, cron: str | None, timezone: str | None, enabled: bool | None, as_user: str | None,
         as_json: bool) -> None:
    """Change schedule NAME, e.g. `resync schedule set weekly "0 2 * * 0"` (Sundays 02:00).

    CRON has five fields: minute hour day-of-month month day-of-week. Running workers apply the
    change at once. Whoever sets a schedule owns it: each of its runs ends in their inbox.
    """
    with tool_transaction() as conn:
        rights.require_admin(conn, "change schedules")
        changed = schedules.update(conn, name, cron=cron, timezone=timezone, enabled=enabled,
                                   by=rights.acting_as(conn, as_user))
    if as_json:
        emit_json(changed.as_dict())
        return
    state = f"next due {_when(changed.next_due(), changed.timezone)}" if changed.enabled else "disabled"
    click.echo(f"Schedule {changed.name}: {changed.cron} ({changed.timezone}), {state}; owner {changed.owner},"
               " who is told how each run ends.")


@schedule.command("run-now")
@click.argument("name")
@as_option
@click.option("--wait", "wait_", is_flag=True, help="Wait for the run to end, showing its progress.")
@json_option
def run_now(name: str, as_user: str | None, wait_: bool, as_json: bool) -> None:
    """Queue schedule NAME's run now (not if its previous run is still queued or running)."""
    with tool_transaction() as conn:
        rights.require_admin(conn, "run a schedule")
        queued = schedules.enqueue_run(conn, name, requested_by=rights.acting_as(conn, as_user))
        outcome = schedules.get(conn, name).last_outcome
    if queued is None:
        raise click.ClickException(f"Schedule {name}: {outcome}.")
    if wait_:
        _wait_and_report(queued.id, None, as_json)
    elif as_json:
        emit_json(queued.as_dict())
    else:
        click.echo(f"Queued request {queued.id}: {queued.describe()}.")
