"""`resync objects` and `resync run`, through click's CliRunner, on generated district data.

Every run is a real in-process dbt run against a clone of the generated template database
(districts 01, 02 and 03, the current school year); the parsed manifest is shared by all tests.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from generated_data import SCHOOL_YEAR as YEAR
from orchestrator import catalog, database, resync, settings

#: The generated districts hold school year 2023-2024, not the current one.
IN_YEAR = ("--school-year", str(YEAR))


# --- helpers -------------------------------------------------------------------------------

def _query(url: str, sql: str, **params):
    with database.transaction(url) as conn:
        return conn.execute(sa.text(sql), params).all()


def _scalar(url: str, sql: str, **params):
    return _query(url, sql, **params)[0][0]


def _state_tables(url: str) -> set[str]:
    """The state schema's tables (their partitions are not tables of their own)."""
    return {r[0] for r in _query(
        url, "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
             " where n.nspname = :s and c.relkind in ('r', 'p') and not c.relispartition", s=settings.STATE_SCHEMA)}


def _state_snapshot(url: str) -> dict[str, list[tuple]]:
    """Every state table's rows, sorted: to show a failed or refused run changed nothing."""
    return {t: sorted(map(tuple, _query(url, f'select * from state."{t}"')), key=repr)
            for t in sorted(_state_tables(url))}


def _json(result) -> dict:
    return json.loads(result.stdout)


def _by_object(document: dict) -> dict[tuple[str, str], dict]:
    return {(r["object"], r["district"]): r for r in document["objects"]}


def _one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


# --- resync objects ------------------------------------------------------------------------

def test_objects_lists_every_object_with_model_scope_parents_and_subscription(cli):
    result = cli("objects")
    assert result.exit_code == 0
    assert "Demo State" in result.output
    line = next(l for l in result.output.splitlines() if l.startswith("Enrollment "))
    assert line.split() == ["Enrollment", "enrollment", "district", "and", "year",
                            "PersonIdentity", "Calendar", "StructureGradeLevel", "yes"]

    document = _json(cli("objects", "--json"))
    assert [o["object"] for o in document["objects"]] == [o.campus_name for o in catalog.load()]
    excuse = next(o for o in document["objects"] if o["object"] == "AttendanceExcuse")
    assert excuse == {"object": "AttendanceExcuse", "model": "attendance_excuse", "scope": "district and year",
                      "parents": ["Calendar"], "subscribed": True, "description": excuse["description"]}


def test_objects_tree_shows_what_check_dependencies_adds_in_run_order(cli):
    result = cli("objects", "--tree", "ATTENDANCE_EXCUSE")
    assert result.exit_code == 0
    assert [l.split(".")[1].split()[0] for l in result.output.splitlines()[1:]] == \
        ["District", "School", "Calendar", "AttendanceExcuse"]
    assert "<- chosen" in result.output.splitlines()[-1]

    document = _json(cli("objects", "--tree", "enrollment", "--json"))
    names = [o["object"] for o in document["runs"]]
    assert names[-1] == "Enrollment" and names.index("Calendar") < names.index("ScheduleStructure")
    assert set(names) == {"District", "School", "Calendar", "ScheduleStructure", "StructureGradeLevel",
                          "PersonIdentity", "Enrollment"}


def test_objects_tree_of_an_unknown_object_suggests_names(cli):
    result = cli("objects", "--tree", "Enrolment")
    assert _one_error_line(result) == \
        "Error: Unknown object 'Enrolment'; `resync objects` lists them. Did you mean Enrollment?"


# --- resync run: the plan ------------------------------------------------------------------

