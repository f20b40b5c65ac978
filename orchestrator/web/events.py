"""/events: server-sent events for the signed-in user, fed by the database's LISTEN.

The payloads of pg_notify carry an id alone (anyone may LISTEN); for each one this reads the
notification or request under the user's own role, so a user is sent only what row-level
security lets them read:

- `notification`: a new notification of theirs (the list item's HTML);
- `request-<id>`: request <id>, which the page shows, changed (its progress fragment, swapped in).

The stream LISTENs first and then sends what it might have missed since the page was drawn
(notifications after the page's newest one, the page's request as it is now), so nothing falls
between the page and the stream.
"""

from __future__ import annotations

from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .. import database, notifications, requests
from ..errors import ResyncError
from . import pages

#: Seconds between keep-alive comments, so proxies keep an idle stream open.
PING_SECONDS = 15


def _notification_html(request: Request, notification) -> str:
    template = request.app.state.templates.get_template("_notification.html")
    return template.render(n=notification)


def _notifications_after(request: Request, session, after: int) -> list[str]:
    with database.transaction(session.url) as conn:
        found = notifications.inbox(conn, session.user, limit=20, mark_read=False)
    return [_notification_html(request, n) for n in reversed(found) if n.id > after and n.unread]


def _notification(request: Request, session, notification_id: int) -> str | None:
    with database.transaction(session.url) as conn:
        found = notifications.get(conn, notification_id, session.user)
    return _notification_html(request, found) if found else None


def _request_html(request: Request, session, request_id: int) -> str | None:
    try:
        with database.transaction(session.url) as conn:
            view = pages.request_view(conn, request_id)
    except ResyncError:  # not a request this user may see
        return None
    template = request.app.state.templates.get_template("_progress.html")
    return template.render(**view)


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


async def stream(request: Request) -> Response:
    session = await run_in_threadpool(pages.signed_in, request)
    if session is None:
        return Response("Not signed in.", status_code=401)
    after = _number(request.query_params.get("after")) or 0
    watched = _number(request.query_params.get("request"))

    async def events():
        listener = await database.listening(session.url, [notifications.NOTIFICATION_CHANNEL,
                                                          requests.REQUEST_CHANNEL])
        try:
            yield {"event": "listening", "data": "listening"}
            for html in await run_in_threadpool(_notifications_after, request, session, after):
                yield {"event": "notification", "data": html}
            if watched is not None:
                html = await run_in_threadpool(_request_html, request, session, watched)
                if html:
                    yield {"event": f"request-{watched}", "data": html}
            async for note in listener.notifies():
                key = _number(note.payload)
                if key is None:
                    continue
                if note.channel == notifications.NOTIFICATION_CHANNEL:
                    html = await run_in_threadpool(_notification, request, session, key)
                    if html:
                        yield {"event": "notification", "data": html}
                elif key == watched:
                    html = await run_in_threadpool(_request_html, request, session, key)
                    if html:
                        yield {"event": f"request-{key}", "data": html}
        finally:
            await listener.close()

    return EventSourceResponse(events(), ping=PING_SECONDS)
