"""The job queue that carries requests to workers: procrastinate, in the state database.

Why procrastinate rather than hand-written machinery: it already gives what the workers need —
jobs fetched with `FOR UPDATE SKIP LOCKED`, LISTEN/NOTIFY wake-ups, abort requests, worker
heartbeats with stalled-job detection, and periodic deferral that two workers never double. The
user-facing lifecycle (who asked for what, results, notifications) lives in our own tables
(`resync.request`, see sql/tool/010_requests.sql); a procrastinate job only carries a request id.

Its tables, functions and types live in their own schema, `resync_queue`, so the tool schema stays
readable; every queue connection puts that schema on its search_path. The schema is installed
from procrastinate's own schema.sql, and later procrastinate releases are followed by applying
the migration files it ships, recorded in the tool's schema_migration table like ours.
"""

from __future__ import annotations

import contextlib
import datetime
from pathlib import Path
from typing import Any, Iterator

import procrastinate
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import database, migrations, settings

QUEUE_SCHEMA = "resync_queue"
#: Queue of the resync and aggregation requests. Jobs for it are deferred by the tool schema's
#: resync.queue_request (sql/tool/060_rights.sql), which names this queue and the task.
REQUESTS_QUEUE = "requests"
#: Queue of the short jobs that turn a due schedule into a request.
SCHEDULES_QUEUE = "schedules"
#: The task that runs a request (declared in orchestrator.worker; queue_request names it too).
RUN_REQUEST_TASK = "resync.run_request"

_MIGRATION_PREFIX = "procrastinate/"

#: The one procrastinate app of the process. Its tasks are declared in orchestrator.worker. It has
#: no connection settings of its own: a worker swaps in a connector for the configured database
#: (`app.replace_connector(connector_for(url))`), and the CLI passes its own transaction's
#: connection to every call (run_query). A request's job is deferred in SQL, with the request row
#: (resync.queue_request), so that both commit together.
app = procrastinate.App(connector=procrastinate.PsycopgConnector(), import_paths=["orchestrator.worker"])


def connection_options() -> str:
    """libpq options that make a connection see the queue's tables and functions."""
    return f"-c search_path={QUEUE_SCHEMA}"


def connector_for(url: str) -> procrastinate.PsycopgConnector:
    """A pooled async connector for a worker (listener, heartbeats, fetches, the scheduler)."""
    return procrastinate.PsycopgConnector(
        conninfo=url, kwargs={"options": connection_options()}, min_size=1, max_size=4,
    )


# --- the schema ----------------------------------------------------------------------------

def _migration_files() -> list[Path]:
    folder = Path(procrastinate.schema.SchemaManager.get_migrations_path())
    return sorted(folder.glob("*.sql"))


def ensure_queue_schema(conn: Connection) -> None:
    """Install or upgrade procrastinate's schema inside the caller's transaction.

    Under the same advisory lock as the tool's migrations, so two first commands never race.
    Up to date, it only reads (a user without the right to change it runs every command).
    """
    migrations.ensure_tool_schema(conn)
    files = _migration_files()
    wanted = [_MIGRATION_PREFIX + f.name for f in files] + list(_OUR_ADDITIONS)
    if set(wanted) <= (migrations.applied_names(conn) or set()):
        return
    with migrations.owner_needed():
        _install(conn, files)


def _install(conn: Connection, files: list[Path]) -> None:
    tool = settings.TOOL_SCHEMA
    migrations.lock(conn)
    applied = set(conn.execute(sa.text(
        f'select name from "{tool}".schema_migration where name like :p'), {"p": _MIGRATION_PREFIX + "%"}
    ).scalars())
    installed = conn.execute(sa.text("select to_regclass(:t)"), {"t": f"{QUEUE_SCHEMA}.procrastinate_jobs"}).scalar()
    with queue_search_path(conn):
        if installed is None:
            conn.execute(sa.text(f'create schema if not exists "{QUEUE_SCHEMA}"'))
            database.run_script(conn, procrastinate.schema.SchemaManager.get_schema())
            pending = files  # schema.sql is the latest state: every shipped migration is in it
            run = False
        else:
            pending = [f for f in files if _MIGRATION_PREFIX + f.name not in applied]
            run = True
        for path in pending:
            if run:
                database.run_script(conn, path.read_text())
            conn.execute(sa.text(f'insert into "{tool}".schema_migration (name) values (:n)'),
                         {"n": _MIGRATION_PREFIX + path.name})
        for name, script in _OUR_ADDITIONS.items():
            if name not in applied:
                database.run_script(conn, script)
                conn.execute(sa.text(f'insert into "{tool}".schema_migration (name) values (:n)'), {"n": name})
                pending.append(name)
        if pending:
            _pin_function_search_path(conn)
            database.run_script(conn, _SERVICE_ROLE_GRANTS)


