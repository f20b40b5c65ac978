"""Resync requests: queued now, run later by a worker, told back to the requester when they end.

Lifecycle (column `status` of resync.request):

    queued -> running -> succeeded | failed | cancelled
       \\-> cancelled (before a worker took it)

A worker that dies mid-run leaves the request `running`; the worker that finds its job stalled puts
it back to `queued` (see orchestrator.worker), and each start counts one attempt, up to
MAX_ATTEMPTS, after which it fails with the reason.

Every function here takes the caller's connection and changes nothing outside its transaction, so
a request row, its queue job and its notification always commit together.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import names, notifications, queue, registry, rights, settings
from .errors import ResyncError

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
FINISHED = (SUCCEEDED, FAILED, CANCELLED)

#: How many times a worker may start a request before it is failed (each start after the first
#: follows a worker that died while running it).
MAX_ATTEMPTS = 3

#: Channel of the pg_notify sent on every change of a request (status or progress).
REQUEST_CHANNEL = "resync_request"

_T = f'"{settings.TOOL_SCHEMA}"'
_COLUMNS = (
    "id, kind, requested_by, selection, plan, schedule_name, status, job_id, attempts, worker,"
    " progress, results, error, requested_at, started_at, finished_at, cancel_requested_by,"
    " cancel_requested_at"
)


@dataclass
class Request:
    id: int
    kind: str
    requested_by: str
    selection: dict
    plan: dict | None
    schedule_name: str | None
    status: str
    job_id: int | None
    attempts: int
    worker: str | None
    progress: dict | None
    results: dict | None
    error: str | None
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested_by: str | None
    cancel_requested_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def waiting_for(self) -> int | None:
        """The request whose locks this queued one waits for, when known."""
        if self.status != QUEUED:
            return None
        waited = (self.progress or {}).get("waiting_for")
        return waited if isinstance(waited, int) else None

    @property
    def state(self) -> str:
        """The status as a person reads it: `waiting for request 4` rather than `queued`."""
        return f"waiting for request {self.waiting_for}" if self.waiting_for else self.status

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """What was asked, in a few words: `AttDayAggregation (+ dependencies) for 01, 02`."""
        return describe_selection(self.kind, self.selection)

    def seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or datetime.now(self.started_at.tzinfo)
        return round((end - self.started_at).total_seconds(), 1)


def describe_selection(kind: str, selection: dict) -> str:
    districts = selection.get("districts") or []
    where = f"for {', '.join(districts)}" if districts else "for every registered district"
    if kind == "aggregation":
        mode = "refresh" if selection.get("refresh") else "incremental"
        return f"attendance aggregation ({mode}) {where}"
    names = selection.get("objects") or []
    # A full sync names every object: say how many and the first few.
    objects = ", ".join(names) if len(names) <= 4 else f"{len(names)} objects ({', '.join(names[:3])}, ...)"
    deps = " (+ dependencies)" if selection.get("check_dependencies") else ""
    year = f", school year {selection['school_year']}" if selection.get("school_year") else ""
    full = ", full refresh" if selection.get("full_refresh") else ""
    alone = ", every district in one run (each on its own if that fails)" if selection.get("per_district") else ""
    return f"{objects}{deps} {where}{year}{full}{alone}"


def schedule_requester(name: str) -> str:
    """Who a schedule's own runs are requested by (a run-now names the person who asked)."""
    return f"schedule:{name}"


# --- queueing ------------------------------------------------------------------------------

def submit_resync(conn: Connection, *, districts: list[str], objects: list[str], check_dependencies: bool,
                  school_year: int | None, full_refresh: bool = False, requested_by: str | None = None,
                  schedule_name: str | None = None, per_district: bool = False) -> Request:
    """Validate a resync exactly as `resync run` does and queue it; nothing is queued on bad input.

    The requester is the login role; `requested_by` names another (administrators, schedules).
    `per_district` (the weekly full sync): the worker runs every district in one run and, only
    when a model fails in it, each district on its own, so that each succeeds or fails on its own
    (orchestrator.full_sync).
    """
    selection = {
        "districts": list(districts), "objects": list(objects), "check_dependencies": bool(check_dependencies),
        "school_year": school_year, "full_refresh": bool(full_refresh),
    }
    if per_district:
        selection["per_district"] = True
    plan = plan_resync(conn, districts=districts, objects=objects, check_dependencies=check_dependencies,
                       school_year=school_year, full_refresh=full_refresh)
    return _queue(conn, "resync", selection, plan.as_dict(), requested_by, schedule_name)


