"""`resync request`, `status`, `history`, `cancel`, `wait`, `inbox`: asynchronous resyncs.

A request is validated like `resync run`, queued, and run later by `resync worker`; its requester
finds the outcome in `resync inbox`.
"""

from __future__ import annotations

import click

from .. import database, names, notifications, queue, requests, rights
from ..errors import ResyncError
from .common import Seconds, confirmed, emit_json, json_option, moment_text, table, tool_transaction, yes_option
from .selection import selection_options


def _name(ctx, param, value):
    """--as NAME: one line of text (it is shown in status, history and inboxes)."""
    if value is None:
        return None
    try:
        return names.check(value, "The name", if_empty="'' names nobody: give a name, or leave --as out.")
    except ResyncError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc


as_option = click.option("--as", "as_user", metavar="NAME", default=None, callback=_name,
                         help="Act as this user (administrators only; default: the role you log in as).")


def _progress_line(request: requests.Request) -> str:
    message = (request.progress or {}).get("message")
    return f"Request {request.id}: {request.status}" + (f" - {message}" if message else "")


def _describe(request: requests.Request) -> str:
    lines = [f"Request {request.id}: {request.describe()}",
             f"  kind:         {request.kind}",
             f"  requested by: {request.requested_by} at {moment_text(request.requested_at)}",
             f"  status:       {request.state}" + (f" (attempt {request.attempts})" if request.attempts else "")]
    if request.worker:
        lines.append(f"  worker:       {request.worker}")
    if request.started_at:
        took = request.seconds()
        lines.append(f"  started:      {moment_text(request.started_at)}"
                     + (f", finished {moment_text(request.finished_at)}" if request.finished_at else "")
                     + (f" ({took:g} s)" if took is not None else ""))
    if request.cancel_requested_at and not request.finished:
        lines.append(f"  cancel asked by {request.cancel_requested_by} at {moment_text(request.cancel_requested_at)}")
    if request.progress and not request.finished:
        lines.append(f"  progress:     {request.progress.get('message', '')}")
    if request.error:
        lines.append(f"  {request.error}")
    objects = (request.results or {}).get("objects") or []
    if objects:
        lines += ["", table(objects, ["object", "district", "status", "rows_replaced", "seconds"])]
    return "\n".join(lines)


def _wait_and_report(request_id: int, timeout: float | None, as_json: bool) -> None:
    def show(request: requests.Request) -> None:
        if not as_json:
            click.echo(_progress_line(request), err=True)

    final = requests.wait(database.database_url(), request_id, timeout=timeout, on_change=show)
    if as_json:
        emit_json(final.as_dict())
    else:
        click.echo(_describe(final))
    if final.status != requests.SUCCEEDED:
        raise SystemExit(1)


@click.command("request")
@selection_options
@as_option
@click.option("--wait", "wait_", is_flag=True, help="Wait for the request to end, showing its progress.")
@click.option("--timeout", type=Seconds(min=0), default=None, metavar="SECONDS",
              help="With --wait: give up waiting after this long.")
@yes_option
@json_option
def request(districts, objects, check_dependencies, school_year, full_refresh, as_user, wait_, timeout, yes,
            as_json) -> None:
    """Queue a resync for a worker and return at once (the same options as `resync run`).

    Everything is checked now, as `resync run` checks it: a bad request queues nothing. It shows
    the plan and asks first, like `resync run` (--yes: do not ask). The requester is told in
    `resync inbox` when it ends. Example:

        resync request -d 01 -o AttDayAggregation --check-dependencies --yes
    """
    if not yes:
        with tool_transaction() as conn:
            rights.acting_as(conn, as_user)  # every refusal comes before the question
            plan = requests.plan_resync(conn, districts=list(districts), objects=list(objects),
                                        check_dependencies=check_dependencies, school_year=school_year,
                                        full_refresh=full_refresh)
        click.echo(plan.describe(), err=as_json)
        if not confirmed("Queue this resync?", as_json):
            raise ResyncError("Cancelled: nothing was queued.")
    with tool_transaction() as conn:
        queued = requests.submit_resync(
            conn, districts=list(districts), objects=list(objects), check_dependencies=check_dependencies,
            school_year=school_year, full_refresh=full_refresh, requested_by=as_user)
        workers = queue.live_workers(conn)
    if not workers and not as_json:
        click.echo("No worker is running yet: `resync worker` runs queued requests.", err=True)
    if wait_:
        if not as_json:
            click.echo(f"Queued request {queued.id}: {queued.describe()}.", err=True)
        _wait_and_report(queued.id, timeout, as_json)
    elif as_json:
        emit_json(queued.as_dict())
    else:
        click.echo(f"Queued request {queued.id}: {queued.describe()}.")
        click.echo(f"`resync status {queued.id}` shows it; `resync wait {queued.id}` waits for it.")


