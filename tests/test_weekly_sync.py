"""The weekly full sync runs every district in one dbt run, and district by district only when that
run fails (orchestrator.full_sync).

Each test queues the weekly schedule's request and runs it as a worker does, in this process, so
that dbt's invocations can be counted: a spy calls the real dbt_invoker.invoke. The run through a
real worker process is tests/test_schedules.py's.
"""

from __future__ import annotations

import pytest

from generated_data import SCHOOL_YEAR
from orchestrator import database, dbt_invoker, resync, schedules, worker
from queue_helpers import query

CODES = ["01", "02", "03"]


@pytest.fixture
def weekly(generated_url, monkeypatch):
    """Queue the weekly request and run it as a worker does: (request, outcome, dbt invocations,
    progress events)."""
    # The generated districts hold 2023-2024: let that be the current school year when it is queued.
    monkeypatch.setattr(resync, "current_school_year", lambda today=None: SCHOOL_YEAR)
    invocations: list[list[str]] = []
    real = dbt_invoker.invoke

    def counted(args, *rest, **options):
        invocations.append(list(args))
        return real(args, *rest, **options)

    monkeypatch.setattr(dbt_invoker, "invoke", counted)

    def run(should_stop=lambda: False):
        with database.transaction(generated_url) as conn:
            request = schedules.enqueue_run(conn, "weekly", requested_by="admin")
            target = worker._ResyncTarget.build(conn, request, generated_url)
        assert request.selection["districts"] == CODES and request.selection["per_district"] is True
        events: list[dict] = []
        invocations.clear()  # those of the test's own set-up
        outcome = target.run(events.append, should_stop)
        return request, outcome, invocations, events

    return run


def _syncs(url: str, request_id: int) -> dict[str, int]:
    """Per district, how many rebuilds of District the request recorded for `resync freshness`."""
    return dict(query(url, "select district_id, count(*) from resync.object_sync"
                           " where request_id = %s and object = 'District' group by 1", request_id))


def test_healthy_districts_are_synced_in_one_dbt_run(weekly, generated_url):
    request, (status, results, error), invocations, events = weekly()
    assert (status, error) == ("succeeded", None)
    assert len(invocations) == 1
    assert [(d["district"], d["status"], d["run"]) for d in results["districts"]] == \
        [(code, "success", "together") for code in CODES]
    objects = len(request.plan["objects"])
    assert len(results["objects"]) == objects * 3 and {o["status"] for o in results["objects"]} == {"success"}
    assert {p["district"] for p in results["pulls"] if p["ok"]} == set(CODES)
    # One transaction recorded every district's rebuilds: one time for all.
    assert query(generated_url, "select count(distinct synced_at) from resync.object_sync where request_id = %s",
                 request.id) == [(1,)]
    assert _syncs(generated_url, request.id) == {code: 1 for code in CODES}
    last = events[-1]
    assert last["districts"] == CODES and last["pulls"] == {code: "success" for code in CODES}
    assert last["objects"]["District"] == {code: "success" for code in CODES}


def _break_district_02(url: str, cli) -> None:
    """District 02 breaks at the state: its pull works; its rows are refused by the state table."""
    assert cli("run", "-d", "01", "-o", "AttendanceExcuse", "--school-year", str(SCHOOL_YEAR), "--yes").exit_code == 0
    query(url, "alter table state.attendance_excuse add constraint no_02 check (district_id <> '02') not valid")


def test_a_district_whose_rows_break_a_model_fails_alone_and_the_others_are_synced(weekly, generated_url, cli):
    _break_district_02(generated_url, cli)
    request, (status, results, error), invocations, events = weekly()

    assert status == "failed"
    # The run of all three, then each district on its own: the failed object rolled back for all.
    assert len(invocations) == 4
    assert [(d["district"], d["status"], d["run"]) for d in results["districts"]] == \
        [("01", "success", "alone"), ("02", "error", "alone"), ("03", "success", "alone")]
    assert " failed for districts 01, 02, 03 and was rolled back " in results["together_error"]
    assert error.startswith("AttendanceExcuse failed for district 02 and was rolled back (new row")
    assert error.endswith("Districts 01, 03 were resynced.")
    assert {o["status"] for o in results["objects"] if o["district"] != "02"} == {"success"}
    assert len(results["objects"]) == len(request.plan["objects"]) * 3
    # District was rebuilt for every district by the first run, and again on its own.
    assert _syncs(generated_url, request.id) == {code: 2 for code in CODES}
    synced = query(generated_url, "select district_id, count(*) from state.att_day_aggregation group by 1 order by 1")
    assert [code for code, rows in synced if rows > 0] == ["01", "03"]
    # Run again, a district waits again; its own run then shows it where it is.
    restart = next(e for e in events if e["event"] == "restart")
    assert restart["pulls"] == {} and all(not states for states in restart["objects"].values())
    assert events[-1]["districts"] == ["03"] and events[-1]["message"].startswith("district 03 on its own (3/3): ")


def test_a_district_whose_pull_fails_is_skipped_and_the_others_are_not_run_again(weekly, generated_url):
    query(generated_url, "alter table district_02.attendance_excuse rename to attendance_excuse_gone")
    request, (status, results, error), invocations, events = weekly()

    assert status == "failed"
    assert len(invocations) == 1
    assert [(d["district"], d["status"], d["run"]) for d in results["districts"]] == \
        [("01", "success", "together"), ("02", "error", "together"), ("03", "success", "together")]
    failed = results["districts"][1]["error"]
    assert failed.startswith("District 02 (") and "attendance_excuse" in failed
    assert error == f"{failed.rstrip('.')}. Districts 01, 03 were resynced."
    assert {o["status"] for o in results["objects"] if o["district"] == "02"} == {"skipped"}
    assert {o["status"] for o in results["objects"] if o["district"] != "02"} == {"success"}
    assert _syncs(generated_url, request.id) == {"01": 1, "03": 1}
    assert [p["ok"] for p in results["pulls"]] == [True, False, True]


def test_a_cancel_during_the_run_of_every_district_runs_none_again(weekly, generated_url, cli):
    _break_district_02(generated_url, cli)
    request, (status, results, error), invocations, events = weekly(should_stop=lambda: True)

    assert status == "cancelled" and len(invocations) == 1
    assert {d["run"] for d in results["districts"]} == {"together"}
    # In one run of every district an object, not a district, is what stays or was rolled back.
    # (A model dbt was running beside the failed one when --fail-fast stopped it rolls back too.)
    sentence = worker._cancel_sentence("ana", results)
    assert sentence.startswith("Cancelled by ana while it ran; District, ")
    replaced, rolled_back = sentence.split(" had been replaced and stay so; ")
    assert "AttendanceExcuse" in rolled_back and "AttendanceExcuse" not in replaced and "district" not in sentence