def plan_resync(conn: Connection, *, districts: list[str], objects: list[str], check_dependencies: bool,
                school_year: int | None, full_refresh: bool = False) -> Any:
    """The plan a resync request would run, checked as submit_resync checks it; queues nothing
    (what `resync request` shows before it asks)."""
    from . import resync

    rights.check_request(conn, districts)  # first: may the caller request these districts at all
    return resync.build_plan(conn, list(districts), list(objects), bool(check_dependencies), school_year,
                             full_refresh=bool(full_refresh))


def submit_aggregation(conn: Connection, *, districts: list[str] | None, refresh: bool,
                       requested_by: str | None = None, schedule_name: str | None = None) -> Request:
    """Queue the attendance aggregation (incremental unless `refresh`) for some or all districts."""
    rights.check_request(conn, districts)
    chosen = registry.resolve(conn, districts)
    selection = {"districts": [d.code for d in chosen] if districts else None, "refresh": bool(refresh)}
    return _queue(conn, "aggregation", selection, None, requested_by, schedule_name)


def _queue(conn: Connection, kind: str, selection: dict, plan: dict | None, requested_by: str | None,
           schedule_name: str | None) -> Request:
    if requested_by is not None:  # another than the login role: a name people will read
        requested_by = names.check(requested_by, "The requester's name", if_empty="A requester needs a name.")
    queue.ensure_queue_schema(conn)
    # Users may not write the request or queue tables: the database's function does, after
    # checking the caller's rights (and publishes the new id).
    request_id = rights.queue_request(conn, kind, selection, plan, requested_by=requested_by or None,
                                      schedule_name=schedule_name)
    return get(conn, request_id)


# --- reading -------------------------------------------------------------------------------

def _from_row(row: Any) -> Request:
    return Request(**row._mapping)


def get(conn: Connection, request_id: int, *, for_update: bool = False) -> Request:
    lock = " for update" if for_update else ""
    row = conn.execute(sa.text(f"select {_COLUMNS} from {_T}.request where id = :id{lock}"),
                       {"id": request_id}).one_or_none()
    if row is None:
        raise ResyncError(f"There is no request {request_id}; `resync history` lists them.")
    return _from_row(row)


def active(conn: Connection) -> list[Request]:
    rows = conn.execute(sa.text(
        f"select {_COLUMNS} from {_T}.request where status in ('queued', 'running') order by id"))
    return [_from_row(r) for r in rows]


def history(conn: Connection, *, limit: int = 20, requested_by: str | None = None) -> list[Request]:
    """The latest requests, newest first, optionally of one requester."""
    rows = conn.execute(sa.text(
        f"select {_COLUMNS} from {_T}.request"
        " where (cast(:by as text) is null or requested_by = :by) order by id desc limit :n"
    ), {"by": requested_by, "n": limit})
    return [_from_row(r) for r in rows]


@dataclass(frozen=True)
class LastResync:
    """The latest request that replaced an object for a district and succeeded there."""

    district: str
    object: str
    request_id: int
    requested_by: str
    finished_at: datetime


