"""The administrators' web page as a Starlette application: `create_app(WebSettings(...))`.

Server-rendered HTML (Jinja2 templates); htmx (vendored under static/, no build step) posts the
selection for its confirmation, and its server-sent events extension swaps in progress and
notifications that /events streams from the database's LISTEN.
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .. import dbt_invoker
from ..errors import ResyncError
from . import events, pages, state_pages
from .sessions import SessionCookie, Sessions

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class WebSettings:
    database_url: str  # the service's URL: users' connections take its server and database
    remote_user_header: str | None = None  # set: the reverse proxy names the user in this header
    embedded: bool = False  # the embedded server, which trusts every local connection
    secure_cookie: bool = False  # served over HTTPS (behind the proxy): the cookie says Secure


def check_host(host: str, embedded: bool) -> None:
    """The embedded server accepts any password, so its page must stay on this machine."""
    if not embedded or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ResyncError(
            f"The embedded database trusts every local connection, so its page checks no password:"
            f" serve it on 127.0.0.1 or localhost, not {host} (or set RESYNC_DATABASE_URL to a server"
            " of your own).")


def create_app(web: WebSettings) -> Starlette:
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["when"] = pages.when
    templates.env.filters["plural"] = pages.plural
    sessions = Sessions()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        # Load dbt's graph (what each object pulls) now, so the first confirmation does not wait for it.
        threading.Thread(target=_warm, args=(web.database_url,), daemon=True, name="dbt graph").start()
        yield

    app = Starlette(
        routes=[
            *pages.routes(),
            *state_pages.routes(),
            Route("/events", events.stream),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        middleware=[Middleware(SessionCookie, sessions=sessions, secure=web.secure_cookie)],
        lifespan=lifespan,
    )
    app.state.web = web
    app.state.sessions = sessions
    app.state.templates = templates
    return app


def _warm(url: str) -> None:
    try:
        dbt_invoker.project_graph(url)
    except Exception:  # the first confirmation will load it and say what is wrong
        pass