def test_dry_run_shows_the_plan_and_the_dbt_command_and_changes_nothing(cli, generated_url):
    result = cli("run", *IN_YEAR, "-d", "02", "-d", "01", "-o", "attendanceexcuse", "--check-dependencies", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"school year {YEAR - 1}-{YEAR}" in result.output
    assert "Districts: 01 Abbott, 02 Campus" in result.output
    assert "1. District" in result.output and "4. AttendanceExcuse" in result.output
    assert "(dependency)" in result.output.split("3. Calendar")[1].splitlines()[0]
    assert "Nothing was changed" in result.output
    command = shlex.split(result.output.strip().splitlines()[-1])
    assert command[:3] == ["dbt", "run", "--project-dir"]
    assert (settings.project_dir() / command[3]).resolve() == settings.dbt_project_dir()
    assert command[4:] == [
        "--select", "+attendance_excuse",
        "--vars", json.dumps({"districts": ["01", "02"], "school_year": YEAR}, separators=(", ", ": ")),
        "--fail-fast",
    ]
    assert _state_tables(generated_url) == set()

    document = _json(cli("run", *IN_YEAR, "-d", "01", "-o", "Calendar", "-o", "school", "--dry-run", "--json"))
    assert document["dry_run"] is True
    assert [o["object"] for o in document["plan"]["objects"]] == ["School", "Calendar"]
    assert document["plan"]["dbt_command"].endswith("--select school calendar --vars '{\"districts\": [\"01\"], "
                                                    f"\"school_year\": {YEAR}}}' --fail-fast")
    assert _state_tables(generated_url) == set()


def test_the_printed_dbt_command_does_the_same_by_hand(cli, generated_url, tmp_path):
    plan = _json(cli("run", *IN_YEAR, "-d", "01", "-o", "School", "--check-dependencies", "--dry-run", "--json"))["plan"]
    command = plan["dbt_command"]
    pulled = cli(*shlex.split(plan["pull_command"])[1:])  # by hand: the pull first, then dbt
    assert pulled.exit_code == 0, pulled.output
    environment = dict(os.environ, **database.dbt_environment(generated_url),
                       DBT_TARGET_PATH=str(tmp_path / "target"), DBT_LOG_PATH=str(tmp_path / "logs"))
    dbt = os.path.join(os.path.dirname(sys.executable), "dbt")
    completed = subprocess.run([dbt, *shlex.split(command)[1:]], env=environment, cwd=settings.project_dir(),
                               capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    by_hand = _state_snapshot(generated_url)
    assert set(by_hand) == {"district", "school"}

    result = cli("run", *IN_YEAR, "-d", "01", "-o", "School", "--check-dependencies", "--yes")
    assert result.exit_code == 0, result.output
    assert _state_snapshot(generated_url).keys() == by_hand.keys()
    assert {t: len(rows) for t, rows in _state_snapshot(generated_url).items()} == \
        {t: len(rows) for t, rows in by_hand.items()}


# --- resync run: running -------------------------------------------------------------------

def test_run_with_dependencies_replaces_the_chosen_district_and_reports_rows(cli, generated_url):
    result = cli("run", *IN_YEAR, "-d", "01", "-o", "AttendanceExcuse", "--check-dependencies", "--yes", "--json")
    assert result.exit_code == 0, result.output
    document = _json(result)
    assert document["ok"] is True and document["error"] is None
    rows = _by_object(document)
    assert [k[0] for k in rows] == ["District", "School", "Calendar", "AttendanceExcuse"]
    assert all(r["status"] == "success" and r["seconds"] >= 0 for r in rows.values())
    expected_excuses = _scalar(generated_url, "select count(*) from district_01.attendance_excuse e"
                               " join district_01.calendar c using (calendar_id) where c.end_year = :y", y=YEAR)
    assert expected_excuses > 0
    assert rows[("AttendanceExcuse", "01")]["rows_replaced"] == expected_excuses
    assert rows[("School", "01")]["rows_replaced"] == _scalar(generated_url, "select count(*) from district_01.school")
    assert document["missing_parents"] == []
    assert _query(generated_url, "select distinct district_id from state.attendance_excuse") == [("01",)]

    # A second district: its rows arrive, the first district's rows stay as they were.
    before = _query(generated_url, "select * from state.attendance_excuse where district_id = '01' order by excuse_id")
    assert cli("run", *IN_YEAR, "-d", "02", "-o", "AttendanceExcuse", "--check-dependencies", "--yes").exit_code == 0
    assert _query(generated_url, "select * from state.attendance_excuse where district_id = '01' order by excuse_id") == before
    assert _query(generated_url, "select distinct district_id from state.attendance_excuse order by 1") == [("01",), ("02",)]


def test_run_asks_first_and_takes_several_objects_and_districts_in_any_case(cli, generated_url):
    declined = cli("run", *IN_YEAR, "-d", "01", "-d", "03", "-o", "SCHOOL", "-o", "district", input="n\n")
    assert _one_error_line(declined) == "Error: Cancelled: nothing was changed."
    assert "Resync now? [y/N]" in declined.output and "Districts: 01 Abbott, 03 Cedar Valley" in declined.output
    assert _state_tables(generated_url) == set()

    accepted = cli("run", *IN_YEAR, "-d", "01", "-d", "03", "-o", "SCHOOL", "-o", "district", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    # Progress, one line per finished object (stderr is not a terminal here).
    assert "[1/2] District: success" in accepted.stderr and "[2/2] School: success" in accepted.stderr
    table = [l.split() for l in accepted.stdout.splitlines() if l.startswith(("District ", "School "))]
    schools_03 = _scalar(generated_url, "select count(*) from district_03.school")
    assert ["School", "03", "Cedar", "Valley", "success", str(schools_03)] == table[-1][:6]
    assert len(table) == 4
    assert "Resynced 2 objects for districts 01, 03" in accepted.stdout


def test_without_dependencies_missing_parents_are_reported_with_advice(cli, generated_url):
    result = cli("run", *IN_YEAR, "-d", "01", "-o", "Enrollment", "--yes")
    assert result.exit_code == 0, result.output
    enrollments = _scalar(generated_url, "select count(*) from state.enrollment where district_id = '01'")
    assert enrollments > 0
    assert f"Enrollment in district 01: {enrollments} rows whose Calendar is missing at the state." in result.output
    assert f"Enrollment in district 01: {enrollments} rows whose PersonIdentity is missing at the state." in result.output
    assert "rerun with --check-dependencies" in result.output

    fixed = _json(cli("run", *IN_YEAR, "-d", "01", "-o", "Enrollment", "--check-dependencies", "--yes", "--json"))
    assert fixed["ok"] and fixed["missing_parents"] == [] and fixed["advice"] is None

    # Rebuilding a parent alone is checked too: children kept at the state whose parent is gone.
    # The district drops a calendar (its source has no foreign keys to stop it, like a replica).
    with database.transaction(generated_url) as conn:
        conn.execute(sa.text("set local session_replication_role = replica"))
        conn.execute(sa.text("delete from district_01.calendar where calendar_id ="
                             " (select min(calendar_id) from district_01.enrollment)"))
    after = _json(cli("run", *IN_YEAR, "-d", "01", "-o", "Calendar", "--yes", "--json"))
    assert after["ok"]
    orphaned = {(m["child"], m["parent"]) for m in after["missing_parents"]}
    assert ("Enrollment", "Calendar") in orphaned
    assert after["advice"].startswith("Some rows point at parents")


def test_school_year_option_and_years_without_calendars(cli, generated_url):
    result = _json(cli("run", "-d", "01", "-o", "Calendar", "--school-year", str(YEAR), "--yes", "--json"))
    assert result["ok"] and result["plan"]["school_year"] == YEAR
    assert _query(generated_url, "select distinct end_year from state.calendar") == [(YEAR,)]
    before = _state_snapshot(generated_url)

    refused = cli("run", "-d", "01", "-d", "02", "-o", "Calendar", "--school-year", "2001", "--yes")
    assert _one_error_line(refused) == ("Error: No calendar of school year 2000-2001 exists in districts"
                                        " 01 Abbott, 02 Campus; choose another --school-year.")
    # Without --school-year the current school year is meant; the generated districts lack it.
    current = resync.current_school_year()
    by_default = cli("run", "-d", "03", "-o", "Day", "--yes")
    assert _one_error_line(by_default) == (f"Error: No calendar of school year {current - 1}-{current} exists in"
                                           " district 03 Cedar Valley; choose another --school-year.")
    # District-scoped objects need no calendar: the school year does not apply to them.
    assert cli("run", "-d", "03", "-o", "School", "--yes").exit_code == 0
    assert _state_snapshot(generated_url)["calendar"] == before["calendar"]


def test_full_refresh_needs_every_district(cli, generated_url):
    narrowed = cli("run", *IN_YEAR, "-d", "01", "-o", "School", "--full-refresh", "--yes")
    assert _one_error_line(narrowed) == ("Error: A full refresh rebuilds the tables for every registered district,"
                                         " so it cannot be narrowed: add -d 02 -d 03 or leave out --full-refresh.")
    assert _state_tables(generated_url) == set()

    document = _json(cli("run", *IN_YEAR, "-d", "01", "-d", "02", "-d", "03", "-o", "School", "--full-refresh", "--yes", "--json"))
    assert document["ok"], document["error"]
    assert document["plan"]["full_refresh"] is True and "--full-refresh" in document["plan"]["dbt_command"]
    assert _query(generated_url, "select distinct district_id from state.school order by 1") == [("01",), ("02",), ("03",)]


# --- resync run: bad input -----------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["-d", "01", "-o", "AttendanceExcuses"],
     "Error: Unknown object 'AttendanceExcuses'; `resync objects` lists them. Did you mean AttendanceExcuse?"),
    (["-d", "01", "-d", "07", "-o", "School"],
     "Error: District 07 is not registered; `resync district list` shows those that are."),
    (["-d", "01"], "Error: Choose at least one object with -o OBJECT; `resync objects` lists them."),
    (["-o", "School"], "Error: Choose at least one district with -d CODE; `resync district list` shows them."),
    (["-d", "0-1", "-o", "School"],
     "Error: District code '0-1' is not valid: use 1 to 16 letters and digits, such as 01."),
])
def test_bad_input_is_one_sentence_and_changes_nothing(cli, generated_url, args, message):
    result = cli("run", *IN_YEAR, *args, "--yes")
    assert _one_error_line(result) == message
    assert _state_tables(generated_url) == set()