def last_resyncs(conn: Connection, districts: list[str], objects: list[str]) -> dict[tuple[str, str], LastResync]:
    """(district, object Campus name) -> its LastResync among the requests the caller may see
    (a pair no request has replaced yet is absent)."""
    rows = conn.execute(sa.text(
        "select distinct on (o ->> 'district', o ->> 'object') o ->> 'district', o ->> 'object', r.id,"
        f" r.requested_by, r.finished_at from {_T}.request r cross join lateral jsonb_array_elements("
        "   case when jsonb_typeof(r.results -> 'objects') = 'array' then r.results -> 'objects' else '[]' end) o"
        " where r.status in ('succeeded', 'failed', 'cancelled') and o ->> 'status' = 'success'"
        "   and o ->> 'district' = any(:d) and o ->> 'object' = any(:o)"
        " order by o ->> 'district', o ->> 'object', r.finished_at desc"
    ), {"d": list(districts), "o": list(objects)})
    return {(r[0], r[1]): LastResync(*r) for r in rows}


# --- cancelling ----------------------------------------------------------------------------

def cancel(conn: Connection, request_id: int, *, by: str | None = None) -> Request:
    """Cancel a queued request now, or ask the worker running one to stop and roll back.

    Its requester or an administrator (`by` names someone else, for an administrator only); the
    database's function checks that, cancels the job and, when no worker holds it, ends it.
    A running request ends `cancelled` once its worker has stopped it: the object being replaced
    is rolled back, objects already replaced stay replaced (each object is atomic).
    """
    request = get(conn, request_id)  # one you may not see is one there is not
    if request.finished:
        raise ResyncError(f"Request {request_id} already ended ({request.status}); there is nothing to cancel.")
    rights.cancel_request(conn, request_id, by=by)
    request = get(conn, request_id)
    if request.finished:
        notifications.send(conn, request)
    return request


# --- the worker's side ---------------------------------------------------------------------

def start(conn: Connection, request_id: int, *, worker: str) -> Request | None:
    """Mark a request running for this worker; None when it must not run (cancelled, given up)."""
    request = get(conn, request_id, for_update=True)
    if request.finished:
        return None
    if request.cancel_requested_at is not None:
        finish(conn, request_id, CANCELLED, error=f"Cancelled by {request.cancel_requested_by} before it started.")
        return None
    if request.attempts >= MAX_ATTEMPTS:
        finish(conn, request_id, FAILED, error=(
            f"Gave up after {request.attempts} attempts: the worker running it stopped each time"
            f" before it finished (last on {request.worker})."))
        return None
    conn.execute(sa.text(
        f"update {_T}.request set status = 'running', attempts = attempts + 1, worker = :w,"
        " started_at = null, finished_at = null, progress = null where id = :id"
    ), {"w": worker, "id": request_id})
    _publish(conn, request_id)
    return get(conn, request_id)


def begin_work(conn: Connection, request_id: int) -> None:
    """The worker holds the request's locks and starts changing the state: `started_at` is now.

    Until then a running request may be waiting for an overlapping one; from here until
    `finished_at` it is the only request touching its (district, object) pairs.
    """
    conn.execute(sa.text(f"update {_T}.request set started_at = now() where id = :id"), {"id": request_id})
    record_progress(conn, request_id, {"message": "running"})


def record_progress(conn: Connection, request_id: int, progress: dict) -> None:
    conn.execute(sa.text(f"update {_T}.request set progress = cast(:p as jsonb) where id = :id"),
                 {"p": json.dumps(progress, default=str), "id": request_id})
    _publish(conn, request_id)


def wait_for_locks(conn: Connection, request_id: int, *, holder: int | None, pair: tuple[str, str],
                   retry_after: float) -> bool:
    """Put a running request back in the queue until an overlapping one ends; its worker goes free.

    A new job, due in `retry_after` seconds, carries it; the holder's worker wakes it sooner
    (wake_waiters) once it has released its locks. The start did not count as an attempt.
    False (and nothing done) when a cancel was asked for meanwhile: the caller ends it.
    """
    if get(conn, request_id, for_update=True).cancel_requested_at is not None:
        return False
    district, model = pair
    who = f"request {holder}" if holder else "another request"
    progress = {"message": f"waiting for {who}, which is replacing {model} of district {district}",
                "waiting_for": holder, "district": district, "object": model}
    job_id = queue.defer_request(conn, request_id, scheduled_at=datetime.now(timezone.utc) + timedelta(seconds=retry_after))
    conn.execute(sa.text(
        f"update {_T}.request set status = 'queued', attempts = attempts - 1, job_id = :j,"
        " progress = cast(:p as jsonb) where id = :id and status = 'running'"
    ), {"j": job_id, "p": json.dumps(progress), "id": request_id})
    _publish(conn, request_id)
    return True


