"""Who is asking, and what they may do: the login role (session_user), never a claim.

Each answer comes from the database's own functions (resync.caller_right, caller_districts),
the same ones its row-level security and grants rely on, so the CLI's checks and PostgreSQL's
agree; the CLI checks first only to say why in one sentence.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import settings
from ..errors import ResyncError
from .refusals import refusals

READ, WRITE, ADMIN, WORKER = "read", "write", "admin", "worker"
#: The rights a user can be given (the worker's is its own role's).
RIGHTS = (READ, WRITE, ADMIN)

_T = settings.TOOL_SCHEMA


@dataclass(frozen=True)
class Caller:
    name: str
    right: str | None  # read, write, admin, worker; None: not a user of the tool
    districts: tuple[str, ...] | None  # None: every district (state level)

    @property
    def state_level(self) -> bool:
        return self.districts is None

    def as_dict(self) -> dict:
        return {**asdict(self), "state_level": self.state_level}


def whoami(conn: Connection) -> Caller:
    row = conn.execute(sa.text(
        f"select session_user::text, {_T}.caller_right(), {_T}.caller_districts()")).one()
    return Caller(name=row[0], right=row[1], districts=None if row[2] is None else tuple(row[2]))


def require_admin(conn: Connection, action: str, instead: str | None = None) -> Caller:
    """Refuse unless the caller is a (state-level) administrator; `action` completes "may ...",
    `instead` says what the caller can do instead.

    PostgreSQL refuses the same on its own; this says so before anything starts.
    """
    try:
        with refusals():
            conn.execute(sa.text(f"select {_T}.require_admin(:a)"), {"a": action})
    except ResyncError as exc:
        if instead is None:
            raise
        raise ResyncError(f"{str(exc).rstrip('.')}: {instead}.") from exc
    return whoami(conn)


def require_worker(conn: Connection) -> Caller:
    """Refuse unless the caller may run a worker (the worker's role, or an administrator)."""
    caller = whoami(conn)
    if caller.right not in (WORKER, ADMIN):
        raise ResyncError(f"{caller.name} may not run a worker: log in as resync_worker"
                          " (`resync db url --user resync_worker`) or as an administrator.")
    return caller


def acting_as(conn: Connection, as_user: str | None) -> str:
    """The name a command acts as: the login role, or --as NAME for an administrator only."""
    caller = whoami(conn)
    if as_user is None or as_user == caller.name:
        return caller.name
    if caller.right != ADMIN:
        raise ResyncError(f"Only an administrator may act as someone else (--as); {caller.name} acts as {caller.name}.")
    return as_user


def check_request(conn: Connection, districts: list[str] | None) -> None:
    """Refuse unless the caller may request these districts (None: every registered one)."""
    with refusals():
        conn.execute(sa.text(f"select {_T}.check_request(cast(:d as jsonb))"),
                     {"d": json.dumps(list(districts)) if districts else None})
