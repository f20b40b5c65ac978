"""`resync user`: the tool's users, who are PostgreSQL login roles (state-level administrators only)."""

from __future__ import annotations

import click

from .. import rights
from .common import emit_json, json_option, moment_text, table, tool_transaction

right_option = click.option("--right", type=click.Choice(rights.RIGHTS), metavar="RIGHT",
                            help="read (see), write (also request resyncs) or admin (everything; state level).")
district_option = click.option("-d", "--district", "districts", multiple=True, metavar="CODE",
                               help="A district the user is limited to; repeat for several.")


def _describe(user: rights.User) -> str:
    return f"{user.name}: {user.right or 'no right (its role is gone)'}, {user.level} level ({user.scope()})"


@click.group()
def user() -> None:
    """Add, list, change and remove the tool's users (PostgreSQL login roles).

    A user's right is read, write or admin; without --district a user is state level (every
    district), with it district level. `resync db url --user NAME` prints a URL that logs in as
    NAME on the embedded server.
    """


@user.command("add")
@click.argument("name")
@right_option
@district_option
@click.option("--existing-role", is_flag=True,
              help="Make a role the server already has (with its own password or other login) a user.")
def add(name: str, right: str | None, districts: tuple[str, ...], existing_role: bool) -> None:
    """Create user NAME, a login role with RIGHT, e.g. `resync user add ana --right write -d 01`."""
    if right is None:
        raise click.UsageError("Give the user's right with --right read, write or admin.")
    with tool_transaction() as conn:
        created = rights.add(conn, name, right, districts, existing_role=existing_role)
    click.echo(f"Added {_describe(created)}.")


@user.command("list")
@json_option
def list_(as_json: bool) -> None:
    """The users, their right and districts (anyone but an administrator sees only themselves)."""
    with tool_transaction() as conn:
        found = rights.list_all(conn)
    if as_json:
        emit_json([u.as_dict() for u in found])
    elif not found:
        click.echo("No users yet; `resync user add NAME --right read` adds one.")
    else:
        rows = [{"name": u.name, "right": u.right or "-", "level": u.level, "districts": u.scope(),
                 "created": f"{moment_text(u.created_at, '%Y-%m-%d')} by {u.created_by}"} for u in found]
        click.echo(table(rows, ["name", "right", "level", "districts", "created"]))


@user.command("set")
@click.argument("name")
@right_option
@district_option
@click.option("--state-level", is_flag=True, help="Give the user every district.")
def set_(name: str, right: str | None, districts: tuple[str, ...], state_level: bool) -> None:
    """Change user NAME's right, or their districts (exactly those given), or both."""
    if right is None and not districts and not state_level:
        raise click.UsageError("Give --right, --district or --state-level.")
    with tool_transaction() as conn:
        changed = rights.set_(conn, name, right=right, districts=districts, state_level=state_level)
    click.echo(f"Changed {_describe(changed)}.")


@user.command("grant")
@click.argument("name")
@click.option("-d", "--district", "districts", multiple=True, required=True, metavar="CODE",
              help="A district to add; repeat for several.")
def grant(name: str, districts: tuple[str, ...]) -> None:
    """Add districts to district-level user NAME."""
    with tool_transaction() as conn:
        changed = rights.grant_districts(conn, name, districts)
    click.echo(f"Changed {_describe(changed)}.")


@user.command("revoke")
@click.argument("name")
@click.option("-d", "--district", "districts", multiple=True, required=True, metavar="CODE",
              help="A district to take away; repeat for several.")
def revoke(name: str, districts: tuple[str, ...]) -> None:
    """Take districts from district-level user NAME."""
    with tool_transaction() as conn:
        changed = rights.revoke_districts(conn, name, districts)
    click.echo(f"Changed {_describe(changed)}.")


@user.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Remove user NAME and drop their login role; their requests and notifications stay."""
    with tool_transaction() as conn:
        rights.remove(conn, name)
    click.echo(f"Removed user {name} and dropped their login role.")
