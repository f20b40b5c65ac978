"""Real `resync worker` processes for the queue tests, and bounded waits.

Every wait has a timeout; every process a test starts is killed at teardown, whatever happened.
Workers run with a short heartbeat so that a killed one is found stalled within seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import psycopg
import pytest
from sqlalchemy.engine import make_url

from orchestrator import settings

#: The worker's service role (sql/tool/060_rights.sql) and the password the tests give it, for a
#: test server that asks for one (the embedded one does not).
WORKER_ROLE = "resync_worker"
WORKER_PASSWORD = "resync-test-worker"

#: Short enough that crash recovery takes seconds, long enough for a loaded two-core machine.
FAST_WORKER = ("--heartbeat", "0.5", "--stalled-after", "3")
WORKER_START_TIMEOUT = 90.0


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll `predicate` until it returns something true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:g} s waiting for {what}.")
        time.sleep(every)


def worker_url(url: str) -> str:
    """`url` logging in as the worker's service role, as a deployment's workers do."""
    query(url, f"alter role {WORKER_ROLE} password '{WORKER_PASSWORD}'")
    return make_url(url).set(username=WORKER_ROLE, password=WORKER_PASSWORD).render_as_string(hide_password=False)


class Workers:
    """`resync worker` subprocesses against the test's database (the environment carries its URL),
    logged in as the worker's own role, never as the test's superuser."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.started: list[subprocess.Popen] = []
        self._logs: list = []  # the workers' open log files, closed by kill_all

    def start(self, *args: str) -> subprocess.Popen:
        log = self.folder / f"worker-{len(self.started) + 1}.log"
        output = log.open("w")
        self._logs.append(output)
        environment = dict(os.environ, RESYNC_DATABASE_URL=worker_url(os.environ["RESYNC_DATABASE_URL"]))
        process = subprocess.Popen(
            [sys.executable, "-c", "from orchestrator.cli import main; main()", "worker", *args],
            cwd=settings.project_dir(), env=environment, stdout=output, stderr=subprocess.STDOUT,
        )
        process.log_path = log  # type: ignore[attr-defined]
        self.started.append(process)
        return process

    def burst(self, *args: str, timeout: float = 180.0) -> subprocess.Popen:
        """Run a burst worker to the end (it processes what is queued, then exits)."""
        process = self.start("--burst", *FAST_WORKER, *args)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"A burst worker still ran after {timeout:g} s:\n{self.log(process)}")
        assert process.returncode == 0, self.log(process)
        return process

    def stop(self, process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        process.send_signal(sig)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"A worker did not stop within {timeout:g} s of signal {sig}:\n{self.log(process)}")

    @staticmethod
    def log(process: subprocess.Popen) -> str:
        return process.log_path.read_text()  # type: ignore[attr-defined]

    def kill_all(self) -> None:
        try:
            for process in self.started:
                if process.poll() is None:
                    process.kill()
                    process.wait(30)
        finally:
            for output in self._logs:
                output.close()


@pytest.fixture
def workers(tmp_path):
    started = Workers(tmp_path)
    yield started
    started.kill_all()


# --- looking at the database ---------------------------------------------------------------

def query(url: str, sql: str, *params: Any) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def request_row(url: str, request_id: int) -> dict:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute("select * from resync.request where id = %s", (request_id,))
        names = [c.name for c in cursor.description]
        return dict(zip(names, cursor.fetchone()))


def request_status(url: str, request_id: int) -> str:
    return request_row(url, request_id)["status"]


def worker_dbt_sessions_waiting(url: str) -> list[tuple]:
    """dbt sessions of any worker that wait on a lock (a test holds one to keep a run in flight)."""
    return query(url, "select pid, application_name from pg_stat_activity"
                      " where application_name like 'resync-worker-%%' and wait_event_type = 'Lock'"
                      " and datname = current_database()")


def queued(cli, *args: str) -> int:
    """`resync request ... --json` through the CLI; returns the new request id."""
    result = cli("request", *args, "--yes", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["id"]


class RowLocks:
    """Holds the row locks of one district's rows of a state table, so that a run replacing them
    stays in flight (the swap of its partition waits for the table's lock, which row locks
    conflict with) until released; readers go on."""

    def __init__(self, url: str, table: str, district: str):
        self.conn = psycopg.connect(url)
        try:
            held = self.conn.execute(f"select 1 from {table} where district_id = %s for update",
                                     (district,)).fetchall()
            assert held, f"{table} has no rows of district {district} to hold"
        except BaseException:
            self.conn.close()  # nobody gets the object to release it
            raise

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()

