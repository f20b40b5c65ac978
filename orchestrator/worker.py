"""`resync worker`: runs queued requests and the schedules, one dbt invocation at a time.

A worker is a procrastinate worker (concurrency 1: dbt is not safe to run twice at once in one
process) plus two companions on its event loop: the schedule deferrer (orchestrator.schedules)
and the stalled-request recovery below. Several workers may run at once, on one machine or many.

What a request run does (task `resync.run_request`):
1. marks the request running (counting one attempt; a request started MAX_ATTEMPTS times fails);
2. takes the advisory locks of every (district, object) pair it touches (orchestrator.scope_locks).
   When an overlapping request holds one, it does not wait on it: the request goes back to the
   queue, "waiting for request N", and the worker takes other work; N's worker makes it due
   again the moment N has released its locks (a timer catches a holder that died);
3. runs it in-process (resync.execute, the weekly full sync of orchestrator.full_sync, or the
   attendance aggregation) on the warm manifest;
4. stores the results and notifies the requester, in one transaction.

Stopping. Cancel (`resync cancel`) reaches the worker as a procrastinate abort request (LISTEN/
NOTIFY); SIGINT/SIGTERM make procrastinate stop fetching, wait up to the graceful timeout, then
abort the running job. Either way a watcher thread ends the work at once: it terminates this
worker's dbt database sessions (found by their application_name), so PostgreSQL rolls back the
object being replaced. A cancelled request ends `cancelled`; one stopped
by a shutdown goes back to the queue without spending an attempt.

Crash recovery. A worker killed outright (SIGKILL, power loss) leaves its job `doing` and its
heartbeat ageing; PostgreSQL rolls back its open transaction when the connection drops, so every
state table is as it was before that object's replacement. Any worker that sees the heartbeat
older than *that* worker's --stalled-after (each records its own, queue.record_worker) puts the
request back in the queue, and the next free worker runs it again from the start.

Logging. One line when a request starts and one when it ends, saying how (an ERROR when it
failed); procrastinate's own per-job lines, which call a failed or cancelled request a success or
an error with a traceback, are left out (_QueueLogFilter).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import psycopg
import sqlalchemy as sa
from procrastinate import exceptions as pexc
from procrastinate import job_context, retry
from procrastinate import worker as procrastinate_worker

from . import database, notifications, queue, requests, schedules
from .errors import ResyncError
from .scope_locks import ScopeLocks

logger = logging.getLogger("orchestrator.worker")

#: Environment variable dbt_project/profiles.yml reads as dbt's application_name: a worker sets
#: it to a name of its own so that it can find (and stop) its own dbt sessions.
APP_NAME_VARIABLE = "RESYNC_PGAPPNAME"
#: Any constant: one recovery pass at a time across all workers.
_RECOVERY_LOCK = 7_310_011
#: A request whose locks are held is looked at again after this long at the latest (its holder's
#: worker wakes it as soon as the locks are free; this covers a holder whose worker died).
LOCK_RETRY_SECONDS = 10.0
#: procrastinate prunes, at start-up, every worker silent for longer than the starting worker's
#: timeout. Pruning is ours (queue.prune_silent_workers, by each worker's own allowance), so its
#: own is kept out of the way.
_PROCRASTINATE_PRUNE_AFTER = 7 * 24 * 3600.0


@dataclass
class WorkerOptions:
    burst: bool = False  # process what is queued, then exit
    heartbeat: float = 10.0  # seconds between heartbeats
    stalled_after: float = queue.DEFAULT_STALLED_AFTER  # a worker silent this long is presumed dead
    graceful_timeout: float = 60.0  # on SIGTERM, seconds the running request gets to finish
    queues: list[str] | None = None  # default: every queue
    schedules: bool = True  # run the schedule deferrer (never in burst mode)
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    def __post_init__(self) -> None:
        # Otherwise a live worker between two heartbeats is presumed dead and its request run twice.
        if self.stalled_after <= self.heartbeat:
            raise ResyncError(f"stalled_after ({self.stalled_after:g} s) must be longer than heartbeat"
                              f" ({self.heartbeat:g} s).")


def dbt_application_name() -> str:
    return f"resync-worker-{os.getpid()}@{socket.gethostname()}"[:63]


# --- the process ---------------------------------------------------------------------------

def run(url: str, options: WorkerOptions) -> None:
    """Run a worker until stopped (or, with burst, until the queue is empty)."""
    _QueueLogFilter.install(options.name)
    _prepare_process(url)
    recover_stalled(url)
    asyncio.run(_serve(url, options))


def _prepare_process(url: str) -> None:
    os.environ[APP_NAME_VARIABLE] = dbt_application_name()
    # Workers share nothing on disk: a configured dbt target/log path gets a folder per worker.
    for variable in ("DBT_TARGET_PATH", "DBT_LOG_PATH"):
        if os.environ.get(variable):
            os.environ[variable] = os.path.join(os.environ[variable], f"worker-{os.getpid()}")
    with database.transaction(url) as conn:
        queue.ensure_queue_schema(conn)
    try:
        from . import dbt_invoker

        source = dbt_invoker.warm(url)
        logger.info("dbt manifest ready (%s)", source)
    except ResyncError as exc:  # the first request will report it properly
        logger.warning("dbt manifest not ready: %s", exc)


async def _serve(url: str, options: WorkerOptions) -> None:
    app = queue.app
    app.perform_import_paths()
    with app.replace_connector(queue.connector_for(url)):
        async with app.open_async():
            # Built here rather than by app.run_worker_async, to learn its id in the queue.
            worker = procrastinate_worker.Worker(
                app=app, queues=options.queues, wait=not options.burst, concurrency=1, name=options.name,
                update_heartbeat_interval=options.heartbeat, stalled_worker_timeout=_PROCRASTINATE_PRUNE_AFTER,
                shutdown_graceful_timeout=options.graceful_timeout,
                # new jobs and abort requests arrive by LISTEN/NOTIFY; polls are only a fallback
                fetch_job_polling_interval=30.0, abort_job_polling_interval=10.0,
                additional_context={"url": url, "worker": options.name},
            )
            companions = [asyncio.create_task(_record_allowance(worker, url, options))]
            if not options.burst:
                companions.append(asyncio.create_task(_recover_forever(url, options.heartbeat)))
                if options.schedules:
                    companions.append(asyncio.create_task(schedules.ScheduleDeferrer(app, url).run()))
            try:
                await worker.run()
            finally:
                for task in companions:
                    task.cancel()
                await asyncio.gather(*companions, return_exceptions=True)


async def _record_allowance(worker: procrastinate_worker.Worker, url: str, options: WorkerOptions) -> None:
    """As soon as the worker is registered in the queue, record how long it may stay silent."""
    while worker.worker_id is None:
        await asyncio.sleep(0.02)

    def record() -> None:
        with database.transaction(url) as conn:
            queue.record_worker(conn, worker.worker_id, name=options.name, heartbeat=options.heartbeat,
                                stalled_after=options.stalled_after)

    await asyncio.to_thread(record)


# --- stalled requests ----------------------------------------------------------------------

async def _recover_forever(url: str, every: float) -> None:
    while True:
        await asyncio.sleep(max(every, 0.5))
        try:
            await asyncio.to_thread(recover_stalled, url)
        except Exception:  # the database may be away for a moment: try again next time
            logger.exception("Stalled-request recovery failed")


def recover_stalled(url: str) -> list[int]:
    """Requeue the jobs of workers silent for longer than their own allowance; fail those out of
    attempts.

    Also fails a request still queued or running whose job has ended (its worker gave up on it
    after errors it could not record), so that no request waits for ever. One pass at a time
    across workers (a transaction-level advisory lock), in one transaction, so two workers never
    requeue one job twice. Returns the request ids put back in the queue.
    """
    requeued = []
    with database.transaction(url) as conn:
        if not conn.execute(sa.text("select pg_try_advisory_xact_lock(:k)"), {"k": _RECOVERY_LOCK}).scalar():
            return []
        for job in queue.stalled_jobs(conn):
            request_id = (job["args"] or {}).get("request_id")
            request = requests.get(conn, request_id) if request_id else None
            if request is not None and request.attempts >= requests.MAX_ATTEMPTS:
                requests.finish(conn, request.id, requests.FAILED, error=(
                    f"Gave up after {request.attempts} attempts: the worker running it stopped each"
                    f" time before it finished (last on {request.worker})."))
                queue.run_query(conn, "finish_job", job_id=job["id"], status="failed", delete_job=False)
                continue
            if request is not None:
                requests.requeue(conn, request.id, count_attempt=True, reason=(
                    f"Requeued: the worker running it ({request.worker}) stopped answering."))
                requeued.append(request.id)
            queue.run_query(conn, "retry_job", job_id=job["id"],
                            retry_at=datetime.datetime.now(datetime.timezone.utc),
                            new_priority=None, new_queue_name=None, new_lock=None)
        queue.prune_silent_workers(conn)
        for request_id in queue.requests_without_live_job(conn):
            requests.finish(conn, request_id, requests.FAILED, error=(
                "Its worker could not record an outcome (see that worker's log); run it again if needed."))
    for request_id in requeued:
        logger.warning("Request %s was running on a worker that stopped answering; requeued", request_id)
    return requeued


# --- the tasks -----------------------------------------------------------------------------

class _QueueLogFilter(logging.Filter):
    """Leaves out procrastinate's lines about our jobs, which our own lines say once and rightly.

    procrastinate logs a job that returned as "Success" (a failed request is recorded, then the
    job returns), an aborted one with the JobAborted traceback (an ordinary cancel), a periodic
    deferral beside our "Schedule ... due" line, and "No periodic task found" about its own
    deferrer, which we do not use (ours is orchestrator.schedules). Errors our tasks did not
    expect (job_error) still show, traceback and all.
    """

    _SAID_BY_US = {"start_job", "job_success", "job_aborted", "job_aborted_retry", "periodic_task_deferred",
                   "periodic_deferrer_no_task"}

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "action", None) not in self._SAID_BY_US

    @classmethod
    def install(cls, worker_name: str) -> None:
        # Filters apply to records of the logger they are on, not of its children: each by name.
        for name in ("procrastinate.worker", f"procrastinate.worker.{worker_name}", "procrastinate.periodic"):
            target = logging.getLogger(name)
            if not any(isinstance(f, cls) for f in target.filters):
                target.addFilter(cls())


class _RetryPolicy(retry.BaseRetryStrategy):
    """When procrastinate runs a job again.

    - Stopped by a worker shutdown: straight back to the queue.
    - The task itself raised (the database went away while recording an outcome): again in a
      few seconds, up to MAX_ATTEMPTS times; a request that still cannot finish is failed by the
      recovery pass (recover_stalled, above), so none stays `running` for ever.
    - A failed resync is *not* retried: the task records it and returns. dbt and SQL failures are
      deterministic, and the requester is told.
    """

    def get_retry_decision(self, *, exception: BaseException, job: Any) -> retry.RetryDecision | None:
        if isinstance(exception, pexc.JobAborted):
            return retry.RetryDecision(retry_in={"seconds": 0})
        if job.attempts + 1 < requests.MAX_ATTEMPTS:
            return retry.RetryDecision(retry_in={"seconds": 5})
        return None


@queue.app.task(name=queue.RUN_REQUEST_TASK, queue=queue.REQUESTS_QUEUE, pass_context=True,
                retry=_RetryPolicy())
def run_request(context: job_context.JobContext, request_id: int) -> str:
    url = context.additional_context["url"]
    worker = context.additional_context["worker"]
    with database.transaction(url) as conn:
        request = requests.start(conn, request_id, worker=worker)
    if request is None:
        logger.info("Request %s was not run: it had already ended or been cancelled", request_id)
        return "not run"
    return _RequestRun(url, request, context).run()


@queue.app.task(name="resync.run_schedule", queue=queue.SCHEDULES_QUEUE, pass_context=True)
def run_schedule(context: job_context.JobContext, schedule: str, timestamp: int) -> str:
    url = context.additional_context["url"]
    due_at = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    with database.transaction(url) as conn:
        request = schedules.enqueue_run(conn, schedule, due_at=due_at)  # logs the outcome
    return f"queued request {request.id}" if request else "nothing queued"


class _RequestRun:
    """One start of one request on this worker."""

    def __init__(self, url: str, request: requests.Request, context: job_context.JobContext):
        self.url = url
        self.request = request
        self.context = context
        self.stop_reason: job_context.AbortReason | None = None
        self._done = threading.Event()

    # -- the run --

    def run(self) -> str:
        watcher = threading.Thread(target=self._watch, name=f"request {self.request.id} watcher", daemon=True)
        watcher.start()
        locks: ScopeLocks | None = None
        holding = False
        outcome: tuple[str, dict | None, str | None]
        try:
            try:
                target = self._target()  # validates again: the registry may have changed since queueing
                locks = ScopeLocks(self.url, target.pairs, request_id=self.request.id)
                busy = locks.try_acquire()
                if busy is not None and locks.holder(busy) is None:
                    busy = locks.try_acquire()  # its holder may just have ended: one more look
                if busy is not None:
                    return self._wait_for(busy, locks.holder(busy))
                holding = True
                with database.transaction(self.url) as conn:
                    requests.begin_work(conn, self.request.id)
                logger.info("Request %s started (attempt %s): %s", self.request.id, self.request.attempts,
                            self.request.describe())
                outcome = target.run(self._progress, lambda: self.stop_reason is not None)
            except ResyncError as exc:
                outcome = (requests.FAILED, None, str(exc))
            except Exception as exc:  # a bug or a lost database: fail the request, keep the worker
                logger.exception("Request %s failed unexpectedly", self.request.id)
                outcome = (requests.FAILED, None,
                           f"Unexpected error: {' '.join(str(exc).split()) or type(exc).__name__}.")
            finally:
                self._done.set()
                watcher.join()
            # Still holding the locks: the next request on these pairs starts after this one is recorded.
            return self._conclude(*outcome)
        finally:
            if locks:
                locks.release()
            if holding:
                self._wake_waiters()

    def _target(self) -> "_Target":
        with database.transaction(self.url) as conn:
            if self.request.kind == "aggregation":
                return _AggregationTarget.build(conn, self.request, self.url)
            return _ResyncTarget.build(conn, self.request, self.url)

    def _wait_for(self, pair: tuple[str, str], holder: int | None) -> str:
        """An overlapping request holds `pair`: back to the queue, and this worker takes other work."""
        if self.stop_reason == job_context.AbortReason.USER_REQUEST:
            return self._conclude(requests.CANCELLED, None, None)
        with database.transaction(self.url) as conn:
            waiting = requests.wait_for_locks(conn, self.request.id, holder=holder, pair=pair,
                                              retry_after=LOCK_RETRY_SECONDS)
        if not waiting:  # cancelled meanwhile
            return self._conclude(requests.CANCELLED, None, None)
        logger.info("Request %s waits for %s (%s of district %s); this worker takes other work",
                    self.request.id, f"request {holder}" if holder else "another request", pair[1], pair[0])
        return "waiting"

    def _wake_waiters(self) -> None:
        try:
            with database.transaction(self.url) as conn:
                requests.wake_waiters(conn, self.request.id)
        except Exception:  # they are looked at again in LOCK_RETRY_SECONDS anyway
            logger.exception("Could not wake the requests waiting for request %s", self.request.id)

    def _conclude(self, status: str, results: dict | None, error: str | None) -> str:
        reason = self.stop_reason
        stopped = reason is not None and status != requests.SUCCEEDED
        with database.transaction(self.url) as conn:
            if stopped and reason == job_context.AbortReason.SHUTDOWN:
                requests.requeue(conn, self.request.id, count_attempt=False,
                                 reason="Requeued: its worker was stopped; the object in progress was rolled back.")
                ended = None
            elif stopped or status == requests.CANCELLED:
                current = requests.get(conn, self.request.id)
                ended = requests.finish(conn, self.request.id, requests.CANCELLED, results=results,
                                        error=_cancel_sentence(current.cancel_requested_by, results))
            else:
                ended = requests.finish(conn, self.request.id, status, results=results, error=error)
        if ended is None:
            logger.warning("Request %s requeued: this worker was stopped; the object in progress was rolled back",
                           self.request.id)
        else:  # the sentence its requester gets
            logger.log(logging.ERROR if ended.status == requests.FAILED else logging.INFO, "%s",
                       notifications.message_for(ended))
        if stopped:
            raise pexc.JobAborted(f"request {self.request.id} stopped ({reason.value})")
        return status

    # -- progress --

    def _progress(self, event: dict) -> None:
        try:
            with database.transaction(self.url) as conn:
                requests.record_progress(conn, self.request.id, event)
        except Exception:  # progress is a courtesy: never let it break a run
            logger.exception("Could not record progress of request %s", self.request.id)

    # -- stopping --

    def _watch(self) -> None:
        """Poll the abort flag (set in memory by the worker's listener); stop the work when it rises."""
        while not self._done.wait(0.1):
            reason = self.context.abort_reason()
            if reason is None:
                continue
            self.stop_reason = reason
            logger.info("Stopping request %s (%s)", self.request.id,
                        "cancelled" if reason == job_context.AbortReason.USER_REQUEST else "worker stopping")
            # Repeat until the run returns: a new dbt session may open between two passes.
            while not self._done.wait(0.2):
                _terminate_dbt_sessions(self.url)
            return


def _terminate_dbt_sessions(url: str) -> None:
    """End this worker's dbt sessions: PostgreSQL rolls back whatever they had not committed."""
    try:
        with database.connect(url, autocommit=True) as conn:
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity"
                " where application_name = %s and datname = current_database() and pid <> pg_backend_pid()",
                (dbt_application_name(),),
            )
    except (psycopg.Error, ResyncError):
        logger.exception("Could not stop the dbt sessions of this worker")


