"""The schedules the workers run: the weekly full sync and the nightly attendance aggregation.

How a schedule runs:
1. Every long-running worker keeps a procrastinate PeriodicDeferrer fed with the schedules of the
   table resync.schedule (cron expression, time zone, enabled). When one comes due, procrastinate
   queues one short job "run_schedule" for that due time; its periodic-defer table makes sure that
   several workers defer it once, not once each. A worker that starts up to ten minutes after a due
   time still defers it (procrastinate's catch-up window).
2. The first free worker runs that job, which turns it into an ordinary request (requested by
   `schedule:<name>`): it shows in `resync status` and `resync history` like any other.
3. No pile-up: a schedule has at most one request queued or running, enforced by a unique partial
   index on resync.request. A due time that finds the previous run still queued or running
   queues nothing and says so in `resync schedule list` (last outcome).

`resync schedule set` changes the table and sends pg_notify on SCHEDULE_CHANNEL; the workers then
reload their deferrer, so a change applies without a restart.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attr
import croniter
import sqlalchemy as sa
from procrastinate import periodic
from sqlalchemy.engine import Connection

from . import database, queue, registry, requests, settings
from .errors import ResyncError

logger = logging.getLogger(__name__)

SCHEDULE_CHANNEL = "resync_schedule"
_T = f'"{settings.TOOL_SCHEMA}"'
_COLUMNS = ("name, kind, cron, timezone, enabled, description, updated_at, updated_by, last_due_at,"
            " last_request_id, last_outcome")


@dataclass
class Schedule:
    name: str
    kind: str  # resync (the full sync) or aggregation
    cron: str
    timezone: str
    enabled: bool
    description: str
    updated_at: datetime.datetime
    updated_by: str | None
    last_due_at: datetime.datetime | None
    last_request_id: int | None
    last_outcome: str | None  # as recorded when it last came due
    last_request_status: str | None = None  # the last request's status now

    @property
    def requester(self) -> str:
        return requests.schedule_requester(self.name)

    @property
    def owner(self) -> str | None:
        """Who set it last: the person told of each scheduled run's outcome."""
        return self.updated_by

    @property
    def problem(self) -> str | None:
        """Why the cron can never come due (a row written by hand), else None."""
        try:
            validate_cron(self.cron)
            zone_named(self.timezone)
        except ResyncError as exc:
            return str(exc)
        return None

    def next_due(self, after: datetime.datetime | None = None) -> datetime.datetime | None:
        if not self.enabled or self.problem:
            return None
        zone = zone_named(self.timezone)
        start = (after or datetime.datetime.now(zone)).astimezone(zone)
        return _Cron(self.cron, start).get_next(datetime.datetime)

    @property
    def outcome(self) -> str | None:
        """The last outcome, with the status its request has now (`request 5 succeeded`)."""
        queued = f"queued request {self.last_request_id}"
        if self.last_outcome and self.last_outcome.startswith(queued) \
                and self.last_request_status not in (None, requests.QUEUED):
            return f"request {self.last_request_id} {self.last_request_status}" + self.last_outcome[len(queued):]
        return self.last_outcome

    def as_dict(self) -> dict:
        return {**asdict(self), "owner": self.owner, "last_outcome": self.outcome,
                "next_due_at": self.next_due(), "problem": self.problem}


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ResyncError(f"Time zone {name!r} is unknown: use a name such as America/Los_Angeles or UTC.") from exc


def validate_cron(expression: str) -> str:
    """Five fields (minute hour day month weekday), or six with seconds last, as procrastinate reads
    them, that some date matches (`0 0 31 2 *` never comes due)."""
    expression = " ".join((expression or "").split())
    if not expression or not croniter.croniter.is_valid(expression) or len(expression.split()) not in (5, 6):
        raise ResyncError(
            f"{expression!r} is not a cron expression: give minute hour day month weekday,"
            " such as \"0 2 * * 0\" for Sundays at 02:00."
        )
    try:
        _Cron(expression, datetime.datetime.now(datetime.timezone.utc)).get_next(datetime.datetime)
    except croniter.CroniterError as exc:
        raise ResyncError(f"{expression!r} never comes due: no date matches its day and month.") from exc
    return expression


