"""`resync db`: the embedded database server."""

from __future__ import annotations

import shlex

import click

from .. import database, rights, settings
from ..errors import ResyncError
from .common import emit_json, json_option, tool_transaction


@click.group()
def db() -> None:
    """Start, stop and locate the database (embedded PostgreSQL unless RESYNC_DATABASE_URL is set)."""


def _refuse_external(action: str) -> None:
    if settings.configured_database_url():
        raise ResyncError(f"RESYNC_DATABASE_URL is set, so there is no embedded database to {action}.")


@db.command()
@json_option
def start(as_json: bool) -> None:
    """Start the embedded database (.resync/pgdata) and the demo's district sites (.resync/sites)."""
    _refuse_external("start")
    if database.embedded_status():
        raise ResyncError(f"The embedded database in {settings.embedded_pgdata()} is already running.")
    url = database.start_embedded()
    site = None
    if database.embedded_status(settings.embedded_site_pgdata()) is None:
        site = database.start_embedded(settings.embedded_site_pgdata())
    if as_json:
        emit_json({"started": True, "url": url, "pgdata": str(settings.embedded_pgdata()), "site_url": site})
        return
    click.echo(f"Started the embedded database: {url}")
    if site:
        click.echo(f"Started the embedded district sites: {site}")


@db.command()
@json_option
def stop(as_json: bool) -> None:
    """Stop the embedded database and the embedded district sites."""
    _refuse_external("stop")
    sites = database.stop_embedded(settings.embedded_site_pgdata())
    if sites and not as_json:
        click.echo("Stopped the embedded district sites.")
    if not database.stop_embedded():
        raise ResyncError("The embedded database is not running.")
    if as_json:
        emit_json({"stopped": True, "pgdata": str(settings.embedded_pgdata()), "sites_stopped": sites})
    else:
        click.echo("Stopped the embedded database.")


@db.command()
@json_option
def status(as_json: bool) -> None:
    """Say which database is used and whether it answers (never showing its password)."""
    external = settings.configured_database_url()
    url = external or database.embedded_status()
    reachable = False
    if url:
        shown = database.display_url(url)  # refuses a URL that is none before it is tried
        try:
            database.check_reachable(url)
            reachable = True
        except ResyncError:
            reachable = False
    info = {
        "kind": "external" if external else "embedded",
        "url": shown if url else None,
        "running": reachable,
        "pgdata": None if external else str(settings.embedded_pgdata()),
    }
    if as_json:
        emit_json(info)
    elif reachable:
        click.echo(f"{info['kind']} database running: {info['url']}")
    else:
        click.echo(f"{info['kind']} database not running" + (f" ({info['url']})" if url else ""))
    if not reachable:
        raise SystemExit(1)


@db.command()
@click.option("--site", is_flag=True, help="The embedded district sites' server instead (the demo's).")
@click.option("--user", "user_name", metavar="NAME", default=None,
              help="A URL that logs in as user NAME (or resync_worker) instead; with no password.")
@json_option
def url(site: bool, user_name: str | None, as_json: bool) -> None:
    """Print the database URL, password included (starting the embedded server if needed).

    Use as: psql "$(resync db url)". The embedded server lets any of its roles log in without a
    password, so that one person can try every right: e.g.
    RESYNC_DATABASE_URL="$(resync db url --user ana)" resync status.
    """
    if site:
        from ..demo_data import site_databases

        found = site_databases.server_url()
    else:
        found = database.database_url()
        if user_name is not None:
            with tool_transaction() as conn:
                found = rights.login_url(conn, found, user_name)
    emit_json({"url": found}) if as_json else click.echo(found)


@db.command()
@json_option
def env(as_json: bool) -> None:
    """Print shell exports that point a plain `dbt` run at the same database.

    Use as: eval "$(resync db env)"; dbt build --project-dir dbt_project
    Every value is shell-quoted, so a password holding quotes or $(...) stays a password.
    """
    environment = database.dbt_environment(database.database_url())
    if as_json:
        emit_json(environment)
        return
    for key, value in environment.items():
        click.echo(f"export {key}={shlex.quote(value)}")
