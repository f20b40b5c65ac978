"""`resync worker`: runs queued requests and the schedules, one dbt invocation at a time.

A worker is a procrastinate worker (concurrency 1: dbt is not safe to run twice at once in one
process) plus two companions on its event loop: the schedule deferrer (orchestrator.schedules)
and the stalled-request recovery below. Several workers may run at once, on one machine or many.

What a request run does (task `resync.run_request`):
1. marks the request running (counting one attempt; a request started MAX_ATTEMPTS times fails);
2. takes the advisory locks of every (district, object) pair it touches (orchestrator.scope_locks),
   waiting for overlapping requests, never for unrelated ones;
3. runs it in-process (resync.execute, or the attendance aggregation) on the warm manifest;
4. stores the results and notifies the requester, in one transaction.

Stopping. Cancel (`resync cancel`) reaches the worker as a procrastinate abort request (LISTEN/
NOTIFY); SIGINT/SIGTERM make procrastinate stop fetching, wait up to the graceful timeout, then
abort the running job. Either way a watcher thread ends the work at once: it interrupts a wait for
locks and terminates this worker's dbt database sessions (found by their application_name), so
PostgreSQL rolls back the object being replaced. A cancelled request ends `cancelled`; one stopped
by a shutdown goes back to the queue without spending an attempt.

Crash recovery. A worker killed outright (SIGKILL, power loss) leaves its job `doing` and its
heartbeat ageing; PostgreSQL rolls back its open transaction when the connection drops, so every
state table is as it was before that object's replacement. Any worker that sees the heartbeat
older than --stalled-after seconds puts the request back in the queue (procrastinate's
stalled-job detection), and the next free worker runs it again from the start.
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

from . import database, queue, requests, schedules
from .errors import ResyncError
from .scope_locks import LockWaitCancelled, ScopeLocks

logger = logging.getLogger("orchestrator.worker")

#: Environment variable dbt_project/profiles.yml reads as dbt's application_name: a worker sets
#: it to a name of its own so that it can find (and stop) its own dbt sessions.
APP_NAME_VARIABLE = "RESYNC_PGAPPNAME"
#: Any constant: one recovery pass at a time across all workers.
_RECOVERY_LOCK = 7_310_011


@dataclass
class WorkerOptions:
    burst: bool = False  # process what is queued, then exit
    heartbeat: float = 10.0  # seconds between heartbeats
    stalled_after: float = 30.0  # a worker silent this long is presumed dead
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
    _prepare_process(url)
    recover_stalled(url, options.stalled_after)
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
            companions = []
            if not options.burst:
                companions.append(asyncio.create_task(_recover_forever(url, options.stalled_after)))
                if options.schedules:
                    companions.append(asyncio.create_task(schedules.ScheduleDeferrer(app, url).run()))
            try:
                await app.run_worker_async(
                    queues=options.queues, wait=not options.burst, concurrency=1, name=options.name,
                    update_heartbeat_interval=options.heartbeat, stalled_worker_timeout=options.stalled_after,
                    shutdown_graceful_timeout=options.graceful_timeout,
                    # new jobs and abort requests arrive by LISTEN/NOTIFY; polls are only a fallback
                    fetch_job_polling_interval=30.0, abort_job_polling_interval=10.0,
                    additional_context={"url": url, "worker": options.name},
                )
            finally:
                for task in companions:
                    task.cancel()
                await asyncio.gather(*companions, return_exceptions=True)


# --- stalled requests ----------------------------------------------------------------------

async def _recover_forever(url: str, stalled_after: float) -> None:
    while True:
        await asyncio.sleep(max(stalled_after / 2, 0.5))
        try:
            await asyncio.to_thread(recover_stalled, url, stalled_after)
        except Exception:  # the database may be away for a moment: try again next time
            logger.exception("Stalled-request recovery failed")


def recover_stalled(url: str, stalled_after: float) -> list[int]:
    """Requeue the jobs of workers silent for `stalled_after` seconds; fail those out of attempts.

    Also fails a request still queued or running whose job has ended (its worker gave up on it
    after errors it could not record), so that no request waits for ever. One pass at a time
    across workers (a transaction-level advisory lock), in one transaction, so two workers never
    requeue one job twice. Returns the request ids put back in the queue.
    """
    requeued = []
    with database.transaction(url) as conn:
        if not conn.execute(sa.text("select pg_try_advisory_xact_lock(:k)"), {"k": _RECOVERY_LOCK}).scalar():
            return []
        stalled = queue.run_query(conn, "select_stalled_jobs_by_heartbeat", queue=None, task_name=None,
                                  seconds_since_heartbeat=stalled_after)
        for job in stalled:
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
        for request_id in queue.requests_without_live_job(conn):
            requests.finish(conn, request_id, requests.FAILED, error=(
                "Its worker could not record an outcome (see that worker's log); run it again if needed."))
    for request_id in requeued:
        logger.warning("Request %s was running on a worker that stopped answering; requeued", request_id)
    return requeued


# --- the tasks -----------------------------------------------------------------------------

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


@queue.app.task(name="resync.run_request", queue=queue.REQUESTS_QUEUE, pass_context=True,
                retry=_RetryPolicy())
def run_request(context: job_context.JobContext, request_id: int) -> str:
    url = context.additional_context["url"]
    worker = context.additional_context["worker"]
    with database.transaction(url) as conn:
        request = requests.start(conn, request_id, worker=worker)
    if request is None:
        return "not run"
    return _RequestRun(url, request, context).run()


@queue.app.task(name="resync.run_schedule", queue=queue.SCHEDULES_QUEUE, pass_context=True)
def run_schedule(context: job_context.JobContext, schedule: str, timestamp: int) -> str:
    url = context.additional_context["url"]
    due_at = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    with database.transaction(url) as conn:
        request = schedules.enqueue_run(conn, schedule, due_at=due_at)
    return f"queued request {request.id}" if request else "nothing queued"


class _RequestRun:
    """One start of one request on this worker."""

    def __init__(self, url: str, request: requests.Request, context: job_context.JobContext):
        self.url = url
        self.request = request
        self.context = context
        self.stop_reason: job_context.AbortReason | None = None
        self._done = threading.Event()
        self._locks: ScopeLocks | None = None

    # -- the run --

    def run(self) -> str:
        watcher = threading.Thread(target=self._watch, name=f"request {self.request.id} watcher", daemon=True)
        watcher.start()
        outcome: tuple[str, dict | None, str | None]
        try:
            try:
                target = self._target()  # validates again: the registry may have changed since queueing
                self._locks = ScopeLocks(self.url, target.pairs, application_name=dbt_application_name() + "-locks")
                self._locks.acquire(on_wait=self._waiting_for)
                with database.transaction(self.url) as conn:
                    requests.begin_work(conn, self.request.id)
                outcome = target.run(self._progress, lambda: self.stop_reason is not None)
            except LockWaitCancelled:
                outcome = (requests.CANCELLED, None, None)
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
            if self._locks:
                self._locks.release()

    def _target(self) -> "_Target":
        with database.transaction(self.url) as conn:
            if self.request.kind == "aggregation":
                return _AggregationTarget.build(conn, self.request, self.url)
            return _ResyncTarget.build(conn, self.request, self.url)

    def _conclude(self, status: str, results: dict | None, error: str | None) -> str:
        reason = self.stop_reason
        stopped = reason is not None and status != requests.SUCCEEDED
        with database.transaction(self.url) as conn:
            if stopped and reason == job_context.AbortReason.SHUTDOWN:
                requests.requeue(conn, self.request.id, count_attempt=False,
                                 reason="Requeued: its worker was stopped; the object in progress was rolled back.")
            elif stopped:
                current = requests.get(conn, self.request.id)
                requests.finish(conn, self.request.id, requests.CANCELLED, results=results,
                                error=_cancel_sentence(current.cancel_requested_by, results))
            else:
                requests.finish(conn, self.request.id, status, results=results, error=error)
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

    def _waiting_for(self, pair: tuple[str, str]) -> None:
        district, model = pair
        self._progress({"message": f"waiting for another request that is replacing {model} of district {district}"})

    # -- stopping --

    def _watch(self) -> None:
        """Poll the abort flag (set in memory by the worker's listener); stop the work when it rises."""
        while not self._done.wait(0.1):
            reason = self.context.abort_reason()
            if reason is None:
                continue
            self.stop_reason = reason
            logger.info("Stopping request %s (%s)", self.request.id, reason.value)
            # Repeat until the run returns: a new dbt session may open between two passes.
            while not self._done.wait(0.2):
                if self._locks:
                    self._locks.cancel()
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
    steps = [(o["object"], o.get("status")) for o in results.get("objects") or []]
    steps += [(f"district {d['district']}", d.get("status")) for d in results.get("districts") or []]
    if not steps:
        return f"{who} while it ran; nothing was changed."
    done = list(dict.fromkeys(name for name, status in steps if status == "success"))
    rolled_back = list(dict.fromkeys(name for name, status in steps if status == "error"))
    parts = [f"{who} while it ran"]
    parts.append(f"{', '.join(done)} had been replaced and stay{'s' if len(done) == 1 else ''} so" if done
                 else "no object had been replaced yet")
    if rolled_back:
        parts.append(f"{', '.join(rolled_back)} was rolled back")
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
    plan: Any
    url: str
    pairs: list[tuple[str, str]]

    @classmethod
    def build(cls, conn, request: requests.Request, url: str) -> "_ResyncTarget":
        from . import resync

        s = request.selection
        plan = resync.build_plan(conn, s["districts"], s["objects"], s["check_dependencies"], s["school_year"],
                                 full_refresh=s.get("full_refresh", False))
        pairs = [(d.code, o.model_name) for d in plan.districts for o in plan.objects]
        return cls(plan=plan, url=url, pairs=pairs)

    def run(self, progress, should_stop):
        from . import resync

        def on_progress(event: Any) -> None:
            progress({"message": f"{event.kind} {event.object} ({event.index}/{event.total})"
                                 + (f": {event.status}" if event.status else ""),
                      "object": event.object, "index": event.index, "total": event.total,
                      "event": event.kind, "status": event.status})

        result = resync.execute(self.plan, url=self.url, on_progress=on_progress)
        data = result.as_dict()
        return (requests.SUCCEEDED if result.ok else requests.FAILED), data, result.error


@dataclass
class _AggregationTarget(_Target):
    districts: list[str] | None
    refresh: bool
    pairs: list[tuple[str, str]]
    url: str

    @classmethod
    def build(cls, conn, request: requests.Request, url: str) -> "_AggregationTarget":
        from . import registry

        codes = [d.code for d in registry.resolve(conn, request.selection.get("districts"))]
        return cls(districts=request.selection.get("districts"), refresh=bool(request.selection.get("refresh")),
                   pairs=[(code, "att_day_aggregation") for code in codes], url=url)

    def run(self, progress, should_stop):
        from . import aggregation

        finished: list[dict] = []

        def on_district(outcome: Any) -> None:
            finished.append(outcome.as_dict())
            progress({"message": f"district {outcome.district}: {outcome.status} ({outcome.mode})",
                      "district": outcome.district, "status": outcome.status})
            if should_stop():  # between two districts' dbt runs: stop cleanly, no session to end
                raise _StopBetweenSteps()

        try:
            result = aggregation.aggregate(district_codes=self.districts, refresh=self.refresh, url=self.url,
                                           on_district=on_district)
        except _StopBetweenSteps:
            return requests.CANCELLED, {"districts": finished}, None
        return (requests.SUCCEEDED if result.ok else requests.FAILED), result.as_dict(), result.error