class _Cron(croniter.croniter):
    """croniter that comes due once at a wall-clock time the autumn DST change repeats.

    An aware start time makes croniter read the cron in that time zone; on the night the clock
    goes back it matches 01:30 twice (daylight, then standard time). A time of day fires once, as
    cron does; a cron whose hour is `*` keeps running by the clock through the repeated hour.
    """

    def get_next(self, ret_type=None, start_time=None, update_current=True):
        found = super().get_next(ret_type, start_time, update_current)
        while update_current and self._repeated():
            found = super().get_next(ret_type)
        return found

    def get_prev(self, ret_type=None, start_time=None, update_current=True):
        found = super().get_prev(ret_type, start_time, update_current)
        while update_current and self._repeated():
            found = super().get_prev(ret_type)
        return found

    def _repeated(self) -> bool:
        if self.expressions[1] == ["*"]:
            return False
        moment = self.get_current(datetime.datetime)
        return moment.tzinfo is not None and moment.fold == 1 and \
            moment.replace(fold=0).utcoffset() != moment.utcoffset()


# --- the table -----------------------------------------------------------------------------

_SELECT = (f"select s.{_COLUMNS.replace(', ', ', s.')}, r.status as last_request_status"
           f" from {_T}.schedule s left join {_T}.request r on r.id = s.last_request_id")


def list_all(conn: Connection) -> list[Schedule]:
    return [Schedule(**r._mapping) for r in conn.execute(sa.text(f"{_SELECT} order by s.name"))]


def get(conn: Connection, name: str, *, for_update: bool = False) -> Schedule:
    row = conn.execute(sa.text(
        f"{_SELECT} where s.name = :n" + (" for update of s" if for_update else "")),
        {"n": name}).one_or_none()
    if row is None:
        names = ", ".join(s.name for s in list_all(conn))
        raise ResyncError(f"There is no schedule {name!r}; the schedules are {names}.")
    return Schedule(**row._mapping)


def owner(conn: Connection, name: str) -> str | None:
    """Who is told of the outcome of the schedule's own runs (None: nobody has set it yet)."""
    return conn.execute(sa.text(f"select updated_by from {_T}.schedule where name = :n"), {"n": name}).scalar()


def update(conn: Connection, name: str, *, cron: str | None = None, timezone: str | None = None,
           enabled: bool | None = None, by: str) -> Schedule:
    """Change a schedule and make `by` its owner; running workers pick the change up at once (pg_notify).

    Only due times after the change fire: a time earlier today is next due tomorrow.
    """
    current = get(conn, name, for_update=True)
    cron = validate_cron(cron) if cron is not None else current.cron
    if timezone is not None:
        zone_named(timezone)
    conn.execute(sa.text(
        f"update {_T}.schedule set cron = :c, timezone = :tz, enabled = :e, updated_at = now(), updated_by = :by"
        " where name = :n"
    ), {"c": cron, "tz": timezone or current.timezone, "e": current.enabled if enabled is None else enabled,
        "by": by, "n": name})
    conn.execute(sa.text("select pg_notify(:c, :n)"), {"c": SCHEDULE_CHANNEL, "n": name})
    return get(conn, name)


# --- a due schedule becomes a request ------------------------------------------------------

