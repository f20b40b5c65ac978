"""`resync request` and its lifecycle: queued by the CLI, run by a real worker process, told back.

request -> worker -> succeeded -> inbox; bad requests queue nothing; cancel of a queued request;
a request that fails at run time ends `failed` with its reason, and `resync wait` exits non-zero.
"""

from __future__ import annotations

import json
import threading

import psycopg
import pytest

from generated_data import SCHOOL_YEAR
from queue_helpers import query, queued, request_row, workers  # noqa: F401


def _source_rows(url: str, code: str, year: int) -> int:
    return query(url, f"select count(*) from district_{code}.attendance_excuse e"
                      f" join district_{code}.calendar c using (calendar_id) where c.end_year = %s", year)[0][0]


def test_request_runs_on_a_worker_and_ends_in_the_inbox(generated_url, cli, workers):
    year = str(SCHOOL_YEAR)
    request_id = queued(cli, "-d", "01", "-o", "attendanceexcuse", "--school-year", year, "--as", "alice")
    assert request_row(generated_url, request_id)["status"] == "queued"
    listed = cli("status")
    assert f"{request_id}" in listed.output and "queued" in listed.output and "alice" in listed.output
    assert "No worker is running" in listed.output

    # Another request is cancelled while queued: no worker ever runs it.
    dropped = queued(cli, "-d", "02", "-o", "Calendar", "--school-year", year, "--as", "carol")
    result = cli("cancel", str(dropped), "--as", "dave")
    assert result.exit_code == 0 and "Cancelled request" in result.output
    again = cli("cancel", str(dropped))
    assert again.exit_code == 1 and "already ended (cancelled)" in again.output

    # The notification is also published: a listener hears its id when the worker commits (the
    # text it reads under its own rights).
    heard: list[str] = []
    listening = threading.Event()

    def listen() -> None:
        with psycopg.connect(generated_url, autocommit=True) as conn:
            conn.execute("listen resync_notification")
            listening.set()
            for note in conn.notifies(timeout=120, stop_after=1):
                heard.append(note.payload)

    listener = threading.Thread(target=listen)
    listener.start()
    assert listening.wait(30)
    workers.burst()
    listener.join(130)

    done = request_row(generated_url, request_id)
    assert done["status"] == "succeeded", (done["error"], done["results"] and done["results"].get("error"))
    assert done["attempts"] == 1 and done["requested_by"] == "alice"
    objects = done["results"]["objects"]
    assert [(o["object"], o["district"], o["status"]) for o in objects] == [("AttendanceExcuse", "01", "success")]
    assert objects[0]["rows_replaced"] == _source_rows(generated_url, "01", SCHOOL_YEAR) > 0
    state_rows = query(generated_url, "select count(*) from state.attendance_excuse where district_id = '01'")[0][0]
    assert state_rows == objects[0]["rows_replaced"]
    assert heard and heard[0].isdigit()
    assert query(generated_url, "select request_id, recipient from resync.notification where id = %s",
                 int(heard[0])) == [(request_id, "alice")]

    cancelled = request_row(generated_url, dropped)
    assert (cancelled["status"], cancelled["attempts"], cancelled["cancel_requested_by"]) == ("cancelled", 0, "dave")
    assert "before a worker started it" in cancelled["error"]
    assert query(generated_url, "select to_regclass('state.calendar')")[0][0] is None  # never built
    assert "cancelled" in cli("inbox", "--as", "carol").output
    assert cli("wait", str(dropped)).exit_code == 1

    first = cli("inbox", "--as", "alice")
    assert first.exit_code == 0
    line = first.output.strip().splitlines()[0]
    assert line.startswith("*") and f"Request {request_id}" in line and "succeeded" in line
    notes = json.loads(cli("inbox", "--as", "alice", "--json").output)
    assert [(n["request_id"], n["unread"]) for n in notes] == [(request_id, False)]
    assert "No notifications" in cli("inbox", "--as", "bob").output

    waited = cli("wait", str(request_id))
    assert waited.exit_code == 0 and "succeeded" in waited.output
    history = json.loads(cli("history", "--json").output)
    assert [(h["id"], h["requested_by"], h["status"]) for h in history] == [
        (dropped, "carol", "cancelled"), (request_id, "alice", "succeeded")]


