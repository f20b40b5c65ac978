"""Real worker processes against the database: concurrency, cancel while running, shutdown, crash.

A test keeps a run in flight by holding the row locks of the rows it replaces: the worker's dbt
session then waits inside the object's transaction (its DELETE), where a cancel, a SIGTERM or a
SIGKILL must leave the table as it was.
"""

from __future__ import annotations

import signal
import time

from generated_data import SCHOOL_YEAR
from queue_helpers import (  # noqa: F401
    FAST_WORKER, RowLocks, query, queued, request_row, request_status, wait_until, worker_dbt_sessions_waiting,
    workers,
)

YEAR = str(SCHOOL_YEAR)


def _excuses(url: str, code: str) -> tuple:
    """Row count and a checksum of one district's attendance_excuse rows at the state."""
    return tuple(query(url, "select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), ''))"
                            " from state.attendance_excuse t where district_id = %s", code)[0])


def _prepare_state(cli, url: str) -> None:
    """Build the state tables once, so a test can lock one and compare it before and after."""
    result = cli("run", "-d", "01", "-o", "AttendanceExcuse", "--school-year", YEAR, "--yes")
    assert result.exit_code == 0, result.output


def _edit_source(url: str, code: str) -> None:
    """A change at the district that a successful resync carries to the state."""
    query(url, f"update district_{code}.attendance_excuse set description = description || ' (edited)'")


def test_two_workers_ten_overlapping_requests(generated_url, cli, workers):
    pair = [workers.start(*FAST_WORKER), workers.start(*FAST_WORKER)]
    for process in pair:
        wait_until(lambda: "Starting worker" in workers.log(process), 90, "both workers to start")
    assert "2 workers running." in cli("status").output
    ids = []
    for number in range(9):
        districts = ["-d", "01"] + (["-d", "02"] if number % 3 == 0 else [])
        ids.append(queued(cli, *districts, "-o", "AttendanceExcuse", "--school-year", YEAR))
    # The tenth waits for its end, showing progress, and exits 0 when it succeeded.
    waited = cli("request", "-d", "01", "-o", "AttendanceExcuse", "--school-year", YEAR, "--yes", "--wait", "--timeout", "200")
    assert waited.exit_code == 0, waited.output
    ids.append(ids[-1] + 1)
    assert f"Request {ids[-1]}: queued" in waited.output and "succeeded" in waited.output
    wait_until(lambda: all(request_status(generated_url, i) in ("succeeded", "failed") for i in ids), 200,
               "the ten requests to end", every=0.5)
    for process in pair:
        assert workers.stop(process) == 0

    rows = [request_row(generated_url, i) for i in ids]
    assert [(r["status"], r["attempts"]) for r in rows] == [("succeeded", 1)] * 10
    assert len({r["worker"] for r in rows}) == 2, "both workers should have taken requests"
    # Idle workers wake on the NOTIFY of a new job: fetch polling is only a 30 s fallback.
    assert (rows[0]["started_at"] - rows[0]["requested_at"]).total_seconds() < 15
    # Every request touches (01, attendance_excuse): no two of them ever ran at the same time.
    spans = sorted((r["started_at"], r["finished_at"]) for r in rows)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end <= start, f"two overlapping requests ran at once: {spans}"
    duplicates = query(generated_url, "select district_id, excuse_id from state.attendance_excuse"
                                      " group by 1, 2 having count(*) > 1")
    assert duplicates == []
    for code in ("01", "02"):
        expected = query(generated_url, f"select count(*) from district_{code}.attendance_excuse e"
                                         f" join district_{code}.calendar c using (calendar_id) where c.end_year = %s",
                         SCHOOL_YEAR)[0][0]
        assert _excuses(generated_url, code)[0] == expected