def enqueue_run(conn: Connection, name: str, *, due_at: datetime.datetime | None = None,
                requested_by: str | None = None) -> requests.Request | None:
    """Queue the schedule's run unless its previous run is still queued or running.

    Returns the new request, or None when nothing was queued (the reason is kept as the
    schedule's last outcome). `requested_by` is the schedule itself unless someone ran it by hand.
    """
    schedule = get(conn, name, for_update=True)  # serializes two due times of one schedule
    due_at = due_at or datetime.datetime.now(datetime.timezone.utc)
    previous = conn.execute(sa.text(
        f"select id, status from {_T}.request where schedule_name = :n and status in ('queued', 'running')"),
        {"n": name}).one_or_none()
    request = None
    if previous is not None:
        outcome = f"skipped: request {previous.id} of the previous run is still {previous.status}"
    else:
        try:
            with conn.begin_nested():  # a refusal below leaves the schedule's bookkeeping intact
                request, left_out = _submit(conn, schedule, requested_by or schedule.requester)
            outcome = f"queued request {request.id}" + (f"; left out {'; '.join(left_out)}" if left_out else "")
        except ResyncError as exc:
            outcome = f"nothing queued: {exc}"
    conn.execute(sa.text(
        f"update {_T}.schedule set last_due_at = :d, last_outcome = :o,"
        " last_request_id = coalesce(:r, last_request_id) where name = :n"
    ), {"d": due_at, "o": outcome, "r": request.id if request else None, "n": name})
    logger.info("Schedule %s due at %s: %s", name, due_at.isoformat(), outcome)
    return request


def _submit(conn: Connection, schedule: Schedule, requested_by: str) -> tuple[requests.Request, list[str]]:
    codes = [d.code for d in registry.resolve(conn, None, none_registered="no districts are registered")]
    if schedule.kind == "aggregation":
        return requests.submit_aggregation(conn, districts=None, refresh=False, requested_by=requested_by,
                                           schedule_name=schedule.name), []
    from . import resync, state_config

    objects = state_config.load().as_dict()["subscribed_objects"]
    # A district not ready for the current school year (no calendar yet, in early July) must not
    # hold back the others: keep the districts that `resync run` would accept on their own.
    ready, refused = [], []
    for code in codes:
        try:
            with conn.begin_nested():
                resync.build_plan(conn, [code], objects, True, None)
            ready.append(code)
        except ResyncError as exc:
            refused.append(f"{code} ({str(exc).rstrip('.')})")
    if not ready:
        raise ResyncError("no district can be synced: " + "; ".join(refused))
    return requests.submit_resync(conn, districts=ready, objects=objects, check_dependencies=True,
                                  school_year=None, requested_by=requested_by, schedule_name=schedule.name,
                                  per_district=True), refused


# --- the deferrer a worker runs ------------------------------------------------------------

