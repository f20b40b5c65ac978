"""Writing a built year into a district's source schema: truncate, then COPY every table.

COPY rather than INSERT: a 50,000-student district is millions of attendance rows, and COPY moves
them in one stream while the rows are still being generated.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import Connection

from .. import sources
from ..errors import ResyncError

#: Columns written per table, in the order the builder makes its tuples; parents before children.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "district": ("district_number", "name", "state_district_number"),
    "school": ("school_id", "number", "name", "state_school_number"),
    "calendar": ("calendar_id", "school_id", "end_year", "name", "start_date", "end_date",
                 "student_day_minutes", "whole_day_absence_minutes", "half_day_absence_minutes", "exclude"),
    "schedule_structure": ("structure_id", "calendar_id", "name", "is_primary"),
    "term_schedule": ("term_schedule_id", "structure_id", "name"),
    "term": ("term_id", "term_schedule_id", "name", "seq", "start_date", "end_date"),
    "period_schedule": ("period_schedule_id", "structure_id", "name"),
    "period": ("period_id", "period_schedule_id", "name", "seq", "period_minutes", "non_instructional"),
    "day": ("day_id", "calendar_id", "structure_id", "period_schedule_id", "date", "instruction",
            "attendance", "comments"),
    "school_month": ("month_id", "calendar_id", "name", "seq", "start_date", "end_date"),
    "structure_grade_level": ("grade_level_id", "calendar_id", "structure_id", "name", "state_grade",
                              "standard_day_minutes", "whole_day_absence_minutes", "half_day_absence_minutes"),
    "identity": ("identity_id", "person_id", "last_name", "first_name", "gender", "birth_date", "effective_date"),
    "person": ("person_id", "state_id", "current_identity_id"),
    "enrollment": ("enrollment_id", "person_id", "calendar_id", "structure_id", "grade_level_id",
                   "service_type", "start_date", "end_date", "no_show", "state_exclude"),
    "attendance_excuse": ("excuse_id", "calendar_id", "code", "description", "status", "excuse", "state_code"),
    "course": ("course_id", "calendar_id", "number", "name", "state_code"),
    "section": ("section_id", "course_id", "number", "teacher_person_id"),
    "section_placement": ("placement_id", "section_id", "period_id", "term_id"),
    "roster": ("roster_id", "person_id", "section_id", "start_date", "end_date"),
    "behavior_resolution_type": ("resolution_type_id", "code", "name", "state_code"),
    "behavior_event": ("event_id", "calendar_id", "event_date", "code", "name", "state_code"),
    "behavior_role": ("role_id", "event_id", "person_id", "role"),
    "behavior_resolution": ("resolution_id", "role_id", "resolution_type_id", "start_date", "end_date"),
    "at_risk": ("at_risk_id", "person_id", "calendar_id", "reason_code", "state_code", "start_date", "end_date"),
    "adult_ed": ("adult_ed_id", "person_id", "calendar_id", "program_code", "state_code", "start_date", "end_date"),
    "alpss": ("alpss_id", "person_id", "calendar_id", "program_code", "state_code", "start_date", "end_date"),
    "attendance": ("attendance_id", "person_id", "calendar_id", "period_id", "date", "status", "excuse",
                   "excuse_id", "present_minutes", "comments"),
}
assert set(TABLE_COLUMNS) == set(sources.SOURCE_TABLES)


def ensure_generated_schema(conn: Connection, schema: str) -> None:
    """Refuse a schema that is not a source schema this tool created (never truncate another's)."""
    missing = sources.missing_tables(conn, schema)
    has_log = conn.execute(sa.text(
        "select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = :s and c.relname = 'delete_log' and c.relkind = 'r'"), {"s": schema}).scalar()
    if missing or not has_log:
        raise ResyncError(
            f"Schema {schema} is not a source schema created by `resync district add`, so demo data "
            "will not overwrite it.")


def replace_rows(conn: Connection, schema: str, tables: Mapping[str, Iterable[tuple]]) -> dict[str, int]:
    """Empty every source table and the delete log of `schema`, then load `tables`.

    Runs in the caller's transaction, so a failure leaves the schema as it was. Returns the row
    count written per table.
    """
    cursor = conn.connection.driver_connection.cursor()
    foreign_keys = _drop_foreign_keys(cursor, schema)
    names = [sql.Identifier(schema, t) for t in (*TABLE_COLUMNS, "delete_log")]
    # TRUNCATE fires no delete triggers: a regenerated district starts with an empty delete log.
    cursor.execute(sql.SQL("truncate {} restart identity").format(sql.SQL(", ").join(names)))
    counts = {}
    for table, columns in TABLE_COLUMNS.items():
        rows = tables.get(table, ())
        statement = sql.SQL("copy {} ({}) from stdin").format(
            sql.Identifier(schema, table), sql.SQL(", ").join(map(sql.Identifier, columns)))
        written = 0
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        counts[table] = written
    _restore_foreign_keys(cursor, foreign_keys)
    # Fresh statistics, so the first queries on a new district are planned on its real sizes
    # rather than whenever autovacuum gets to it.
    for table in TABLE_COLUMNS:
        cursor.execute(sql.SQL("analyze {}").format(sql.Identifier(schema, table)))
    return counts


def _drop_foreign_keys(cursor, schema: str) -> list[tuple[str, str, str]]:
    """Drop the schema's foreign keys, returning (table, name, definition) to restore them.

    Checked row by row, foreign keys make a bulk load several times slower; added back after
    the load, each is validated by one query over the whole table (pg_restore does the same).
    """
    cursor.execute(
        "select conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid)"
        " from pg_constraint where contype = 'f' and connamespace = %s::regnamespace"
        " order by 1, 2", (schema,))
    foreign_keys = cursor.fetchall()
    for table, name, _ in foreign_keys:
        cursor.execute(f"alter table {table} drop constraint {name}")
    return foreign_keys


def _restore_foreign_keys(cursor, foreign_keys: list[tuple[str, str, str]]) -> None:
    for table, name, definition in foreign_keys:
        cursor.execute(f"alter table {table} add constraint {name} {definition}")
