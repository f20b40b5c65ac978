"""The pages of what the state sees: freshness, and verification with its Repair button.

The same API as `resync freshness` and `resync verify [--repair]` (orchestrator.state_view),
through the signed-in user's own connection: PostgreSQL decides which districts they see and
whether they may queue a repair (resync.queue_request); the page only hides the Repair button
from a user without Write. A verification runs while the form waits (a district's equal copy
costs a few checksums); its outcome is stored and shown at /verification/<id>.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .. import database, registry, state_config
from ..errors import ResyncError
from ..school_year import current_school_year, parse_school_year, school_year_label
from ..state_view import freshness as freshness_api
from ..state_view import repair as repair_api
from ..state_view import verify as verify_api
from .pages import _frame, _message, _page, _posted_form, _Refused
from .sessions import Session

VERIFY, REPAIR = "verify", "repair"
#: Keys shown per set on a verification's page (it stores up to segments.LISTED_KEYS).
SHOWN_KEYS = 20


def routes() -> list[Route]:
    return [
        Route("/freshness", freshness),
        Route("/verification", verification, methods=["GET"]),
        Route("/verification", run_verification, methods=["POST"]),
        Route("/verification/{verification_id:int}", verification_page),
    ]


# --- freshness -----------------------------------------------------------------------------

def _freshness(session: Session, school_year: int | None) -> dict:
    year = school_year or current_school_year()
    found = freshness_api.freshness(session.url, [], [], year)
    with database.transaction(session.url) as conn:
        frame = _frame(conn, session)
    return {**frame, "title": "Freshness", "year": year, "year_label": school_year_label(year), "found": found,
            "cadence": state_config.sync_cadence_days()}


async def freshness(request: Request) -> Response:
    year = request.query_params.get("school_year", "")
    return await _page(request, lambda s: _freshness(s, parse_school_year(year)), "freshness.html")


# --- verification --------------------------------------------------------------------------

def _verification(session: Session) -> dict:
    config = state_config.load()
    with database.transaction(session.url) as conn:
        return {**_frame(conn, session), "title": "Verification", "year": current_school_year(),
                "districts": registry.list_all(conn),  # the ones the user may see
                "objects": config.subscribed_objects(),
                "found": verify_api.history(conn, limit=50)}


async def verification(request: Request) -> Response:
    return await _page(request, _verification, "verification.html")


def _verify(session: Session, action: str, districts: list[str], objects: list[str], year: int | None) -> int:
    if action == REPAIR:
        found, _ = repair_api.verify_and_repair(session.url, districts, objects, year)
    else:
        found = verify_api.verify(session.url, districts, objects, year)
    return found.id


async def run_verification(request: Request) -> Response:
    """Verify (or Repair: verify, then queue what removes the differences), then the outcome's page."""
    try:
        session, form = await _posted_form(request)
    except _Refused as refused:
        return _message(request, str(refused), refused.status)
    action = str(form.get("action") or VERIFY)
    if action not in (VERIFY, REPAIR):
        return _message(request, f"{action[:40]!r} is not something this page does: Verify or Repair.", 422)
    try:
        year = parse_school_year(str(form.get("school_year") or ""))
        verification_id = await run_in_threadpool(
            _verify, session, action, [str(d) for d in form.getlist("district")],
            [str(o) for o in form.getlist("object")], year)
    except ResyncError as exc:
        what = "verified or queued" if action == REPAIR else "verified"
        return _message(request, f"Nothing was {what}: {exc}", 422, "Verification refused")
    return RedirectResponse(f"/verification/{verification_id}", status_code=303)


def _verification_result(session: Session, verification_id: int) -> dict:
    with database.transaction(session.url) as conn:
        past, districts = verify_api.stored(conn, verification_id)
        frame = _frame(conn, session)
    return {**frame, "title": f"Verification {verification_id}", "v": past, "districts": districts,
            "year_label": school_year_label(past.school_year), "shown": SHOWN_KEYS,
            "can_repair": session.can_request and not past.equal and not past.repair_requests}


async def verification_page(request: Request) -> Response:
    verification_id = request.path_params["verification_id"]
    return await _page(request, lambda s: _verification_result(s, verification_id), "verification_result.html")
