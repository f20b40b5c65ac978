"""`resync web`: serve the administrators' web page (see orchestrator.web)."""

from __future__ import annotations

import socket

import click

from .. import database, settings
from ..errors import ResyncError
from .common import tool_transaction

DEFAULT_PORT = 8800


def _check_port_free(host: str, port: int) -> None:
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise ResyncError(f"Cannot serve on {host}:{port} ({exc.strerror or exc}): choose another --port or --host.") from exc


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (the embedded database allows loopback addresses only).")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@click.option("--remote-user-header", metavar="HEADER", default=None,
              help="Sign users in by this header of a reverse proxy that authenticated them (e.g."
                   " X-Remote-User) instead of a password form.")
@click.option("--secure-cookie", is_flag=True, help="Mark the session cookie Secure (the proxy serves HTTPS).")
def web(host: str, port: int, remote_user_header: str | None, secure_cookie: bool) -> None:
    """Serve the administrators' page: choose districts and data elements, request a resync,
    follow it live, read your notifications and the request history.

    Users sign in as their database role (password form, or --remote-user-header behind a proxy);
    PostgreSQL applies their rights. Stop with Ctrl-C.
    """
    import uvicorn

    from ..web.app import WebSettings, check_host, create_app

    embedded = settings.configured_database_url() is None
    check_host(host, embedded)
    _check_port_free(host, port)
    with tool_transaction():  # the tool schema is installed or upgraded before users come
        pass
    app = create_app(WebSettings(database_url=database.database_url(), remote_user_header=remote_user_header,
                                 embedded=embedded, secure_cookie=secure_cookie))
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Serving the administrators' page on http://{shown}:{port}/ (Ctrl-C stops it).", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
