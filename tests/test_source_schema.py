"""The district source DDL: tables, triggers, delete logs and modified_date."""

from __future__ import annotations

import time

import sqlalchemy as sa

from orchestrator import database, migrations, registry, sources


def _register(url: str, code: str = "01") -> str:
    with database.transaction(url) as conn:
        migrations.ensure_tool_schema(conn)
        return registry.add(conn, code, "Test").schema_name


def test_every_table_and_trigger_exists(database_url):
    schema = _register(database_url)
    with database.transaction(database_url) as conn:
        assert sources.missing_tables(conn, schema) == []
        triggers = set(conn.execute(sa.text(
            "select tgrelid::regclass::text || ':' || tgname from pg_trigger t"
            " join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = :s and not t.tgisinternal"), {"s": schema}).scalars())
    for table in sources.SOURCE_TABLES:
        assert f"{schema}.{table}:{table}_modified_date" in triggers
    for table in sources.DELETE_LOGGED_TABLES:
        assert f"{schema}.{table}:{table}_delete_log" in triggers


def _minimal_rows(conn, s: str) -> None:
    conn.execute(sa.text(f"""
        insert into {s}.school values (1, '1', 'North', '100');
        insert into {s}.calendar (calendar_id, school_id, end_year, name, start_date, end_date)
            values (1, 1, 2024, 'North 23-24', '2023-08-20', '2024-05-30');
        insert into {s}.schedule_structure values (1, 1, 'Main', true);
        insert into {s}.period_schedule values (1, 1, 'Normal');
        insert into {s}.period values (1, 1, 'P1', 1, 50, false);
        insert into {s}.structure_grade_level (grade_level_id, calendar_id, structure_id, name, state_grade)
            values (1, 1, 1, '09', '09');
        insert into {s}.identity values (1, 1, 'Doe', 'Jo', 'F', '2009-01-01', '2023-01-01');
        insert into {s}.person values (1, 'S1', 1);
        insert into {s}.enrollment (enrollment_id, person_id, calendar_id, structure_id, grade_level_id, start_date)
            values (1, 1, 1, 1, 1, '2023-08-20');
        insert into {s}.attendance (attendance_id, person_id, calendar_id, period_id, date, status, excuse)
            values (1, 1, 1, 1, '2023-09-05', 'A', 'U');
    """))


def test_delete_logs_fill_on_delete(database_url):
    s = _register(database_url)
    with database.transaction(database_url) as conn:
        _minimal_rows(conn, s)
    with database.transaction(database_url) as conn:
        # The deleting session's search_path must not matter.
        conn.execute(sa.text("set local search_path to public"))
        conn.execute(sa.text(f"delete from {s}.attendance where attendance_id = 1"))
        conn.execute(sa.text(f"delete from {s}.enrollment where enrollment_id = 1"))
    with database.transaction(database_url) as conn:
        rows = conn.execute(sa.text(
            f"select table_name, record_id, person_id, deleted_row ->> 'date' from {s}.delete_log order by log_id"
        )).all()
    assert rows == [("attendance", 1, 1, "2023-09-05"), ("enrollment", 1, 1, None)]


def test_modified_date_moves_on_update(database_url):
    s = _register(database_url)
    with database.transaction(database_url) as conn:
        _minimal_rows(conn, s)
        # An explicit old value on insert is overwritten too: the trigger owns the column.
        conn.execute(sa.text(f"update {s}.school set modified_date = '2000-01-01'"))
    with database.transaction(database_url) as conn:
        before = conn.execute(sa.text(f"select modified_date from {s}.attendance")).scalar()
        assert conn.execute(sa.text(f"select modified_date > '2001-01-01' from {s}.school")).scalar()
    time.sleep(0.01)
    with database.transaction(database_url) as conn:
        conn.execute(sa.text(f"update {s}.attendance set excuse = 'E'"))
    with database.transaction(database_url) as conn:
        after = conn.execute(sa.text(f"select modified_date from {s}.attendance")).scalar()
    assert after > before


def test_tool_schema_migrations_are_idempotent(database_url):
    with database.transaction(database_url) as conn:
        migrations.ensure_tool_schema(conn)
    with database.transaction(database_url) as conn:
        migrations.ensure_tool_schema(conn)
        names = conn.execute(sa.text("select name from resync.schema_migration")).scalars().all()
    assert "001_district_registry.sql" in names
    assert len(names) == len(set(names))


def test_loading_a_district_needs_rights_on_that_district_only(database_url):
    """A role that may write district_01 and nothing else can reload it (truncate and copy):
    nothing in a district's schema reaches into the tool schema or the state's."""
    import uuid

    schema = _register(database_url)
    loader = f"resync_test_loader_{uuid.uuid4().hex[:8]}"
    with database.transaction(database_url) as conn:
        conn.execute(sa.text(f'create role "{loader}"'))
        conn.execute(sa.text(f'grant usage on schema "{schema}" to "{loader}"'))
        conn.execute(sa.text(f'grant all on all tables in schema "{schema}" to "{loader}"'))
        conn.execute(sa.text(f'grant all on all sequences in schema "{schema}" to "{loader}"'))
        conn.execute(sa.text("revoke all on schema resync from public"))
    try:
        with database.transaction(database_url) as conn:
            conn.execute(sa.text(f'set local role "{loader}"'))
            conn.execute(sa.text(f'truncate "{schema}".attendance, "{schema}".delete_log'))
            conn.execute(sa.text(f"insert into \"{schema}\".school (school_id, number, name) values (1, '1', 'One')"))
            conn.execute(sa.text(f'delete from "{schema}".school'))
    finally:
        with database.transaction(database_url) as conn:
            conn.execute(sa.text(f'drop owned by "{loader}"'))
            conn.execute(sa.text(f'drop role "{loader}"'))
