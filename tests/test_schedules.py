"""The schedules: defaults, changing them, run-now, and a due schedule queueing exactly one run.

The due-schedule test runs real workers that only take the schedules queue, so the run they
queue stays queued and every later due time finds it there.
"""

from __future__ import annotations

import datetime
import json
from zoneinfo import ZoneInfo

from procrastinate import periodic

from generated_data import SCHOOL_YEAR
from orchestrator import database, resync, schedules
from queue_helpers import FAST_WORKER, query, request_row, wait_until, workers  # noqa: F401


def _schedules(cli) -> dict[str, dict]:
    result = cli("schedule", "list", "--json")
    assert result.exit_code == 0, result.output
    return {s["name"]: s for s in json.loads(result.output)}


def test_defaults_are_the_weekly_sync_and_the_nightly_aggregation(generated_url, cli):
    found = _schedules(cli)
    assert (found["weekly"]["cron"], found["weekly"]["kind"]) == ("0 2 * * 0", "resync")
    assert (found["nightly"]["cron"], found["nightly"]["kind"]) == ("45 3 * * *", "aggregation")
    assert all(s["enabled"] for s in found.values())
    text = cli("schedule", "list").output
    assert "weekly" in text and "Full sync" in text and "nightly" in text


def test_set_validates_and_reads_cron_in_the_time_zone(generated_url, cli):
    bad = cli("schedule", "set", "weekly", "every sunday")
    assert bad.exit_code == 1 and "is not a cron expression" in bad.output
    zone = cli("schedule", "set", "weekly", "0 2 * * 0", "--timezone", "Mars/Olympus")
    assert zone.exit_code == 1 and "Time zone 'Mars/Olympus' is unknown" in zone.output
    unknown = cli("schedule", "set", "monthly", "0 2 1 * *")
    assert unknown.exit_code == 1 and "There is no schedule 'monthly'" in unknown.output

    ok = cli("schedule", "set", "weekly", "30 1 * * 6", "--timezone", "America/Chicago", "--as", "admin")
    assert ok.exit_code == 0 and "next due" in ok.output
    weekly = _schedules(cli)["weekly"]
    assert (weekly["cron"], weekly["timezone"], weekly["updated_by"]) == ("30 1 * * 6", "America/Chicago", "admin")
    due = datetime.datetime.fromisoformat(weekly["next_due_at"]).astimezone(ZoneInfo("America/Chicago"))
    assert (due.weekday(), due.hour, due.minute) == (5, 1, 30)  # Saturday 01:30 in Chicago

    off = cli("schedule", "set", "nightly", "--disable")
    assert off.exit_code == 0 and "disabled" in off.output
    assert _schedules(cli)["nightly"]["next_due_at"] is None


def test_run_now_does_not_pile_up(generated_url, cli):
    first = cli("schedule", "run-now", "nightly", "--json", "--as", "admin")
    assert first.exit_code == 0, first.output
    queued = json.loads(first.output)
    assert (queued["kind"], queued["schedule_name"], queued["status"]) == ("aggregation", "nightly", "queued")

    second = cli("schedule", "run-now", "nightly")
    assert second.exit_code == 1
    assert f"skipped: request {queued['id']} of the previous run is still queued" in second.output
    assert query(generated_url, "select count(*) from resync.request")[0][0] == 1

    assert cli("cancel", str(queued["id"])).exit_code == 0
    third = cli("schedule", "run-now", "nightly", "--json")
    assert third.exit_code == 0 and json.loads(third.output)["id"] != queued["id"]


def test_weekly_sync_takes_every_district_ready_for_the_current_year(generated_url, cli):
    current = resync.current_school_year()
    refused = cli("schedule", "run-now", "weekly")
    assert refused.exit_code == 1 and "nothing queued: no district can be synced" in refused.output

    # District 01 gets a calendar for the current school year; 02 and 03 have none yet.
    query(generated_url, "insert into district_01.calendar select (jsonb_populate_record(null::district_01.calendar,"
                         " to_jsonb(c) || jsonb_build_object('calendar_id', c.calendar_id + 100000, 'end_year', %s))).*"
                         " from district_01.calendar c limit 1", current)
    result = cli("schedule", "run-now", "weekly", "--json")
    assert result.exit_code == 0, result.output
    request = json.loads(result.output)
    assert request["selection"]["districts"] == ["01"]
    assert request["selection"]["check_dependencies"] is True and request["selection"]["school_year"] is None
    assert len(request["selection"]["objects"]) == len(request["plan"]["objects"]) > 10
    outcome = _schedules(cli)["weekly"]["last_outcome"]
    assert outcome.startswith(f"queued request {request['id']}; left out 02 (") and "03 (" in outcome


