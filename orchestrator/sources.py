"""District source schemas: the tables a district exposes, created from one DDL file."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import database, settings

#: Every source table of domain.md section 3, plus the delete log.
SOURCE_TABLES = (
    "district", "school", "calendar", "schedule_structure", "term_schedule", "term",
    "period_schedule", "period", "day", "school_month", "structure_grade_level", "person",
    "identity", "enrollment", "attendance_excuse", "attendance", "course", "section",
    "section_placement", "roster", "behavior_event", "behavior_role", "behavior_resolution",
    "behavior_resolution_type", "at_risk", "adult_ed", "alpss",
)
#: Deletes are logged for attendance, roster and enrollment (domain.md), and for the other rows
#: the incremental attendance aggregation reads.
DELETE_LOGGED_TABLES = (
    "attendance", "roster", "enrollment", "calendar", "day", "period", "term", "course", "section",
    "section_placement", "structure_grade_level", "attendance_excuse",
)


def schema_exists(conn: Connection, schema: str) -> bool:
    return bool(conn.execute(
        sa.text("select 1 from pg_namespace where nspname = :s"), {"s": schema}
    ).scalar())


def missing_tables(conn: Connection, schema: str) -> list[str]:
    """Source tables (foreign tables and views count) that the schema lacks."""
    present = set(conn.execute(sa.text(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = :s and c.relkind in ('r', 'p', 'v', 'm', 'f')"
    ), {"s": schema}).scalars())
    return [t for t in SOURCE_TABLES if t not in present]


def create_source_schema(conn: Connection, schema: str) -> None:
    """Create `schema` and every source table, trigger and delete log in it."""
    conn.execute(sa.text(f'create schema "{schema}"'))
    create_source_tables(conn, schema)


def create_source_tables(conn: Connection, schema: str) -> None:
    """Every source table, trigger and delete log, in an existing `schema` (a district database's
    public schema on a site). What a District Edition database looks like to this project; the
    pull itself needs none of its triggers."""
    conn.execute(sa.text(f'set local search_path to "{schema}"'))
    database.run_script(conn, (settings.SQL_DIR / "district_source.sql").read_text())
    conn.execute(sa.text("set local search_path to default"))