def test_cancel_a_running_request_while_an_unrelated_one_runs(generated_url, cli, workers):
    _prepare_state(cli, generated_url)
    _edit_source(generated_url, "01")
    before = _excuses(generated_url, "01")
    lock = RowLocks(generated_url, "state.attendance_excuse", "01")
    try:
        blocked = queued(cli, "-d", "01", "-o", "AttendanceExcuse", "--school-year", YEAR, "--as", "frank")
        workers.start(*FAST_WORKER)
        workers.start(*FAST_WORKER)
        wait_until(lambda: worker_dbt_sessions_waiting(generated_url), 90, "the resync to wait on the held rows")
        # Unrelated work (another object, another district) is not held up by the blocked one.
        unrelated = queued(cli, "-d", "02", "-o", "Calendar", "--school-year", YEAR)
        wait_until(lambda: request_status(generated_url, unrelated) == "succeeded", 90, "the unrelated request")
        assert request_status(generated_url, blocked) == "running"

        result = cli("cancel", str(blocked), "--as", "grace")
        assert result.exit_code == 0 and "is running" in result.output
        waited = cli("wait", str(blocked), "--timeout", "60")
        assert waited.exit_code == 1
    finally:
        lock.release()
    done = request_row(generated_url, blocked)
    assert done["status"] == "cancelled"
    assert done["error"].startswith("Cancelled by grace while it ran") and "rolled back" in done["error"]
    assert _excuses(generated_url, "01") == before  # the replacement in flight was rolled back
    assert "cancelled" in cli("inbox", "--as", "frank").output
    # An ordinary cancel is logged as one, without a traceback.
    logs = "".join(workers.log(p) for p in workers.started)
    assert f"Request {blocked} (AttendanceExcuse for 01, school year {YEAR}) cancelled" in logs
    assert "Traceback" not in logs and "JobAborted" not in logs


def test_sigterm_requeues_then_sigkill_then_a_new_worker_finishes(generated_url, cli, workers):
    _prepare_state(cli, generated_url)
    _edit_source(generated_url, "01")
    before = _excuses(generated_url, "01")
    held = RowLocks(generated_url, "state.attendance_excuse", "01")
    try:
        request_id = queued(cli, "-d", "01", "-o", "AttendanceExcuse", "--school-year", YEAR, "--as", "heidi")
        # A clean stop: the object in progress is rolled back and the request goes back to the queue.
        stopped = workers.start(*FAST_WORKER, "--graceful-timeout", "0")
        wait_until(lambda: worker_dbt_sessions_waiting(generated_url), 90, "the resync to wait on the held rows")
        assert workers.stop(stopped, signal.SIGTERM) == 0
        requeued = request_row(generated_url, request_id)
        assert (requeued["status"], requeued["attempts"]) == ("queued", 0)
        assert "its worker was stopped" in requeued["progress"]["message"]
        assert _excuses(generated_url, "01") == before

        # A crash: the next worker takes it, and is killed outright in the middle of the replacement.
        doomed = workers.start(*FAST_WORKER)
        wait_until(lambda: worker_dbt_sessions_waiting(generated_url), 90, "the resync to wait on the held rows")
        workers.stop(doomed, signal.SIGKILL)
        assert (request_status(generated_url, request_id), request_row(generated_url, request_id)["attempts"]) \
            == ("running", 1)
    finally:
        held.release()  # the orphaned dbt session may go on, then finds its client gone and rolls back
    wait_until(lambda: not query(generated_url, "select 1 from pg_stat_activity where application_name like"
                                                " 'resync-worker-%%' and datname = current_database()"),
               30, "the killed worker's sessions to end")
    assert _excuses(generated_url, "01") == before

    successor = workers.start(*FAST_WORKER)
    wait_until(lambda: request_status(generated_url, request_id) in ("succeeded", "failed"), 120,
               "the next worker to find the request stalled and run it again")
    done = request_row(generated_url, request_id)
    assert (done["status"], done["attempts"]) == ("succeeded", 2), done["error"]
    assert "stopped answering" in workers.log(successor)
    after = _excuses(generated_url, "01")
    assert after != before
    expected = query(generated_url, "select count(*) from district_01.attendance_excuse e join district_01.calendar c"
                                    " using (calendar_id) where c.end_year = %s", SCHOOL_YEAR)[0][0]
    assert after[0] == expected
    assert query(generated_url, "select count(*) from state.attendance_excuse where description like '%%(edited)'"
                                " and district_id = '01'")[0][0] == expected
    assert "succeeded" in cli("inbox", "--as", "heidi").output
    assert workers.stop(successor) == 0