def wake_waiters(conn: Connection, request_id: int) -> int:
    """Make the requests waiting for `request_id`'s locks due now; returns how many there were."""
    jobs = list(conn.execute(sa.text(
        f"select job_id from {_T}.request where status = 'queued' and job_id is not null"
        " and (progress->>'waiting_for')::bigint = :id"), {"id": request_id}).scalars())
    if jobs:
        queue.make_due_now(conn, jobs)
    return len(jobs)


def requeue(conn: Connection, request_id: int, *, reason: str, count_attempt: bool) -> None:
    """Put a running request back in the queue (its job is requeued by the caller).

    `count_attempt` is False for a clean shutdown: that attempt was not the request's fault.
    """
    conn.execute(sa.text(
        f"update {_T}.request set status = 'queued', progress = cast(:p as jsonb),"
        " attempts = attempts - case when :count then 0 else 1 end where id = :id and status = 'running'"
    ), {"p": json.dumps({"message": reason}), "count": count_attempt, "id": request_id})
    _publish(conn, request_id)


def finish(conn: Connection, request_id: int, status: str, *, results: dict | None = None,
           error: str | None = None) -> Request:
    """End a request and tell its requester (stored notification + pg_notify)."""
    assert status in FINISHED
    conn.execute(sa.text(
        f"update {_T}.request set status = :s, results = cast(:r as jsonb), error = :e, finished_at = now()"
        " where id = :id"
    ), {"s": status, "r": json.dumps(results, default=str) if results is not None else None, "e": error,
        "id": request_id})
    request = get(conn, request_id)
    notifications.send(conn, request, recipient=_recipient(conn, request))
    _publish(conn, request_id)
    return request


def _recipient(conn: Connection, request: Request) -> str:
    """Who is told: the requester; for a schedule's own run, the schedule's owner (who set it)."""
    if request.schedule_name and request.requested_by == schedule_requester(request.schedule_name):
        from . import schedules  # schedules queues requests: imported here, not at the top

        return schedules.owner(conn, request.schedule_name) or request.requested_by
    return request.requested_by


def _publish(conn: Connection, request_id: int) -> None:
    """pg_notify on REQUEST_CHANNEL; delivered when the transaction commits, as LISTEN promises.

    The payload is the id alone: anyone may LISTEN, and a listener reads the request under its
    own rights.
    """
    conn.execute(sa.text("select pg_notify(:c, :p)"), {"c": REQUEST_CHANNEL, "p": str(request_id)})


# --- waiting -------------------------------------------------------------------------------

def wait(url: str, request_id: int, *, timeout: float | None = None,
         on_change: Callable[[Request], None] | None = None) -> Request:
    """Block until the request ends; call `on_change` on every status or progress change.

    Wakes on pg_notify (LISTEN before the first read, so nothing is missed in between) and also
    re-reads every few seconds, in case the connection dropped a notification.
    """
    from . import database

    deadline = None if timeout is None else time.monotonic() + timeout
    with database.connect(url, autocommit=True) as listener:
        listener.execute(f'listen "{REQUEST_CHANNEL}"')
        last: tuple | None = None
        while True:
            with database.transaction(url) as conn:
                request = get(conn, request_id)
            seen = (request.status, json.dumps(request.progress, sort_keys=True, default=str))
            if seen != last and on_change:
                on_change(request)
            last = seen
            if request.finished:
                return request
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise ResyncError(f"Request {request_id} is still {request.status} after {timeout:g} seconds.")
            pause = 5.0 if remaining is None else min(5.0, remaining)
            for _ in listener.notifies(timeout=pause, stop_after=1):
                pass
