"""`resync district`: the district registry."""

from __future__ import annotations

import click

from .. import registry, rights
from .common import emit_json, json_option, table, tool_transaction


@click.group()
def district() -> None:
    """Register, list and remove the districts the state syncs."""


@district.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The district's name, e.g. Abbott.")
@click.option("--url", default=None, metavar="URL",
              help="The district's own PostgreSQL server, read with a read-only role, e.g."
                   " postgresql://resync_reader@district.example.org/campus?sslmode=require"
                   " (stored without its password: libpq's .pgpass, PGPASSFILE or a service file supplies it).")
@click.option("--schema", default=None,
              help="Or a schema of the state database that another tool keeps (default without --url:"
                   " district_<code>, created if missing).")
@json_option
def add(code: str, name: str, url: str | None, schema: str | None, as_json: bool) -> None:
    """Register district CODE (letters and digits, e.g. 01)."""
    with tool_transaction() as conn:
        rights.require_admin(conn, "register districts")
        d = registry.add(conn, code, name, schema, url)
    if as_json:
        emit_json(d.as_dict())
    else:
        click.echo(f"Registered district {d.code} {d.name} (sources: {d.source}).")


@district.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List the registered districts."""
    with tool_transaction() as conn:
        rows = [d.as_dict() for d in registry.list_all(conn)]
    if as_json:
        emit_json(rows)
    elif rows:
        click.echo(table(rows, ["code", "name", "source"]))
    else:
        click.echo("No districts are registered; add one with `resync district add CODE --name NAME`.")


@district.command("remove")
@click.argument("code")
@json_option
def remove(code: str, as_json: bool) -> None:
    """Unregister district CODE (its source and its state rows are kept; its landing copy is dropped)."""
    with tool_transaction() as conn:
        rights.require_admin(conn, "remove districts")
        d = registry.remove(conn, code)
    if as_json:
        emit_json(d.as_dict())
    else:
        click.echo(f"Removed district {d.code} {d.name}; its source ({d.source}) and its rows at the state"
                   " were left in place.")