def _cancel_sentence(by: str | None, results: dict | None) -> str:
    """What a cancel left behind: what was finished (and stays), what was rolled back."""
    who = f"Cancelled by {by}" if by else "Cancelled"
    results = results or {}
    # A district that ended is the step that stays (the aggregation's, which commits each dbt run,
    # and a full sync's run again district by district); in one resync run of all, the object is.
    steps = [(f"district {d['district']}", d.get("status")) for d in results.get("districts") or []
             if d.get("run", "alone") == "alone"] \
        or [(o["object"], o.get("status")) for o in results.get("objects") or []]
    if not steps:
        return f"{who} while it ran; nothing was changed."
    done = list(dict.fromkeys(name for name, status in steps if status == "success"))
    rolled_back = list(dict.fromkeys(name for name, status in steps if status == "error"))
    parts = [f"{who} while it ran"]
    parts.append(f"{', '.join(done)} had been replaced and stay{'s' if len(done) == 1 else ''} so" if done
                 else "no object had been replaced yet")
    if rolled_back:
        parts.append(f"{', '.join(rolled_back)} {'was' if len(rolled_back) == 1 else 'were'} rolled back")
    return "; ".join(parts) + "."


# --- what a request runs -------------------------------------------------------------------

class _Target:
    """What a request runs: the pairs it locks, and the run itself -> (status, results, error)."""

    pairs: list[tuple[str, str]]

    def run(self, progress: Callable[[dict], None],
            should_stop: Callable[[], bool]) -> tuple[str, dict | None, str | None]:
        raise NotImplementedError