#: The queue is the worker's (resync_worker, see sql/tool/060_rights.sql): users get no part of
#: it but the workers' heartbeats (`resync status` counts live workers). Applied again after
#: every upgrade, which may add tables or functions.
_SERVICE_ROLE_GRANTS = f"""
    revoke execute on all functions in schema {QUEUE_SCHEMA} from public;
    grant usage on schema {QUEUE_SCHEMA} to resync_worker, resync_read;
    grant all on all tables in schema {QUEUE_SCHEMA} to resync_worker;
    grant all on all sequences in schema {QUEUE_SCHEMA} to resync_worker;
    grant execute on all functions in schema {QUEUE_SCHEMA} to resync_worker;
    grant select on {QUEUE_SCHEMA}.procrastinate_workers to resync_read;
    -- Each worker's allowance (sql/tool/050_worker.sql, older than the roles of 060).
    grant select on "{settings.TOOL_SCHEMA}".worker to resync_read;
    grant insert, update, delete on "{settings.TOOL_SCHEMA}".worker to resync_worker;
"""


#: What we add to procrastinate's schema, each applied once (recorded like its migrations).
_OUR_ADDITIONS = {
    # procrastinate wakes idle workers when a job is inserted, but not when a job goes back to
    # `todo` (a stalled job requeued, a job retried after a shutdown): without this they would
    # only notice at their next poll. Same notification, from procrastinate's own function.
    _MIGRATION_PREFIX + "resync_01_notify_requeued_jobs": """
        create trigger resync_notify_requeued_job
            after update of status on procrastinate_jobs
            for each row when (old.status <> 'todo' and new.status = 'todo')
            execute procedure procrastinate_notify_queue_job_inserted_v1();
    """,
    # A queue installed before rights existed gets the service role's grants (listed below).
    _MIGRATION_PREFIX + "resync_02_service_role": "select 1",
    # Nor when a job scheduled for later is made due now (a request whose locks were freed).
    _MIGRATION_PREFIX + "resync_03_notify_jobs_made_due": """
        create trigger resync_notify_job_made_due
            after update of scheduled_at on procrastinate_jobs
            for each row when (new.status = 'todo' and old.scheduled_at > now() and new.scheduled_at <= now())
            execute procedure procrastinate_notify_queue_job_inserted_v1();
    """,
}


def _pin_function_search_path(conn: Connection) -> None:
    """Give every queue function the queue schema as its search_path.

    procrastinate's functions and triggers name its types and tables unqualified. Pinned, they work
    whatever the caller's search_path, e.g. when an operator fixes a job row by hand in psql.
    """
    conn.execute(sa.text(f"""
        do $$
        declare f regprocedure;
        begin
            for f in select p.oid::regprocedure from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                     where n.nspname = '{QUEUE_SCHEMA}' and p.prokind in ('f', 'p')
            loop
                execute format('alter routine %s set search_path = {QUEUE_SCHEMA}', f);
            end loop;
        end $$"""))


@contextlib.contextmanager
def queue_search_path(conn: Connection) -> Iterator[None]:
    """Procrastinate's SQL names its objects unqualified: see its schema for this block only."""
    previous = conn.execute(sa.text("select current_setting('search_path')")).scalar()
    conn.execute(sa.text(f'set local search_path to "{QUEUE_SCHEMA}"'))
    try:
        yield
    finally:
        conn.execute(sa.text("select set_config('search_path', :p, true)"), {"p": previous})


def driver_connection(conn: Connection) -> Any:
    """The psycopg connection under a SQLAlchemy one, for procrastinate calls in our transaction."""
    return conn.connection.driver_connection


# --- jobs ----------------------------------------------------------------------------------

def defer_request(conn: Connection, request_id: int, *, scheduled_at: datetime.datetime) -> int:
    """Queue a request's job again, not fetched before `scheduled_at` (the worker's side: a
    request waiting for another's locks). A new request's job is deferred by resync.queue_request."""
    from procrastinate import types

    job = types.JobToDefer(queue_name=REQUESTS_QUEUE, task_name=RUN_REQUEST_TASK, priority=0, lock=None,
                           queueing_lock=None, args={"request_id": request_id}, scheduled_at=scheduled_at)
    return run_query(conn, "defer_jobs", jobs=[job])[0]["id"]