class ScheduleDeferrer:
    """Feeds procrastinate's PeriodicDeferrer with the schedule table, reloading it on change.

    procrastinate's own periodic tasks are fixed in code at import time and read cron in UTC;
    ours live in a table, are edited while workers run, and name a time zone. So this builds a
    periodic registry from the table (with time-zone-aware cron iterators) and restarts the
    deferrer whenever the table changes, leaving the due-time arithmetic, the catch-up window and
    the once-across-workers guarantee to procrastinate.
    """

    #: Re-read the table at least this often, in case a notification was missed on reconnect.
    RELOAD_SECONDS = 60.0

    def __init__(self, app: Any, url: str):
        self.app = app
        self.url = url

    def _registry(self, schedules: list[Schedule]):
        """The enabled schedules that can come due; a broken one is logged and left out, never
        allowed to stop the others (procrastinate's deferrer dies on the first cron that fails)."""
        task = self.app.tasks["resync.run_schedule"]
        registry_ = periodic.PeriodicRegistry()
        for schedule in schedules:
            if not schedule.enabled:
                continue
            if schedule.problem:
                logger.error("Schedule %s is left out until it is fixed (`resync schedule set %s`): %s",
                             schedule.name, schedule.name, schedule.problem)
                continue
            key = (task.name, schedule.name)
            registry_.periodic_tasks[key] = _ZonedPeriodicTask(
                task=task, cron=schedule.cron, periodic_id=schedule.name,
                configure_kwargs={
                    "queue": queue.SCHEDULES_QUEUE, "priority": 10,
                    # at most one waiting trigger per schedule, however long the workers are busy
                    "queueing_lock": f"schedule:{schedule.name}",
                    "task_kwargs": {"schedule": schedule.name},
                },
                timezone=schedule.timezone,
            )
        return registry_

    def _deferrer(self, schedules: list[Schedule], previous: tuple[periodic.PeriodicDeferrer, list[Schedule]] | None):
        """A deferrer over the table that fires only due times after each schedule's last change.

        procrastinate's catch-up defers a due time up to ten minutes old when it first sees a
        schedule (a worker that was down at 02:00 still queues the 02:00 run at 02:05). A due
        time before the schedule was set is not one it missed: a schedule set at 10:03 for 10:00
        is next due tomorrow, as `schedule set` says. An unchanged schedule carries over the due
        times the previous deferrer handled.
        """
        deferrer = periodic.PeriodicDeferrer(self._registry(schedules), **self.app.periodic_defaults)
        by_name = {s.name: s for s in schedules}
        before = {s.name: s for s in previous[1]} if previous else {}
        for key, task in deferrer.registry.periodic_tasks.items():
            schedule = by_name[task.periodic_id]
            if previous and key in previous[0].last_defers and schedule.name in before \
                    and _setting(before[schedule.name]) == _setting(schedule):
                deferrer.last_defers[key] = previous[0].last_defers[key]
                continue
            changed = int(schedule.updated_at.timestamp())
            if time.time() - changed <= deferrer.max_delay:
                deferrer.last_defers[key] = changed
        return deferrer

    def _load(self) -> list[Schedule]:
        with database.transaction(self.url) as conn:
            return list_all(conn)

    async def run(self) -> None:
        """Run until cancelled; a lost database connection is retried, never fatal to the worker."""
        while True:
            try:
                await self._run_connected()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Schedule deferrer lost its connection; retrying in 5 s")
                await asyncio.sleep(5)

    async def _run_connected(self) -> None:
        deferring: tuple[periodic.PeriodicDeferrer, list[Schedule]] | None = None
        deferrer_task: asyncio.Task | None = None
        loaded: list[tuple] | None = None
        try:
            async with await database.connect_async(self.url, autocommit=True) as listener:
                await listener.execute(f'listen "{SCHEDULE_CHANNEL}"')
                while True:
                    schedules = await asyncio.to_thread(self._load)
                    signature = [_setting(s) for s in schedules]
                    failed = deferrer_task is not None and deferrer_task.done() and not deferrer_task.cancelled() \
                        and deferrer_task.exception() is not None
                    if failed:
                        logger.error("The schedule deferrer stopped; restarting it", exc_info=deferrer_task.exception())
                    if signature != loaded or failed:
                        if deferrer_task:
                            deferrer_task.cancel()
                        deferring = (self._deferrer(schedules, deferring), schedules)
                        # An empty registry makes procrastinate's deferrer return at once (and say
                        # so); the line below already says every schedule is off.
                        deferrer_task = asyncio.create_task(deferring[0].worker(), name="schedule deferrer")
                        loaded = signature
                        logger.info("Schedules: %s", ", ".join(_state_line(s) for s in schedules))
                    async for _ in listener.notifies(timeout=self.RELOAD_SECONDS, stop_after=1):
                        pass
        finally:
            if deferrer_task:
                deferrer_task.cancel()


def _setting(schedule: Schedule) -> tuple:
    """What a deferrer is built from: a change here reloads it."""
    return schedule.name, schedule.cron, schedule.timezone, schedule.enabled, schedule.updated_at


def _state_line(schedule: Schedule) -> str:
    if not schedule.enabled:
        return f"{schedule.name} disabled"
    if schedule.problem:
        return f"{schedule.name} broken"
    owner = f", told to {schedule.owner}" if schedule.owner else ", no owner (nobody is told)"
    return f"{schedule.name} {schedule.cron} ({schedule.timezone}{owner})"


@attr.dataclass(frozen=True)
class _ZonedPeriodicTask(periodic.PeriodicTask):
    """A periodic task whose cron is read in a time zone (procrastinate's reads it in UTC)."""

    timezone: str = "UTC"

    @functools.cached_property
    def croniter(self) -> croniter.croniter:
        # An aware start time makes croniter do all its arithmetic in that zone.
        return _Cron(self.cron, datetime.datetime.now(ZoneInfo(self.timezone)))