class _StopBetweenSteps(Exception):
    """Raised from a progress callback outside dbt, to stop a multi-step run before its next step."""


@dataclass
class _ResyncTarget(_Target):
    """One plan; or, for a schedule's full sync (selection `per_district`), one plan of every
    district that could be planned, run together, and one plan per district for running them on
    their own if that run fails (orchestrator.full_sync)."""

    plans: list[Any]  # the plan to run; per_district: each district's own, for full_sync
    refused: list[tuple[str, str]]  # districts that could not be planned at run time, and why
    url: str
    pairs: list[tuple[str, str]]
    origin: Any = None  # state_view.sync_log.SyncOrigin: the request, for `resync freshness`
    together: Any = None  # per_district: the plan of every district in `plans`

    @classmethod
    def build(cls, conn, request: requests.Request, url: str) -> "_ResyncTarget":
        from . import resync
        from .state_view.sync_log import SyncOrigin

        s = request.selection
        # The school year was fixed when it was queued: one queued on June 30 still means that
        # year when it runs on July 1.
        year = s["school_year"] if s.get("school_year") is not None else (request.plan or {}).get("school_year")

        def plan(districts: list[str]) -> Any:
            return resync.build_plan(conn, districts, s["objects"], s["check_dependencies"], year,
                                     full_refresh=s.get("full_refresh", False))

        plans, refused, together = [], [], None
        if not s.get("per_district"):
            plans.append(plan(s["districts"]))
        else:
            for code in s["districts"]:
                try:
                    with conn.begin_nested():
                        plans.append(plan([code]))
                except ResyncError as exc:
                    refused.append((code, str(exc)))
            if not plans:
                raise ResyncError(" ".join(reason for _, reason in refused))
            together = plan([c for p in plans for c in p.district_codes])
        pairs = [(d.code, o.model_name) for p in plans for d in p.districts for o in p.objects]
        return cls(plans=plans, refused=refused, url=url, pairs=pairs, origin=SyncOrigin.of_request(request),
                   together=together)

    def run(self, progress, should_stop):
        from . import full_sync, resync
        from .request_progress import EventRecorder

        recorder = EventRecorder(progress)
        if self.together is not None:
            return full_sync.run(self.together, {p.district_codes[0]: p for p in self.plans}, self.refused,
                                 url=self.url, origin=self.origin, recorder=recorder, should_stop=should_stop)
        [plan] = self.plans
        result = resync.execute(plan, url=self.url, on_progress=recorder.listener(plan.district_codes),
                                origin=self.origin)
        return (requests.SUCCEEDED if result.ok else requests.FAILED), result.as_dict(), result.error