def test_attendance_objects_are_refused_when_the_state_does_not_subscribe(cli, generated_url, state_without_attendance):
    refused = cli("run", *IN_YEAR, "-d", "01", "-o", "AttendanceExcuse", "--yes")
    assert _one_error_line(refused) == ("Error: Utah does not subscribe to AttendanceExcuse, so it cannot be"
                                        " resynced (the subscriptions are vars.subscribed_objects in dbt_project.yml).")
    listed = _json(cli("objects", "--json"))
    assert listed["state"] == "Utah"
    assert {o["object"] for o in listed["objects"] if not o["subscribed"]} == {"AttendanceExcuse", "AttDayAggregation"}
    assert _state_tables(generated_url) == set()


def test_a_sql_failure_keeps_finished_objects_and_rolls_back_the_failed_one(cli, generated_url):
    assert cli("run", *IN_YEAR, "-d", "01", "-o", "AttendanceExcuse", "--check-dependencies", "--yes").exit_code == 0
    before = _state_snapshot(generated_url)
    # The district renames a calendar and a school; the state refuses that calendar's new name.
    with database.transaction(generated_url) as conn:
        conn.execute(sa.text("update district_01.calendar set name = 'Refused'"))
        conn.execute(sa.text("alter table state.calendar add constraint no_refused check (name <> 'Refused') not valid"))
        conn.execute(sa.text("update district_01.school set name = 'Renamed' where school_id ="
                             " (select min(school_id) from district_01.school)"))

    result = cli("run", *IN_YEAR, "-d", "01", "-o", "AttendanceExcuse", "--check-dependencies", "--yes", "--json")
    assert result.exit_code == 1
    document = _json(result)
    assert document["ok"] is False
    statuses = {k[0]: r["status"] for k, r in _by_object(document).items()}
    assert statuses == {"District": "success", "School": "success", "Calendar": "error", "AttendanceExcuse": "skipped"}
    sentence = _one_error_line(result)
    assert sentence == document["error"].join(["Error: ", ""])
    assert sentence.startswith("Error: Calendar failed for district 01 and was rolled back (new row for relation")
    assert sentence.endswith("2 objects before it finished and 1 was skipped.")

    after = _state_snapshot(generated_url)
    assert after["calendar"] == before["calendar"]  # rolled back
    assert after["attendance_excuse"] == before["attendance_excuse"]  # skipped
    assert after["school"] != before["school"]  # finished before the failure
    assert ("Renamed",) in _query(generated_url, "select name from state.school where district_id = '01'")




