"""The tool's own schema: numbered SQL files in sql/tool, each applied once, in order.

Hand-written because it is twenty lines: a migration framework would add a dependency and a
second configuration for a handful of append-only DDL files.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import database, settings

_MIGRATIONS_DIR = settings.SQL_DIR / "tool"
# Any constant; it only keeps two processes from migrating at the same time.
_MIGRATION_LOCK = 7_310_001


def ensure_tool_schema(conn: Connection) -> None:
    """Create or upgrade the tool schema inside the caller's transaction."""
    schema = settings.TOOL_SCHEMA
    conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
    conn.execute(sa.text(f'create schema if not exists "{schema}"'))
    conn.execute(sa.text(
        f'create table if not exists "{schema}".schema_migration ('
        " name text primary key, applied_at timestamptz not null default now())"
    ))
    applied = set(conn.execute(sa.text(f'select name from "{schema}".schema_migration')).scalars())
    for path in sorted(_MIGRATIONS_DIR.glob("*.sql")):
        if path.name in applied:
            continue
        conn.execute(sa.text(f'set local search_path to "{schema}", public'))
        database.run_script(conn, path.read_text())
        conn.execute(sa.text(f'insert into "{schema}".schema_migration (name) values (:n)'), {"n": path.name})
    conn.execute(sa.text("set local search_path to default"))