def test_a_due_schedule_queues_exactly_one_run(generated_url, cli, workers):
    pair = [workers.start(*FAST_WORKER, "--queue", "schedules") for _ in range(2)]
    for process in pair:
        wait_until(lambda: "Starting worker" in workers.log(process), 90, "both workers to start")
    # Due every second from now on; the running workers pick the change up without a restart.
    assert cli("schedule", "set", "nightly", "* * * * * *").exit_code == 0
    first = wait_until(lambda: query(generated_url, "select id from resync.request where schedule_name = 'nightly'"),
                       60, "the schedule's first run to be queued")[0][0]
    wait_until(lambda: (_schedules(cli)["nightly"]["last_outcome"] or "").startswith("skipped"), 30,
               "a later due time to find the run still queued")
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=3)
    wait_until(lambda: datetime.datetime.now() > deadline, 10, "three more due times")
    for process in pair:
        assert workers.stop(process) == 0

    runs = query(generated_url, "select id, requested_by, status from resync.request")
    assert runs == [(first, "schedule:nightly", "queued")]
    assert request_row(generated_url, first)["selection"] == {"districts": None, "refresh": False}
    outcome = _schedules(cli)["nightly"]["last_outcome"]
    assert outcome == f"skipped: request {first} of the previous run is still queued"
    # Both workers deferred the schedule, yet each due time became one trigger job, not two.
    doubled = query(generated_url, "select args->>'timestamp' from resync_queue.procrastinate_jobs"
                                   " where task_name = 'resync.run_schedule' group by 1 having count(*) > 1")
    assert doubled == []


def test_the_nightly_aggregation_runs_on_a_worker(generated_url, cli, workers):
    worker = workers.start(*FAST_WORKER)
    first = cli("schedule", "run-now", "nightly", "--as", "admin", "--wait", "--json")
    assert first.exit_code == 0, first.output
    done = json.loads(first.output)
    assert done["status"] == "succeeded", done["error"]
    districts = done["results"]["districts"]
    assert [(d["district"], d["status"]) for d in districts] == [("01", "success"), ("02", "success"),
                                                                 ("03", "success")]
    assert "succeeded" in cli("inbox", "--as", "admin").output
    # The schedule's last outcome follows its request to the end.
    assert _schedules(cli)["nightly"]["last_outcome"] == f"request {done['id']} succeeded"
    # The next night only picks up what changed since: each district has a watermark now.
    second = cli("schedule", "run-now", "nightly", "--wait", "--json")
    assert second.exit_code == 0, second.output
    assert [d["mode"] for d in json.loads(second.output)["results"]["districts"]] == ["incremental"] * 3
    assert workers.stop(worker) == 0


def test_a_cron_that_never_comes_due_is_refused(generated_url, cli):
    result = cli("schedule", "set", "nightly", "0 0 31 2 *")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip() == "Error: '0 0 31 2 *' never comes due: no date matches its day and month."
    assert _schedules(cli)["nightly"]["cron"] == "45 3 * * *"


def test_a_broken_schedule_in_the_table_stops_no_other(generated_url, cli, workers):
    # As if written by hand, or by an older version that did not check.
    query(generated_url, "update resync.schedule set cron = '0 0 31 2 *' where name = 'weekly'")
    listed = cli("schedule", "list")
    assert listed.exit_code == 0 and "weekly never comes due" in listed.output
    weekly = _schedules(cli)["weekly"]
    assert weekly["next_due_at"] is None and "never comes due" in weekly["problem"]

    worker = workers.start(*FAST_WORKER, "--queue", "schedules")
    wait_until(lambda: "Starting worker" in workers.log(worker), 90, "the worker to start")
    assert cli("schedule", "set", "nightly", "* * * * * *").exit_code == 0
    wait_until(lambda: query(generated_url, "select id from resync.request where schedule_name = 'nightly'"),
               60, "the nightly schedule to queue its run beside the broken weekly one")
    assert workers.stop(worker) == 0
    log = workers.log(worker)
    assert "Schedule weekly is left out until it is fixed" in log and "never comes due" in log


def _minute_ago(minutes: int) -> tuple[str, datetime.datetime]:
    """A daily cron (in UTC) for the whole minute `minutes` ago, and that moment."""
    moment = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes)).replace(
        second=0, microsecond=0)
    return f"{moment.minute} {moment.hour} * * *", moment


def test_a_time_already_past_fires_tomorrow_yet_a_missed_one_is_caught_up(generated_url, cli, workers):
    worker = workers.start(*FAST_WORKER, "--queue", "schedules")
    wait_until(lambda: "Starting worker" in workers.log(worker), 90, "the worker to start")
    cron, moment = _minute_ago(3)
    result = cli("schedule", "set", "nightly", cron, "--timezone", "UTC", "--as", "admin")
    assert result.exit_code == 0
    assert f"next due {(moment + datetime.timedelta(days=1)):%Y-%m-%d %H:%M} UTC" in result.output
    wait_until(lambda: f"nightly {cron} (UTC" in workers.log(worker), 30, "the worker to load the change")
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=4)
    wait_until(lambda: datetime.datetime.now() > deadline, 10, "a few seconds")
    assert query(generated_url, "select count(*) from resync.request")[0][0] == 0, "queued at once"

    # Set before that due time, the schedule missed it (its worker was away): that run is queued.
    query(generated_url, "update resync.schedule set updated_at = now() - interval '5 minutes' where name = 'nightly'")
    query(generated_url, "select pg_notify('resync_schedule', 'nightly')")
    wait_until(lambda: query(generated_url, "select id from resync.request where schedule_name = 'nightly'"),
               60, "the missed due time to be caught up")
    assert workers.stop(worker) == 0