def test_counts_read_the_same_in_every_table_and_summary(cli, generated_url):
    result = cli("run", *IN_YEAR, "-d", "01", "-o", "AttDayAggregation", "--yes")
    assert result.exit_code == 0, result.output
    [[rows]] = _query(generated_url, "select count(*) from state.att_day_aggregation where district_id = '01'")
    assert rows >= 1000
    line = next(l for l in result.output.splitlines() if l.startswith("AttDayAggregation"))
    assert line.split()[-2] == f"{rows:,}"  # right-aligned, with thousands separators
    assert f": {rows:,} rows in" in result.output and str(rows) not in result.output
    again = cli("aggregate", "-d", "01", *IN_YEAR, "--refresh")
    assert f"{rows:,} rows written, {rows:,} deleted" in again.output


# --- run order and stopping ----------------------------------------------------------------

def test_plan_progress_results_and_tree_follow_the_order_dbt_runs(cli, generated_url):
    with database.transaction(generated_url) as conn:
        plan = resync.build_plan(conn, ["01"], ["Enrollment"], True, YEAR)
    planned = [o.campus_name for o in plan.objects]
    # dbt takes PersonIdentity right after District (same depth as School); the catalog lists it later.
    assert planned[:2] == ["District", "PersonIdentity"] and planned[-1] == "Enrollment"
    started = []
    result = resync.execute(plan, on_progress=lambda e: started.append(e.object) if e.kind == "start" else None)
    assert result.ok, result.error
    assert started == planned
    assert [r.object for r in result.objects] == planned
    tree = _json(cli("objects", "--tree", "Enrollment", "--json"))
    assert [o["object"] for o in tree["runs"]] == planned