@pytest.mark.parametrize("args, message", [
    (["-d", "01", "-o", "Calender"], "Unknown object 'Calender'"),
    (["-d", "99", "-o", "Calendar"], "District 99 is not registered"),
    (["-d", "01", "-o", "Calendar", "--school-year", "2031"], "No calendar of school year 2030-2031"),
    (["-d", "01"], "Choose at least one object"),
    (["-o", "Calendar"], "Choose at least one district"),
])
def test_bad_request_queues_nothing(generated_url, cli, args, message):
    result = cli("request", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert query(generated_url, "select count(*) from resync.request")[0][0] == 0
    jobs = query(generated_url, "select to_regclass('resync_queue.procrastinate_jobs') is not null")[0][0]
    if jobs:
        assert query(generated_url, "select count(*) from resync_queue.procrastinate_jobs")[0][0] == 0


def test_requests_failing_at_run_time_are_reported_and_wait_fails(generated_url, cli, workers):
    year = str(SCHOOL_YEAR)
    unregistered = queued(cli, "-d", "03", "-o", "Calendar", "--school-year", year, "--as", "erin")
    # Between queueing and running, the district is unregistered: the worker validates again.
    assert cli("district", "remove", "03").exit_code == 0
    # As after three workers died running it (each start counts one attempt).
    doomed = queued(cli, "-d", "01", "-o", "Calendar", "--school-year", year, "--as", "ivan")
    query(generated_url, "update resync.request set attempts = 3, worker = 'gone:1' where id = %s", doomed)
    # As after a worker gave up on a job it could not record an outcome for (the database was away).
    orphan = queued(cli, "-d", "01", "-o", "School", "--school-year", year, "--as", "judy")
    query(generated_url, "update resync.request set status = 'running', attempts = 1 where id = %s", orphan)
    query(generated_url, "update resync_queue.procrastinate_jobs set status = 'failed'"
                         " where id = (select job_id from resync.request where id = %s)", orphan)
    workers.burst()

    failed = request_row(generated_url, unregistered)
    assert failed["status"] == "failed" and "District 03 is not registered" in failed["error"]
    log = workers.log(workers.started[-1])
    said = [line for line in log.splitlines() if f"Request {unregistered} (" in line]
    assert len(said) == 1 and " ERROR " in said[0] and "failed" in said[0], log
    assert "ended with status" not in log and "No periodic task found" not in log
    waited = cli("wait", str(unregistered))
    assert waited.exit_code == 1 and "failed" in waited.output
    inbox = cli("inbox", "--as", "erin").output
    assert "failed" in inbox and "District 03 is not registered" in inbox

    gave_up = request_row(generated_url, doomed)
    assert gave_up["status"] == "failed" and gave_up["error"].startswith("Gave up after 3 attempts")
    assert "Gave up after 3 attempts" in cli("inbox", "--as", "ivan").output

    lost = request_row(generated_url, orphan)
    assert lost["status"] == "failed" and "could not record an outcome" in lost["error"]
    assert "failed" in cli("inbox", "--as", "judy").output


def test_status_of_unknown_request_is_one_sentence(generated_url, cli):
    result = cli("status", "4242")
    assert result.exit_code == 1 and "There is no request 4242" in result.output


def test_request_asks_first_and_no_answer_queues_nothing(generated_url, cli):
    args = ("request", "-d", "01", "-o", "Calendar", "--school-year", str(SCHOOL_YEAR))
    unanswered = cli(*args)  # closed input: no answer is no
    assert unanswered.exit_code == 1 and "Queue this resync? [y/N]" in unanswered.output
    assert "Districts: 01 Abbott" in unanswered.output
    assert "Error: Cancelled: nothing was queued." in unanswered.stderr and "Traceback" not in unanswered.output
    assert cli(*args, input="n\n").exit_code == 1
    assert query(generated_url, "select count(*) from resync.request")[0][0] == 0
    accepted = cli(*args, input="y\n")
    assert accepted.exit_code == 0 and "Queued request" in accepted.output
    assert query(generated_url, "select count(*) from resync.request")[0][0] == 1


def test_the_default_school_year_is_fixed_when_queued(generated_url, cli, monkeypatch):
    from orchestrator import database, requests, resync, worker

    # Queued on June 30 of the generated year, the last day of its school year...
    monkeypatch.setattr(resync, "current_school_year", lambda today=None: SCHOOL_YEAR)
    request_id = queued(cli, "-d", "01", "-o", "Calendar")
    # ... and run on July 1, when the current school year (with no calendar yet) is the next one.
    monkeypatch.setattr(resync, "current_school_year", lambda today=None: SCHOOL_YEAR + 1)
    with database.transaction(generated_url) as conn:
        target = worker._ResyncTarget.build(conn, requests.get(conn, request_id), generated_url)
    assert [p.school_year for p in target.plans] == [SCHOOL_YEAR]