def make_due_now(conn: Connection, job_ids: list[int]) -> None:
    """Jobs scheduled for later become due now; idle workers are woken (resync_03 trigger)."""
    with queue_search_path(conn):
        conn.execute(sa.text("update procrastinate_jobs set scheduled_at = now()"
                             " where id = any(:ids) and status = 'todo' and scheduled_at > now()"), {"ids": job_ids})


#: Runs procrastinate's own queries on a connection we pass (never opens a pool of its own).
_on_our_connection = procrastinate.SyncPsycopgConnector()


def run_query(conn: Connection, name: str, **arguments: Any) -> list[dict]:
    """One of procrastinate's named queries (procrastinate.sql.queries) inside our transaction."""
    from procrastinate import sql

    with queue_search_path(conn):
        return _on_our_connection.execute_query_all_with_connection(
            driver_connection(conn), query=sql.queries[name], **arguments)


def requests_without_live_job(conn: Connection) -> list[int]:
    """Requests still queued or running whose procrastinate job has ended all the same."""
    with queue_search_path(conn):
        return list(conn.execute(sa.text(
            f'select r.id from "{settings.TOOL_SCHEMA}".request r join procrastinate_jobs j on j.id = r.job_id'
            " where r.status in ('queued', 'running') and j.status not in ('todo', 'doing') order by r.id"
        )).scalars())


# --- workers and their allowances ----------------------------------------------------------
#
# procrastinate presumes a worker dead when its heartbeat is older than the *detecting* worker's
# stalled_worker_timeout, and prunes it; a worker started with a short timeout would then requeue
# the jobs of a healthy worker that beats less often. So each worker records its own allowance
# (resync.worker, sql/tool/050_worker.sql) and a heartbeat is stale only past its owner's.

#: The allowance of a worker that has not recorded one (yet): the default --stalled-after.
DEFAULT_STALLED_AFTER = 30.0

_ALLOWANCE = (f"coalesce((select a.stalled_after_seconds from \"{settings.TOOL_SCHEMA}\".worker a"
              " where a.queue_worker_id = w.id), :default)")


def record_worker(conn: Connection, queue_worker_id: int, *, name: str, heartbeat: float, stalled_after: float) -> None:
    conn.execute(sa.text(
        f'insert into "{settings.TOOL_SCHEMA}".worker (queue_worker_id, name, heartbeat_seconds, stalled_after_seconds)'
        " values (:id, :n, :h, :s) on conflict (queue_worker_id) do update set name = excluded.name,"
        " heartbeat_seconds = excluded.heartbeat_seconds, stalled_after_seconds = excluded.stalled_after_seconds"
    ), {"id": queue_worker_id, "n": name, "h": heartbeat, "s": stalled_after})


def stalled_jobs(conn: Connection) -> list[dict]:
    """Running jobs whose worker is gone or silent for longer than that worker's own allowance."""
    with queue_search_path(conn):
        rows = conn.execute(sa.text(
            "select j.id, j.args, j.worker_id from procrastinate_jobs j"
            " left join procrastinate_workers w on w.id = j.worker_id"
            " where j.status = 'doing' and (w.id is null"
            f" or w.last_heartbeat < now() - make_interval(secs => {_ALLOWANCE})) order by j.id"
        ), {"default": DEFAULT_STALLED_AFTER})
        return [dict(r._mapping) for r in rows]


def prune_silent_workers(conn: Connection) -> None:
    """Forget workers silent past their own allowance (their jobs are requeued first), and the
    allowances of workers that are gone."""
    with queue_search_path(conn):
        conn.execute(sa.text(
            "delete from procrastinate_workers w"
            f" where w.last_heartbeat < now() - make_interval(secs => {_ALLOWANCE})"), {"default": DEFAULT_STALLED_AFTER})
        conn.execute(sa.text(
            f'delete from "{settings.TOOL_SCHEMA}".worker a'
            " where not exists (select 1 from procrastinate_workers w where w.id = a.queue_worker_id)"))


def live_workers(conn: Connection) -> int:
    """Workers whose heartbeat is within their own allowance (0 before any was started)."""
    if conn.execute(sa.text("select to_regclass(:t)"), {"t": f"{QUEUE_SCHEMA}.procrastinate_workers"}).scalar() is None:
        return 0
    with queue_search_path(conn):
        return int(conn.execute(sa.text(
            "select count(*) from procrastinate_workers w"
            f" where w.last_heartbeat >= now() - make_interval(secs => {_ALLOWANCE})"),
            {"default": DEFAULT_STALLED_AFTER}).scalar())