@dataclass
class _AggregationTarget(_Target):
    districts: list[str] | None
    refresh: bool
    pairs: list[tuple[str, str]]
    url: str
    origin: Any = None  # state_view.sync_log.SyncOrigin: the request, for `resync freshness`

    @classmethod
    def build(cls, conn, request: requests.Request, url: str) -> "_AggregationTarget":
        from . import registry
        from .state_view.sync_log import SyncOrigin

        codes = [d.code for d in registry.resolve(conn, request.selection.get("districts"))]
        return cls(districts=request.selection.get("districts"), refresh=bool(request.selection.get("refresh")),
                   pairs=[(code, "att_day_aggregation") for code in codes], url=url,
                   origin=SyncOrigin.of_request(request))

    def run(self, progress, should_stop):
        from . import aggregation

        finished: list[dict] = []

        def on_district(outcome: Any) -> None:
            finished.append(outcome.as_dict())
            progress({"message": f"district {outcome.district}: {outcome.status} ({outcome.mode})",
                      "district": outcome.district, "status": outcome.status})
            if should_stop():  # between two dbt runs: stop cleanly, no session to end
                raise _StopBetweenSteps()

        try:
            result = aggregation.aggregate(district_codes=self.districts, refresh=self.refresh, url=self.url,
                                           on_district=on_district, origin=self.origin,
                                           should_stop=should_stop)
        except _StopBetweenSteps:
            return requests.CANCELLED, {"districts": finished}, None
        return (requests.SUCCEEDED if result.ok else requests.FAILED), result.as_dict(), result.error
