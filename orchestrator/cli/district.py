"""`resync district`: the district registry."""

from __future__ import annotations

import click

from .. import registry
from .common import emit_json, json_option, table, tool_transaction


@click.group()
def district() -> None:
    """Register, list and remove the districts the state syncs."""


@district.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The district's name, e.g. Abbott.")
@click.option("--schema", default=None,
              help="Schema holding its sources (default district_<code>, created if missing).")
def add(code: str, name: str, schema: str | None) -> None:
    """Register district CODE (letters and digits, e.g. 01)."""
    with tool_transaction() as conn:
        d = registry.add(conn, code, name, schema)
    click.echo(f"Registered district {d.code} {d.name} (sources in schema {d.schema_name}).")


@district.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List the registered districts."""
    with tool_transaction() as conn:
        rows = [d.as_dict() for d in registry.list_all(conn)]
    if as_json:
        emit_json(rows)
    elif rows:
        click.echo(table(rows, ["code", "name", "schema_name"]))
    else:
        click.echo("No districts are registered; add one with `resync district add CODE --name NAME`.")


@district.command("remove")
@click.argument("code")
def remove(code: str) -> None:
    """Unregister district CODE (its source schema and state rows are kept)."""
    with tool_transaction() as conn:
        d = registry.remove(conn, code)
    click.echo(f"Removed district {d.code} {d.name}; schema {d.schema_name} was left in place.")
