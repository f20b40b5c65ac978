"""The weekly full sync: every district in one run, district by district only when that run fails.

One resync.execute of every district costs one dbt start-up and one statement per object for all
of them (each object still replaces each district on its own, macros/resync_district_statements.sql);
a district whose pull fails is already left out of it while the others are rebuilt. What one run
cannot do is keep a district whose rows break a model from failing the others: a failed model
rolls back for every district of the run, and --fail-fast skips the objects after it. Only then
are the districts run again one plan each, so that the broken one fails alone.

The outcome has one entry per district (status, error, seconds, and `run`: together or alone): what
the request page, `resync request show`, request progress and the cancel sentence read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from . import requests, resync
from .request_progress import EventRecorder

logger = logging.getLogger("orchestrator.full_sync")


@dataclass(frozen=True)
class _Latest:
    """A district's last run in the request: the run of every district, or its own."""

    result: Any  # resync.ResyncResult
    alone: bool


def run(together: Any, alone: dict[str, Any], refused: list[tuple[str, str]], *, url: str, origin: Any,
        recorder: EventRecorder, should_stop: Callable[[], bool]) -> tuple[str, dict, str | None]:
    """Run `together` (the plan of every district that could be planned); when its dbt run fails,
    run the districts it did not sync again, each with its plan in `alone` (code -> plan).

    `refused`: the districts that could not be planned, and why; they fail the request. Returns
    (status, results, error sentence).
    """
    codes = together.district_codes
    first = resync.execute(together, url=url, on_progress=recorder.listener(codes, f"{len(codes)} districts: "),
                           origin=origin)
    latest = {code: _Latest(first, alone=False) for code in codes}
    if first.interrupted or should_stop():
        return _outcome(latest, refused, stopped=True)
    again = _to_run_again(first) if len(codes) > 1 else []  # one district already ran on its own
    if not again:
        return _outcome(latest, refused)

    # Again only the districts the failed run did not sync, which are all those it rebuilt: the
    # failed object rolled back for each of them. A district whose pull failed was not in that
    # dbt run and stays failed as the run said (pulling a broken source again would only fail
    # again, and take as long).
    logger.info("The run of districts %s failed (%s); running %s each on its own", ", ".join(codes),
                first.error, ", ".join(again))
    recorder.restart(again, f"the run of every district failed; running district {', '.join(again)}"
                            " each on its own")
    stopped = False
    for number, code in enumerate(again, 1):
        if should_stop():
            stopped = True
            break
        where = f"district {code} on its own ({number}/{len(again)}): "
        result = resync.execute(alone[code], url=url, on_progress=recorder.listener([code], where), origin=origin)
        latest[code] = _Latest(result, alone=True)
        if result.interrupted:
            stopped = True
            break
    status, data, error = _outcome(latest, refused, stopped=stopped)
    data["together_error"] = first.error  # why the districts were run on their own
    return status, data, error


def _to_run_again(result: Any) -> list[str]:
    """The districts to run on their own after `result`: none unless a model failed in its dbt run
    (a failed pull, or dbt failing after every object finished, is not helped by running again)."""
    if not any(o.status == resync.ERROR for o in result.objects):
        return []
    failed_pulls = {p.district for p in result.pulls if not p.ok}
    return [code for code in result.plan.district_codes if code not in failed_pulls
            and not all(o.status == resync.SUCCESS for o in result.objects if o.district == code)]


def _district(code: str, latest: _Latest) -> dict:
    result = latest.result
    objects = [o for o in result.objects if o.district == code]
    pull = next((p for p in result.pulls if p.district == code), None)
    ok = all(o.status == resync.SUCCESS for o in objects) and (pull is None or pull.ok)
    if latest.alone or ok:
        error = result.error if not ok else None
    else:  # the run of every district: its pull's own sentence if that failed, else the run's
        error = pull.error if pull is not None and not pull.ok else result.error or "did not finish"
    return {"district": code, "status": "success" if ok else "error", "error": error,
            # one run of every district takes its time for each of them
            "seconds": result.seconds, "run": "alone" if latest.alone else "together",
            "_objects": objects, "_pull": pull,
            "_missing": [m for m in result.missing_parents if m.district == code]}


def _outcome(latest: dict[str, _Latest], refused: list[tuple[str, str]],
             stopped: bool = False) -> tuple[str, dict, str | None]:
    """Each district's objects as its last run left them, and one sentence naming each failed
    district and the districts synced."""
    entries = [_district(code, run) for code, run in latest.items()]
    failed = [e["error"] for e in entries if e["status"] != "success"] + [reason for _, reason in refused]
    # dbt failing after every object finished (a hook) fails no district, yet is said.
    stray = [run.result.error for run in latest.values() if run.result.error and not run.alone
             and all(e["status"] == "success" for e in entries if e["run"] == "together")]
    done = [e["district"] for e in entries if e["status"] == "success"]
    data = {
        "ok": not failed and not stray,
        "objects": [o.as_dict() for e in entries for o in e["_objects"]],
        "districts": [{k: v for k, v in e.items() if not k.startswith("_")} for e in entries]
                     + [{"district": code, "status": "error", "error": reason, "seconds": None, "run": None}
                        for code, reason in refused],  # never run: not planned
        "missing_parents": [m.as_dict() for e in entries for m in e["_missing"]],
        "pulls": [e["_pull"].as_dict() for e in entries if e["_pull"] is not None],
    }
    sentences = list(dict.fromkeys(failed + stray))  # one run's sentence once, however many districts it names
    if not sentences:  # everything was synced, even if a stop came at the very end
        data["error"] = None
        return requests.SUCCEEDED, data, None
    synced = f" District{'s' if len(done) != 1 else ''} {', '.join(done)} {'were' if len(done) != 1 else 'was'}" \
             " resynced." if done else ""
    error = " ".join(f"{sentence.rstrip('.')}." for sentence in sentences) + synced  # each names its district
    data["error"] = error
    return (requests.CANCELLED if stopped else requests.FAILED), data, error