@click.command()
@click.argument("request_id", type=int, required=False)
@json_option
def status(request_id: int | None, as_json: bool) -> None:
    """Show request ID, or every queued and running request."""
    with tool_transaction() as conn:
        if request_id is not None:
            found = requests.get(conn, request_id)
            emit_json(found.as_dict()) if as_json else click.echo(_describe(found))
            return
        pending = requests.active(conn)
        workers = queue.live_workers(conn)
    if as_json:
        emit_json([r.as_dict() for r in pending])
        return
    click.echo(_table(pending) if pending else "No request is queued or running.")
    click.echo(f"{workers} worker{'s' if workers != 1 else ''} running." if workers
               else "No worker is running: `resync worker` runs queued requests.")


def _table(found: list[requests.Request]) -> str:
    rows = [{"id": r.id, "requested_by": r.requested_by, "requested_at": moment_text(r.requested_at),
             "status": r.state, "what": r.describe()} for r in found]
    return table(rows, ["id", "requested_by", "requested_at", "status", "what"])


@click.command()
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--by", "requested_by", metavar="NAME", default=None, help="Only this requester's requests.")
@json_option
def history(limit: int, requested_by: str | None, as_json: bool) -> None:
    """Who asked for what, when, and how it ended (newest first)."""
    with tool_transaction() as conn:
        found = requests.history(conn, limit=limit, requested_by=requested_by)
    if as_json:
        emit_json([r.as_dict() for r in found])
    elif not found:
        click.echo("No requests yet; `resync request` queues one.")
    else:
        click.echo(_table(found))


@click.command()
@click.argument("request_id", type=int)
@as_option
@json_option
def cancel(request_id: int, as_user: str | None, as_json: bool) -> None:
    """Cancel request ID: a queued one at once; a running one stops and its current object rolls back."""
    with tool_transaction() as conn:
        found = requests.cancel(conn, request_id, by=as_user)
    if as_json:
        emit_json(found.as_dict())
    elif found.status == requests.CANCELLED:
        click.echo(f"Cancelled request {found.id}; nothing of it had run.")
    else:
        click.echo(f"Request {found.id} is running: its worker is stopping it and rolling back the object"
                   f" in progress. `resync wait {found.id}` waits until it has.")


@click.command()
@click.argument("request_id", type=int)
@click.option("--timeout", type=Seconds(min=0), default=None, metavar="SECONDS", help="Give up waiting after this long.")
@json_option
def wait(request_id: int, timeout: float | None, as_json: bool) -> None:
    """Wait until request ID ends; exit 0 when it succeeded, 1 when it failed or was cancelled."""
    with tool_transaction() as conn:
        requests.get(conn, request_id)  # an unknown id is an error now, not after a wait
    _wait_and_report(request_id, timeout, as_json)


@click.command()
@as_option
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@json_option
def inbox(as_user: str | None, limit: int, as_json: bool) -> None:
    """Your notifications, newest first; unread ones are marked * (and are read from now on)."""
    with tool_transaction() as conn:
        recipient = rights.acting_as(conn, as_user)
        found = notifications.inbox(conn, recipient, limit=limit)
    if as_json:
        emit_json([n.as_dict() for n in found])
    elif not found:
        click.echo(f"No notifications for {recipient}.")
    else:
        for n in found:
            click.echo(f"{'*' if n.unread else ' '} {moment_text(n.created_at)}  {n.message}")


COMMANDS = (request, status, history, cancel, wait, inbox)