def test_a_time_the_autumn_change_repeats_fires_once():
    chicago = ZoneInfo("America/Chicago")
    before = datetime.datetime(2025, 11, 1, 12, 0, tzinfo=chicago)
    daily = schedules._Cron("30 1 * * *", before)
    first, second = daily.get_next(datetime.datetime), daily.get_next(datetime.datetime)
    assert (first.day, first.hour, first.utcoffset()) == (2, 1, datetime.timedelta(hours=-5))
    assert (second.day, second.hour) == (3, 1)
    assert schedules._Cron("30 1 * * *", datetime.datetime(2025, 11, 2, 3, 0, tzinfo=chicago)).get_prev(
        datetime.datetime) == first
    # As the worker's deferrer sees it: one due time between noon and noon, not two.
    task = schedules._ZonedPeriodicTask(task=None, cron="30 1 * * *", periodic_id="nightly", configure_kwargs={},
                                        timezone="America/Chicago")
    deferrer = periodic.PeriodicDeferrer(periodic.PeriodicRegistry())
    due = list(deferrer.get_timestamps(task, since=int(before.timestamp()),
                                       until=(before + datetime.timedelta(days=1)).timestamp()))
    assert due == [int(first.timestamp())]
    # A cron that runs every hour keeps running by the clock through the repeated hour.
    hourly = schedules._Cron("0 * * * *", datetime.datetime(2025, 11, 2, 0, 30, tzinfo=chicago))
    assert [hourly.get_next(datetime.datetime).utcoffset().total_seconds() / 3600 for _ in range(3)] == [-5, -6, -6]


def test_a_scheduled_run_tells_its_owner_and_a_failure_is_never_silent(generated_url, cli, workers):
    assert "owner" in cli("schedule", "list").output and _schedules(cli)["nightly"]["owner"] is None
    assert cli("schedule", "set", "nightly", "--as", "olga").exit_code == 0
    assert _schedules(cli)["nightly"]["owner"] == "olga"
    query(generated_url, "alter table district_02.attendance rename to attendance_gone")
    with database.transaction(generated_url) as conn:  # what the worker does when the schedule comes due
        run = schedules.enqueue_run(conn, "nightly", due_at=datetime.datetime.now(datetime.timezone.utc))
    assert run.requested_by == "schedule:nightly"
    worker = workers.burst()

    assert request_row(generated_url, run.id)["status"] == "failed"
    inbox = cli("inbox", "--as", "olga").output
    assert f"Request {run.id}" in inbox and "failed" in inbox
    assert "No notifications" in cli("inbox", "--as", "schedule:nightly").output
    log = workers.log(worker)
    # Said once, as it happened: an ERROR with the requester's sentence; nothing calls it a success.
    assert [line for line in log.splitlines() if f"Request {run.id} (" in line and " failed" in line
            and " ERROR " in line]
    assert "ended with status" not in log and "No periodic task found" not in log
    assert f"request {run.id} failed" in _schedules(cli)["nightly"]["last_outcome"]


def test_the_weekly_sync_fails_a_broken_district_alone(generated_url, cli, workers, monkeypatch):
    # The generated districts hold 2023-2024: let that be the current school year when it is queued
    # (the worker keeps the year the request was planned for).
    monkeypatch.setattr(resync, "current_school_year", lambda today=None: SCHOOL_YEAR)
    # District 02 breaks at the state (its pull works; its rows are refused by the state table).
    assert cli("run", "-d", "01", "-o", "AttendanceExcuse", "--school-year", str(SCHOOL_YEAR), "--yes").exit_code == 0
    query(generated_url, "alter table state.attendance_excuse add constraint no_02 check (district_id <> '02') not valid")
    with database.transaction(generated_url) as conn:
        run = schedules.enqueue_run(conn, "weekly", requested_by="admin")
    assert run.selection["districts"] == ["01", "02", "03"] and run.selection["per_district"] is True
    workers.burst()

    done = request_row(generated_url, run.id)
    assert done["status"] == "failed"
    by_district = {d["district"]: (d["status"], d["run"]) for d in done["results"]["districts"]}
    # The run of every district failed on 02's rows: each was run again on its own.
    assert by_district == {"01": ("success", "alone"), "02": ("error", "alone"), "03": ("success", "alone")}
    objects = done["results"]["objects"]
    assert {o["status"] for o in objects if o["district"] != "02"} == {"success"}
    assert len([o for o in objects if o["district"] == "01"]) == len(run.plan["objects"])
    assert done["error"].startswith("AttendanceExcuse failed for district 02 and was rolled back (new row")
    assert done["error"].endswith("Districts 01, 03 were resynced.")
    synced = query(generated_url, "select district_id, count(*) from state.att_day_aggregation group by 1 order by 1")
    assert [code for code, rows in synced if rows > 0] == ["01", "03"]