def test_a_failure_message_agrees_with_the_table(cli, generated_url):
    assert cli("run", *IN_YEAR, "-d", "01", "-o", "SchoolMonth", "--yes").exit_code == 0
    # The state refuses district 02's school months (as a broken source would fail them).
    with database.transaction(generated_url) as conn:
        conn.execute(sa.text("alter table state.school_month add constraint no_02 check (district_id <> '02') not valid"))
    result = cli("run", *IN_YEAR, "-d", "01", "-d", "02", "-o", "Calendar", "-o", "SchoolMonth", "-o", "Day",
                 "--yes", "--json")
    document = _json(result)
    order = list(dict.fromkeys(r["object"] for r in document["objects"]))
    assert order == [o["object"] for o in document["plan"]["objects"]]
    statuses = {k[0]: r["status"] for k, r in _by_object(document).items()}
    failed = order.index("SchoolMonth")
    # Every object listed before the failed one finished, every one after it was skipped.
    assert [statuses[o] for o in order] == ["success"] * failed + ["error"] + ["skipped"] * (len(order) - failed - 1)
    assert document["error"].startswith("SchoolMonth failed for districts 01, 02 and was rolled back (new row")
    finished, skipped = failed, len(order) - failed - 1
    assert document["error"].endswith(f"{finished} objects before it finished and {skipped}"
                                      f" {'was' if skipped == 1 else 'were'} skipped.")


def _waiting_run_sessions(url: str) -> list:
    return _query(url, "select pid from pg_stat_activity where datname = current_database()"
                       " and application_name = 'state_resync' and wait_event_type = 'Lock'")


def test_ctrl_c_stops_promptly_and_reports_exactly_what_committed(cli, generated_url):
    from queue_helpers import RowLocks, wait_until

    args = ["run", *IN_YEAR, "-d", "01", "-d", "02", "-o", "Day", "--check-dependencies", "--yes"]
    assert cli(*args).exit_code == 0  # every state table exists; the next run replaces their rows
    before = _scalar(generated_url, "select txid_current()")
    held = RowLocks(generated_url, "state.calendar", "02")  # Calendar's replacement waits on these rows
    try:
        process = subprocess.Popen([sys.executable, "-c", "from orchestrator.cli import main; main()", *args, "--json"],
                                   cwd=settings.project_dir(), env=dict(os.environ), text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: _waiting_run_sessions(generated_url) or process.poll() is not None, 120,
                       "the run to wait on the held Calendar rows")
            assert process.poll() is None, process.communicate()
            process.send_signal(signal.SIGINT)
            interrupted_at = time.monotonic()
            out, err = process.communicate(timeout=60)
            took = time.monotonic() - interrupted_at
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(30)
    finally:
        held.release()
    assert process.returncode == 130, err
    assert "Stopping" in err and took < 15, (took, err)
    document = json.loads(out)
    assert document["interrupted"] is True and document["ok"] is False
    reported = {k[0]: r["status"] for k, r in _by_object(document).items()}
    assert reported == {"District": "success", "School": "success", "Calendar": "error",
                        "ScheduleStructure": "skipped", "PeriodSchedule": "skipped", "Day": "skipped"}
    assert "Error: Stopped: 2 objects had finished and stay replaced; Calendar, in progress, was rolled back;" \
           " 3 were not started." in err
    # What the database committed: tables whose rows this run rewrote (a newer transaction id).
    committed = {o.campus_name for o in catalog.load() if o.model_name in _state_tables(generated_url)
                 and _scalar(generated_url, f'select bool_and(xmin::text::bigint > :b) from state."{o.model_name}"',
                             b=before)}
    assert committed == {name for name, status in reported.items() if status == "success"}
