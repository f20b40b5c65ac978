"""Progress per object and district, from what the worker records (orchestrator.request_progress).

The events are shaped as the worker writes them (orchestrator/worker.py: each carries every
district's pull and every object's state so far); the web page's browser test watches a real run.
"""

from __future__ import annotations

from datetime import datetime, timezone

from orchestrator import request_progress
from orchestrator.requests import Request

PLAN = {
    "districts": [{"code": "01", "name": "Abbott"}, {"code": "02", "name": "Campus"}],
    "objects": [{"object": "District", "model": "district", "added_by_dependencies": True},
                {"object": "School", "model": "school", "added_by_dependencies": False}],
    "pull": {"01": ["district", "school"], "02": ["district", "school"]},
}


def _request(status: str, progress: dict | None = None, results: dict | None = None) -> Request:
    now = datetime.now(timezone.utc)
    return Request(id=1, kind="resync", requested_by="ana", selection={}, plan=PLAN, schedule_name=None,
                   status=status, job_id=1, attempts=1, worker="w", progress=progress, results=results, error=None,
                   requested_at=now, started_at=now, finished_at=now if status in ("succeeded", "failed") else None,
                   cancel_requested_by=None, cancel_requested_at=None)


def _states(progress: request_progress.Progress) -> dict:
    return {(row.object, code): cell.state for row in progress.objects for code, cell in row.cells.items()}


def test_a_queued_request_waits_everywhere():
    found = request_progress.of_request(_request("queued"))
    assert found.pulls == {"01": "waiting", "02": "waiting"}
    assert set(_states(found).values()) == {"waiting"}


def test_a_running_request_pulls_then_replaces_object_by_object():
    pulling = request_progress.of_request(_request("running", {"event": "pull-start", "pulls": {}, "objects": {}}))
    assert pulling.pulls == {"01": "pulling", "02": "pulling"}
    one_pulled = request_progress.of_request(_request("running", {"event": "pull", "pulls": {"01": "success"}}))
    assert one_pulled.pulls == {"01": "success", "02": "pulling"}

    second = request_progress.of_request(_request("running", {
        "event": "start", "pulls": {"01": "success", "02": "error"}, "districts": ["01"],
        "objects": {"District": {"01": "success"}, "School": {"01": "running"}}}))
    assert second.pulls == {"01": "success", "02": "error"}
    assert _states(second) == {("District", "01"): "success", ("School", "01"): "running",
                               ("District", "02"): "skipped", ("School", "02"): "skipped"}  # its pull failed


def test_a_run_district_by_district_shows_each_district_where_it_is():
    found = request_progress.of_request(_request("running", {
        "event": "finish", "pulls": {"01": "success", "02": "success"}, "districts": ["02"],
        "objects": {"District": {"01": "success", "02": "success"}, "School": {"01": "success"}}}))
    assert _states(found) == {("District", "01"): "success", ("School", "01"): "success",
                              ("District", "02"): "success", ("School", "02"): "waiting"}
    waiting = request_progress.of_request(_request("running", {
        "event": "pull-start", "pulls": {}, "districts": ["01"], "objects": {}}))
    assert waiting.pulls == {"01": "pulling", "02": "waiting"}


def test_a_finished_request_shows_its_results_with_rows():
    results = {"pulls": [{"district": "01", "ok": True}, {"district": "02", "ok": True}],
               "objects": [{"object": o, "district": d, "status": "success", "rows_replaced": 3, "seconds": 0.1}
                           for o in ("District", "School") for d in ("01", "02")]}
    found = request_progress.of_request(_request("succeeded", results=results))
    assert found.finished and found.pulls == {"01": "success", "02": "success"}
    assert found.counts() == {"success": 4}
    assert {cell.rows for row in found.objects for cell in row.cells.values()} == {3}


def test_an_aggregation_request_has_no_grid():
    request = _request("queued")
    request.kind, request.plan = "aggregation", None
    assert request_progress.of_request(request) is None