def test_an_impatient_worker_does_not_declare_a_slower_healthy_one_dead(generated_url, cli, workers):
    _prepare_state(cli, generated_url)
    lock = RowLocks(generated_url, "state.attendance_excuse", "01")
    try:
        request_id = queued(cli, "-d", "01", "-o", "AttendanceExcuse", "--school-year", YEAR, "--as", "lena")
        healthy = workers.start("--heartbeat", "4", "--stalled-after", "12")
        wait_until(lambda: worker_dbt_sessions_waiting(generated_url), 90, "the resync to wait on the held rows")
        # Beside it, a worker that presumes dead whoever is silent for 1 s, its own heartbeat 0.5 s.
        impatient = workers.start("--heartbeat", "0.5", "--stalled-after", "1")
        wait_until(lambda: "Starting worker" in workers.log(impatient), 90, "the impatient worker to start")
        deadline = time.monotonic() + 10  # more than two of the healthy worker's heartbeat intervals
        wait_until(lambda: time.monotonic() > deadline, 15, "the healthy worker's heartbeats to age")
        row = request_row(generated_url, request_id)
        assert (row["status"], row["attempts"]) == ("running", 1), row["progress"]
        assert "2 workers running." in cli("status").output
    finally:
        lock.release()
    wait_until(lambda: request_status(generated_url, request_id) in ("succeeded", "failed"), 90, "the request to end")
    done = request_row(generated_url, request_id)
    assert (done["status"], done["attempts"]) == ("succeeded", 1), done["error"]
    assert len(query(generated_url, "select 1 from resync.notification where request_id = %s", request_id)) == 1
    assert "stopped answering" not in workers.log(impatient)
    for process in (healthy, impatient):
        assert workers.stop(process) == 0


def test_a_request_waiting_for_locks_frees_its_worker_for_unrelated_work(generated_url, cli, workers):
    _prepare_state(cli, generated_url)
    _edit_source(generated_url, "01")
    lock = RowLocks(generated_url, "state.attendance_excuse", "01")
    try:
        first = queued(cli, "-d", "01", "-o", "AttendanceExcuse", "--school-year", YEAR)
        pair = [workers.start(*FAST_WORKER), workers.start(*FAST_WORKER)]
        wait_until(lambda: worker_dbt_sessions_waiting(generated_url), 90, "the first request to wait on the held rows")
        # The second overlaps the first (01 AttendanceExcuse): it waits, and says for whom.
        second = queued(cli, "-d", "01", "-d", "02", "-o", "AttendanceExcuse", "--school-year", YEAR)
        wait_until(lambda: (request_row(generated_url, second)["progress"] or {}).get("waiting_for") == first, 60,
                   "the second request to wait for the first")
        row = request_row(generated_url, second)
        assert (row["status"], row["attempts"]) == ("queued", 0)
        assert f"waiting for request {first}" in cli("status").output
        assert f"status:       waiting for request {first}" in cli("status", str(second)).output
        # The worker that looked at it is free: an unrelated request runs at once on it.
        unrelated = queued(cli, "-d", "03", "-o", "Calendar", "--school-year", YEAR)
        wait_until(lambda: request_status(generated_url, unrelated) == "succeeded", 60, "the unrelated request")
        assert request_status(generated_url, first) == "running"
    finally:
        lock.release()
    # Once the first ends and lets go of its locks, the second is woken without waiting for a poll.
    wait_until(lambda: request_status(generated_url, second) in ("succeeded", "failed"), 60, "the second request")
    rows = {i: request_row(generated_url, i) for i in (first, second)}
    assert [(r["status"], r["attempts"]) for r in rows.values()] == [("succeeded", 1), ("succeeded", 1)]
    assert rows[second]["started_at"] >= rows[first]["finished_at"]
    assert (rows[second]["started_at"] - rows[first]["finished_at"]).total_seconds() < 8
    for process in pair:
        assert workers.stop(process) == 0
