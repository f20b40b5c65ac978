"""Who is at the page: sessions, signing in as a database role, and the CSRF token of each session.

A user signs in as their PostgreSQL login role, and every page then reads and queues through a
connection logging in as that role, so PostgreSQL applies their rights exactly as for the CLI.
Two ways to sign in (`resync web --remote-user-header`):

- a password form (the default): the page connects as NAME with that password; the database
  decides. The embedded server trusts every local connection, so there any password is accepted:
  `resync web` on it serves loopback addresses only.
- a reverse proxy's header (e.g. X-Remote-User): the proxy authenticated the person; the page
  connects as the named role with a URL without password, and the database server must let the
  web service's account log in as its users (pg_ident map, ~/.pgpass or certificates). The
  proxy must set the header on every request and drop one sent by the browser.

Hand-written rather than Starlette's SessionMiddleware: that keeps the session in the (signed,
readable) cookie, and a session here holds a database password, which must stay in this process.
The cookie carries only a random session id; a new id is issued at sign-in (no session fixation).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from sqlalchemy.engine import make_url

from .. import database, rights
from ..errors import ResyncError

COOKIE = "resync_session"
#: A session unused this long is forgotten (the user signs in again).
IDLE_SECONDS = 8 * 3600


@dataclass
class Session:
    id: str
    csrf_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    url: str | None = None  # the database URL logging in as the user
    caller: rights.Caller | None = None
    seen: float = field(default_factory=time.monotonic)

    @property
    def user(self) -> str | None:
        return self.caller.name if self.caller else None

    @property
    def can_request(self) -> bool:
        return bool(self.caller and self.caller.right in (rights.WRITE, rights.ADMIN))

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and secrets.compare_digest(str(token), self.csrf_token)


class Sessions:
    """The sessions of this process (a restart signs everyone out)."""

    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def find(self, session_id: str | None) -> Session | None:
        with self._lock:
            self._forget_idle()
            found = self._by_id.get(session_id or "")
            if found:
                found.seen = time.monotonic()
            return found

    def new(self) -> Session:
        session = Session(secrets.token_urlsafe(32))
        with self._lock:
            self._by_id[session.id] = session
        return session

    def sign_in(self, old: Session, url: str, caller: rights.Caller) -> Session:
        """A new session (new id and CSRF token) for the signed-in user; the old one ends."""
        self.end(old, dispose=False)
        session = self.new()
        session.url, session.caller = url, caller
        return session

    def end(self, session: Session, dispose: bool = True) -> None:
        with self._lock:
            self._by_id.pop(session.id, None)
            still_used = any(s.url == session.url for s in self._by_id.values())
        if dispose and session.url and not still_used:
            database.dispose_engine(session.url)

    def _forget_idle(self) -> None:
        limit = time.monotonic() - IDLE_SECONDS
        for key in [k for k, s in self._by_id.items() if s.seen < limit]:
            del self._by_id[key]


def user_url(base_url: str, name: str, password: str | None) -> str:
    """`base_url` logging in as `name` (with `password`, or none for libpq to find)."""
    return make_url(base_url)._replace(username=name, password=password or None).render_as_string(hide_password=False)


def authenticate(base_url: str, name: str, password: str | None) -> tuple[str, rights.Caller]:
    """Connect as `name`; its URL and who the database says it is. ResyncError with one sentence
    when the database refuses the login or the role is not a person using the tool."""
    name = (name or "").strip()
    if not name or not name.isprintable():
        raise ResyncError("Give your user name (your database role).")
    url = user_url(base_url, name, password)
    try:
        database.connect(url).close()  # the login itself: the database's authentication decides
    except ResyncError as exc:
        raise ResyncError(f"The database did not let {name} sign in with that password.") from exc
    try:
        with database.transaction(url) as conn:
            caller = rights.whoami(conn)
    except ResyncError:  # a role that may not even ask (no right on the tool schema)
        caller = rights.Caller(name, None, None)
    if caller.right is None or caller.right == rights.WORKER:
        database.dispose_engine(url)
        what = ("the workers' service role" if caller.right == rights.WORKER
                else "not a user of the resync tool")
        raise ResyncError(f"{name} is {what}; sign in as a user (`resync user list` shows them).")
    return url, caller


# --- the cookie, as plain ASGI middleware (it must not buffer the server-sent event streams) ----

class SessionCookie:
    """Puts the request's Session in scope["state"]["session"] (a new anonymous one when the
    cookie names none) and sets the cookie whenever the handler switched to another session."""

    def __init__(self, app, sessions: Sessions, secure: bool = False) -> None:
        self.app = app
        self.sessions = sessions
        self.secure = secure

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = SimpleCookie()
        for key, value in scope.get("headers", []):
            if key == b"cookie":
                cookie.load(value.decode("latin-1"))
        sent = cookie[COOKIE].value if COOKIE in cookie else None
        session = self.sessions.find(sent) or self.sessions.new()
        state = scope.setdefault("state", {})
        state["session"] = session

        async def send_with_cookie(message) -> None:
            current = state["session"]
            if message["type"] == "http.response.start" and current.id != sent:
                attributes = f"{COOKIE}={current.id}; Path=/; HttpOnly; SameSite=Strict"
                if self.secure:
                    attributes += "; Secure"
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"set-cookie", attributes.encode("latin-1"))]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
