"""The tool's own schema: numbered SQL files in sql/tool, each applied once, in order.

Hand-written because it is twenty lines: a migration framework would add a dependency and a
second configuration for a handful of append-only DDL files.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import database, settings
from .errors import ResyncError

_MIGRATIONS_DIR = settings.SQL_DIR / "tool"
# Any constant; it only keeps two processes from migrating at the same time.
_MIGRATION_LOCK = 7_310_001


@contextlib.contextmanager
def owner_needed() -> Iterator[None]:
    """A migration refused for lack of rights (a user's first command) says who can apply it."""
    try:
        yield
    except Exception as exc:  # wrapped by SQLAlchemy, or a raw cursor's (run_script)
        if database.is_refusal(exc):
            raise ResyncError(
                "The tool schema in this database needs an upgrade that only its owner can apply"
                " (a superuser, on the embedded server): run any `resync` command once as them."
            ) from exc
        raise


def applied_names(conn: Connection) -> set[str] | None:
    """The migrations recorded in the tool schema (ours and the queue's); None before it exists."""
    if conn.execute(sa.text("select to_regclass(:t)"), {"t": f"{settings.TOOL_SCHEMA}.schema_migration"}).scalar() is None:
        return None
    return set(conn.execute(sa.text(f'select name from "{settings.TOOL_SCHEMA}".schema_migration')).scalars())


def lock(conn: Connection) -> None:
    """Until the transaction ends, no other process migrates (the tool's or the queue's schema)."""
    conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})


def ensure_tool_schema(conn: Connection) -> None:
    """Create or upgrade the tool schema inside the caller's transaction.

    Up to date, it only reads: a user without the right to change the schema runs every command.
    """
    files = sorted(_MIGRATIONS_DIR.glob("*.sql"))
    applied = applied_names(conn)
    if applied is not None and all(path.name in applied for path in files):
        return
    schema = settings.TOOL_SCHEMA
    with owner_needed():
        lock(conn)
        conn.execute(sa.text(f'create schema if not exists "{schema}"'))
        conn.execute(sa.text(
            f'create table if not exists "{schema}".schema_migration ('
            " name text primary key, applied_at timestamptz not null default now())"
        ))
        applied = applied_names(conn) or set()
        # 061 hands the state schemas to the worker's role: it needs their configured name.
        conn.execute(sa.text("select set_config('resync.state_schema', :s, true)"), {"s": settings.STATE_SCHEMA})
        for path in files:
            if path.name in applied:
                continue
            conn.execute(sa.text(f'set local search_path to "{schema}", public'))
            database.run_script(conn, path.read_text())
            conn.execute(sa.text(f'insert into "{schema}".schema_migration (name) values (:n)'), {"n": path.name})
        conn.execute(sa.text("set local search_path to default"))
