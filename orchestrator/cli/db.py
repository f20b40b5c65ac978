"""`resync db`: the embedded database server."""

from __future__ import annotations

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
def start() -> None:
    """Start the embedded database (.resync/pgdata) and the demo's district sites (.resync/sites)."""
    _refuse_external("start")
    if database.embedded_status():
        raise ResyncError(f"The embedded database in {settings.embedded_pgdata()} is already running.")
    url = database.start_embedded()
    click.echo(f"Started the embedded database: {url}")
    if database.embedded_status(settings.embedded_site_pgdata()) is None:
        site = database.start_embedded(settings.embedded_site_pgdata())
        click.echo(f"Started the embedded district sites: {site}")


@db.command()
def stop() -> None:
    """Stop the embedded database and the embedded district sites."""
    _refuse_external("stop")
    if database.stop_embedded(settings.embedded_site_pgdata()):
        click.echo("Stopped the embedded district sites.")
    if not database.stop_embedded():
        raise ResyncError("The embedded database is not running.")
    click.echo("Stopped the embedded database.")


@db.command()
@json_option
def status(as_json: bool) -> None:
    """Say which database is used and whether it answers."""
    external = settings.configured_database_url()
    url = external or database.embedded_status()
    reachable = False
    if url:
        try:
            database.check_reachable(url)
            reachable = True
        except ResyncError:
            reachable = False
    info = {
        "kind": "external" if external else "embedded",
        "url": url,
        "running": reachable,
        "pgdata": None if external else str(settings.embedded_pgdata()),
    }
    if as_json:
        emit_json(info)
    elif reachable:
        click.echo(f"{info['kind']} database running: {url}")
    else:
        click.echo(f"{info['kind']} database not running" + (f" ({url})" if url else ""))
    if not reachable:
        raise SystemExit(1)


@db.command()
@click.option("--site", is_flag=True, help="The embedded district sites' server instead (the demo's).")
@click.option("--user", "user_name", metavar="NAME", default=None,
              help="A URL that logs in as user NAME (or resync_worker) instead; with no password.")
def url(site: bool, user_name: str | None) -> None:
    """Print the database URL (starting the embedded server if needed).

    The embedded server lets any of its roles log in without a password, so that one person can
    try every right: e.g. RESYNC_DATABASE_URL="$(resync db url --user ana)" resync status.
    """
    if site:
        from ..demo_data import site_databases

        click.echo(site_databases.server_url())
        return
    found = database.database_url()
    if user_name is not None:
        with tool_transaction() as conn:
            found = rights.login_url(conn, found, user_name)
    click.echo(found)


@db.command()
def env() -> None:
    """Print shell exports that point a plain `dbt` run at the same database.

    Use as: eval "$(resync db env)"; dbt build --project-dir dbt_project
    """
    for key, value in database.dbt_environment(database.database_url()).items():
        click.echo(f"export {key}='{value}'")
