"""The pages: sign-in, the resync screen and its confirmation, a request, history, the inbox.

Each handler reads and queues through the signed-in user's own database connection with the
same API as the CLI (requests.plan_resync and submit_resync, plan_review, request_progress,
registry, notifications), so PostgreSQL's rights decide what a user sees and may do; the page
only hides what it knows the database would refuse (the Request button of a Read user).
"""

from __future__ import annotations

import datetime
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .. import catalog, database, notifications, plan_review, registry, reports, request_progress, requests, state_config
from ..errors import ResyncError
from ..school_year import current_school_year, parse_school_year, school_year_label
from .sessions import Session, authenticate

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
EXPIRED = "This form has expired or did not come from this page: reload the page and try again."


def routes() -> list[Route]:
    return [
        Route("/", screen),
        Route("/signin", signin_page, methods=["GET"]),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/plan", confirm, methods=["POST"]),
        Route("/requests", queue, methods=["POST"]),
        Route("/requests/{request_id:int}", request_page),
        Route("/history", history),
        Route("/inbox", inbox),
        Route("/report", report),
    ]


def when(moment: datetime.datetime | None, missing: str = "never") -> str:
    """A moment in the server's local time, to the minute (the template filter `when`)."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else missing


def plural(count: int, word: str) -> str:
    """`1 row`, `1,234 rows` (the template filter `plural`)."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


# --- who is asking -------------------------------------------------------------------------

def _web(request: Request):
    return request.app.state.web


def _session(request: Request) -> Session:
    return request.state.session


def signed_in(request: Request) -> Session | None:
    """The signed-in session; behind a reverse proxy, the header's user (signed in on first sight)."""
    web, session = _web(request), _session(request)
    if web.remote_user_header:
        name = request.headers.get(web.remote_user_header)
        if not name:
            return None
        if session.user != name:
            url, caller = authenticate(web.database_url, name, None)
            session = request.app.state.sessions.sign_in(session, url, caller)
            request.state.session = session
    return session if session.caller else None


def _csrf_ok(request: Request, form) -> bool:
    return _session(request).csrf_ok(form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER))


def _render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> Response:
    session = _session(request)
    context = {"session": session, "state_name": state_config.load().name, "csrf_field": CSRF_FIELD,
               "header_signin": bool(_web(request).remote_user_header), "embedded": _web(request).embedded,
               "unread": 0, "last_notification": 0, "request_id": None, **(context or {})}
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status)


def _message(request: Request, text: str, status: int, title: str = "Not possible") -> Response:
    return _render(request, "message.html", {"title": title, "text": text}, status=status)


async def _page(request: Request, load: Callable[[Session], dict], template: str) -> Response:
    """A page for a signed-in user: `load(session)` runs in a thread (database calls) and gives
    the template its context; a ResyncError becomes the page's one sentence."""
    try:
        session = await run_in_threadpool(signed_in, request)
    except ResyncError as exc:
        return _message(request, str(exc), 403, "Cannot sign in")
    if session is None:
        return _to_signin(request)
    try:
        context = await run_in_threadpool(load, session)
    except ResyncError as exc:
        return _message(request, str(exc), 404)
    return _render(request, template, context)


def _to_signin(request: Request) -> Response:
    if _web(request).remote_user_header:
        return _message(request, f"The reverse proxy sent no {_web(request).remote_user_header} header:"
                                 " sign in through it.", 401, "Not signed in")
    return RedirectResponse("/signin", status_code=303)


def _frame(conn, session: Session) -> dict:
    """What every page's frame shows: unread notifications, and the newest one's id (the event
    stream sends only later ones)."""
    latest = notifications.inbox(conn, session.user, limit=1, mark_read=False)
    return {"unread": notifications.unread_count(conn, session.user),
            "last_notification": latest[0].id if latest else 0}


# --- signing in ----------------------------------------------------------------------------

async def signin_page(request: Request) -> Response:
    if _web(request).remote_user_header:
        return RedirectResponse("/", status_code=303)
    return _render(request, "signin.html", {"title": "Sign in"})


async def signin(request: Request) -> Response:
    web = _web(request)
    form = await request.form()
    if web.remote_user_header:
        return RedirectResponse("/", status_code=303)
    if not _csrf_ok(request, form):
        return _message(request, EXPIRED, 403)
    name = str(form.get("user", ""))
    try:
        url, caller = await run_in_threadpool(authenticate, web.database_url, name, str(form.get("password", "")))
    except ResyncError as exc:
        return _render(request, "signin.html", {"title": "Sign in", "error": str(exc), "user": name}, status=401)
    request.state.session = request.app.state.sessions.sign_in(_session(request), url, caller)
    return RedirectResponse("/", status_code=303)


async def signout(request: Request) -> Response:
    form = await request.form()
    if not _csrf_ok(request, form):
        return _message(request, EXPIRED, 403)
    request.app.state.sessions.end(_session(request))
    request.state.session = request.app.state.sessions.new()
    return RedirectResponse("/signin", status_code=303)


# --- the resync screen ---------------------------------------------------------------------

