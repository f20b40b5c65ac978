"""Where a resync request stands, per object and district: what the request page shows live.

Read from the request alone (its plan, its latest progress event, its results), so whoever may
see the request sees its progress. While a request runs, each progress event the worker records
carries every district's pull and every object's state so far (orchestrator.worker); once it has
ended, its results say how each object ended in each district. One dbt statement replaces an
object for all the request's districts, so while it runs an object is in the same state in each
district whose pull succeeded; a district whose pull failed has its objects skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .requests import RUNNING, Request

WAITING, PULLING, RUNNING_NOW, SUCCESS, ERROR, SKIPPED = "waiting", "pulling", "running", "success", "error", "skipped"
#: A pull that a plan without landing tables never does.
NO_PULL = "none"


@dataclass(frozen=True)
class Cell:
    state: str
    rows: int | None = None  # rows replaced, once the object succeeded there
    seconds: float | None = None


@dataclass
class ObjectRow:
    object: str
    model: str
    added_by_dependencies: bool
    cells: dict[str, Cell] = field(default_factory=dict)  # district code -> its state there


@dataclass
class Progress:
    districts: list[tuple[str, str]]  # (code, name), as the plan lists them
    pulls: dict[str, str]  # district code -> waiting, pulling, success, error (or none)
    objects: list[ObjectRow]  # in run order
    finished: bool

    def counts(self) -> dict[str, int]:
        """How many (object, district) pairs are in each state."""
        found: dict[str, int] = {}
        for row in self.objects:
            for cell in row.cells.values():
                found[cell.state] = found.get(cell.state, 0) + 1
        return found


def of_request(request: Request) -> Progress | None:
    """The request's progress per object and district; None for a request without a plan (the
    attendance aggregation), whose progress is its message alone."""
    plan = request.plan
    if request.kind != "resync" or not plan:
        return None
    districts = [(d["code"], d["name"]) for d in plan.get("districts", [])]
    codes = [code for code, _ in districts]
    rows = [ObjectRow(o["object"], o["model"], bool(o.get("added_by_dependencies"))) for o in plan.get("objects", [])]
    pulls_planned = any(plan.get("pull", {}).values())
    results = request.results or {}
    if request.finished:
        # Results stored before the weekly sync kept its pulls have none.
        pulls_planned = pulls_planned and "pulls" in results
        pulls = {p["district"]: SUCCESS if p.get("ok") else ERROR for p in results.get("pulls") or []}
        ended = {(o["object"], o["district"]): o for o in results.get("objects") or []}
        for row in rows:
            for code in codes:
                found = ended.get((row.object, code))
                row.cells[code] = (Cell(found["status"], found.get("rows_replaced"), found.get("seconds"))
                                   if found else Cell(SKIPPED))
        return Progress(districts, {c: pulls.get(c, NO_PULL if not pulls_planned else SKIPPED) for c in codes},
                        rows, finished=True)

    progress = (request.progress or {}) if request.status == RUNNING else {}
    pulled = progress.get("pulls") or {}
    states = progress.get("objects") or {}  # object -> district -> state
    current = progress.get("districts") or codes  # the districts being run now (one, when run on its own)
    pulling = progress.get("event") in ("pull-start", "pull")

    def pull_state(code: str) -> str:
        if not pulls_planned:
            return NO_PULL
        if code in pulled:
            return pulled[code]
        if pulling and code in current:
            return PULLING
        # Every district's pull is reported before its first object starts.
        return SUCCESS if any(code in by_district for by_district in states.values()) else WAITING

    pulls = {c: pull_state(c) for c in codes}
    for row in rows:
        for code in codes:
            skipped = pulls[code] == ERROR
            row.cells[code] = Cell(SKIPPED if skipped else states.get(row.object, {}).get(code, WAITING))
    return Progress(districts, pulls, rows, finished=False)


class EventRecorder:
    """Writes a resync request's progress events, the shape of_request reads while it runs.

    Each event carries every district's pull and every object's state in each district so far, so
    that the latest one alone says where the run stands, across the several resync.execute runs of
    one request (the weekly sync runs a district again on its own when the run of all fails).
    """

    def __init__(self, send: Callable[[dict], None]):
        self.send = send
        self.pulled: dict[str, str] = {}
        self.objects: dict[str, dict[str, str]] = {}

    def listener(self, codes: list[str], where: str = "") -> Callable[[Any], None]:
        """An on_progress for resync.execute of the districts `codes`; `where` starts each message."""

        def on_progress(event: Any) -> None:
            if event.district:
                self.pulled[event.district] = event.status
            elif event.kind in ("start", "finish"):
                for code in codes:
                    self.objects.setdefault(event.object, {})[code] = \
                        RUNNING_NOW if event.kind == "start" else event.status
            self.send({"message": f"{where}{event.kind} {event.object} ({event.index}/{event.total})"
                                  + (f": {event.status}" if event.status else ""),
                       "object": event.object, "index": event.index, "total": event.total,
                       "event": event.kind, "status": event.status, "districts": list(codes),
                       "pulls": dict(self.pulled), "objects": {name: dict(v) for name, v in self.objects.items()}})

        return on_progress

    def restart(self, codes: list[str], message: str) -> None:
        """The districts `codes` are run again: they wait again, as before their first run."""
        for code in codes:
            self.pulled.pop(code, None)
            for states in self.objects.values():
                states.pop(code, None)
        self.send({"message": message, "event": "restart", "districts": [],
                   "pulls": dict(self.pulled), "objects": {name: dict(v) for name, v in self.objects.items()}})