def _screen(session: Session) -> dict:
    config = state_config.load()
    objects = config.subscribed_objects()
    with database.transaction(session.url) as conn:
        districts = registry.list_all(conn)  # the ones the user may see (row-level security)
        frame = _frame(conn, session)
    year = current_school_year()
    return {**frame, "title": "Resync", "year": year, "year_label": school_year_label(year),
            "districts": districts, "objects": objects,
            "needs": {o.campus_name: [p.campus_name for p in catalog.with_dependencies([o]) if p != o]
                      for o in objects}}


async def screen(request: Request) -> Response:
    return await _page(request, _screen, "screen.html")


class _Refused(ResyncError):
    """A posted form refused with one sentence and an HTTP status; nothing was queued."""

    def __init__(self, text: str, status: int = 422):
        super().__init__(text)
        self.status = status


async def _posted_form(request: Request) -> tuple[Session, Any]:
    """The signed-in session and its posted form, which carries the session's CSRF token; else
    _Refused."""
    form = await request.form()
    session = await run_in_threadpool(signed_in, request)
    if session is None:
        raise _Refused("Sign in first.", 401)
    if not _csrf_ok(request, form):
        raise _Refused(EXPIRED, 403)
    return session, form


async def _posted_choice(request: Request) -> tuple[Session, list[str], list[str], bool, Any]:
    """The signed-in session and the districts, objects and Check dependencies its form chose,
    the form carrying the session's CSRF token; else _Refused."""
    session, form = await _posted_form(request)
    districts = [str(d) for d in form.getlist("district")]
    objects = [str(o) for o in form.getlist("object")]
    if not districts:
        raise _Refused("Choose at least one district in Select Districts.")
    if not objects:
        raise _Refused("Choose at least one of the Subscribed Data Elements.")
    return session, districts, objects, form.get("check_dependencies") == "on", form


def _status(exc: ResyncError) -> int:
    return exc.status if isinstance(exc, _Refused) else 422


def _review(session: Session, districts: list[str], objects: list[str], check: bool) -> dict:
    with database.transaction(session.url) as conn:
        plan = requests.plan_resync(conn, districts=districts, objects=objects, check_dependencies=check,
                                       school_year=None)
        review = plan_review.review(conn, plan)
    return {"plan": plan, "review": review, "year_label": school_year_label(plan.school_year)}


async def confirm(request: Request) -> Response:
    """Request Resync: the confirmation restating the plan (an htmx fragment), or why not."""
    try:
        session, districts, objects, check, _ = await _posted_choice(request)
        context = await run_in_threadpool(_review, session, districts, objects, check)
    except ResyncError as exc:
        return _render(request, "_refusal.html", {"text": str(exc)}, status=_status(exc))
    return _render(request, "_confirm.html", context)


def _submit(session: Session, districts: list[str], objects: list[str], check: bool, year: int | None):
    with database.transaction(session.url) as conn:
        return requests.submit_resync(conn, districts=districts, objects=objects, check_dependencies=check,
                                      school_year=year)


async def queue(request: Request) -> Response:
    """OK: queue the confirmed request (for the school year the confirmation named), then its
    page; a refusal queues nothing."""
    try:
        session, districts, objects, check, form = await _posted_choice(request)
        year = parse_school_year(str(form.get("school_year") or ""))
        queued = await run_in_threadpool(_submit, session, districts, objects, check, year)
    except ResyncError as exc:
        return _message(request, f"Nothing was queued: {exc}", _status(exc), "Request refused")
    return RedirectResponse(f"/requests/{queued.id}", status_code=303)


# --- afterwards ----------------------------------------------------------------------------

def request_view(conn, request_id: int) -> dict:
    """A request and its progress per object and district (the page, and each live update)."""
    found = requests.get(conn, request_id)  # one the user may not see is one there is not
    return {"r": found, "progress": request_progress.of_request(found)}


def _request(session: Session, request_id: int) -> dict:
    with database.transaction(session.url) as conn:
        return {**_frame(conn, session), **request_view(conn, request_id), "title": f"Request {request_id}",
                "request_id": request_id}


async def request_page(request: Request) -> Response:
    request_id = request.path_params["request_id"]
    return await _page(request, lambda s: _request(s, request_id), "request.html")


def _history(session: Session) -> dict:
    with database.transaction(session.url) as conn:
        return {**_frame(conn, session), "title": "History", "found": requests.history(conn, limit=100)}


async def history(request: Request) -> Response:
    return await _page(request, _history, "history.html")


def _inbox(session: Session) -> dict:
    with database.transaction(session.url) as conn:
        found = notifications.inbox(conn, session.user, limit=100)  # marks them read
        return {**_frame(conn, session), "title": "Inbox", "found": found}


async def inbox(request: Request) -> Response:
    return await _page(request, _inbox, "inbox.html")


def _report(session: Session, school_year: int | None) -> dict:
    """The attendance report page of `resync report --html`, for the districts the user may read."""
    from ..reports import page

    loaded = reports.load(session.url, [], school_year)
    with database.transaction(session.url) as conn:
        frame = _frame(conn, session)
    return {**frame, "title": "Attendance report", "year": loaded.school_year,
            "year_label": school_year_label(loaded.school_year), "report_html": page.render(loaded)}


async def report(request: Request) -> Response:
    year = request.query_params.get("school_year", "")
    return await _page(request, lambda s: _report(s, parse_school_year(year)), "report.html")
