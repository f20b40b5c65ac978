"""The state tables: district-scoped replacement, idempotence, graph selection, locking, scope vars.

Most tests start from a copy of one session template: the three generated demo districts
(tests/generated_data.py) with their state tables built. Two school years side by side come from
the tiny hand-made district (tests/hand_made_sources.py).
"""

from __future__ import annotations

import functools
import time

import pytest
import sqlalchemy as sa
from dbt_helpers import (checksums, count_rows, dbt, dbt_subprocess, empty_sources, parsed_manifest,
                         project_models, pull, state_models)
from generated_data import DISTRICTS, SCHOOL_YEAR

import hand_made_sources
from orchestrator import catalog, database, migrations, registry, resync, settings

CODES = tuple(code for code, _, _ in DISTRICTS)
#: dbt on the generated districts: their school year is not the current one, so say which.
run = functools.partial(dbt, school_year=SCHOOL_YEAR)


def _execute(url: str, *statements: str) -> None:
    with database.transaction(url) as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


def test_template_holds_every_state_table_for_every_district(state_url):
    for code in CODES:
        empty = [m for m, (n, _) in checksums(state_url, code).items() if n == 0]
        assert not empty, f"district {code} has no rows in {empty}"
    assert count_rows(state_url, "calendar", "end_year <> :y", y=SCHOOL_YEAR) == 0


def test_run_for_one_district_replaces_it_and_leaves_the_others_identical(state_url):
    before = {code: checksums(state_url, code) for code in CODES}
    for schema in ("district_01", "district_02"):
        _execute(state_url,
                 f"update {schema}.school set name = name || ' renamed'",
                 f"update {schema}.attendance_excuse set description = 'changed'"
                 f" where excuse_id = (select min(excuse_id) from {schema}.attendance_excuse)",
                 f"update {schema}.enrollment set end_date = start_date + 7"
                 f" where enrollment_id = (select min(enrollment_id) from {schema}.enrollment)")
    run(state_url, "run", districts=["01"])
    for code in ("02", "03"):
        assert checksums(state_url, code) == before[code], f"district {code} changed"
    after = checksums(state_url, "01")
    changed = {m for m in state_models() if after[m] != before["01"][m]}
    assert changed == {"school", "attendance_excuse", "enrollment", "att_day_aggregation"}
    assert count_rows(state_url, "school", "district_id = '01' and name not like '%renamed'") == 0
    assert count_rows(state_url, "attendance_excuse", "district_id = '01' and description = 'changed'") == 1
    assert count_rows(state_url, "school", "district_id = '02' and name like '%renamed'") == 0


def test_emptied_source_then_resync_leaves_no_rows_for_that_district(state_url):
    others = {code: checksums(state_url, code) for code in ("01", "03")}
    with database.transaction(state_url) as conn:
        empty_sources(conn, "district_02")
    run(state_url, "run", districts=["02"])
    assert all(n == 0 for n, _ in checksums(state_url, "02").values())
    for code, sums in others.items():
        assert checksums(state_url, code) == sums


def test_rerun_is_idempotent(state_url):
    before = checksums(state_url)
    run(state_url, "run")  # the template was built by the same run
    assert checksums(state_url) == before


def test_select_without_plus_leaves_parents_untouched_and_with_plus_rebuilds_them(state_url):
    _execute(state_url,
             "update district_01.calendar set name = 'Renamed'",
             "update district_01.enrollment set service_type = 'N'"
             " where enrollment_id = (select min(enrollment_id) from district_01.enrollment)")
    calendars = count_rows(state_url, "calendar", "district_id = '01'")
    calendar_before = checksums(state_url, "01")["calendar"]

    result = run(state_url, "run", "--select", "enrollment", districts=["01"])
    assert [n.model for n in result.nodes] == ["enrollment"]
    assert checksums(state_url, "01")["calendar"] == calendar_before
    assert count_rows(state_url, "enrollment", "district_id = '01' and service_type = 'N'") >= 1

    result = run(state_url, "run", "--select", "+enrollment", districts=["01"])
    ran = [n.model for n in result.nodes]
    assert ran.index("calendar") < ran.index("enrollment") and "district" in ran
    assert "behavior" not in ran and "att_day_aggregation" not in ran
    assert count_rows(state_url, "calendar", "district_id = '01' and name = 'Renamed'") == calendars


def test_other_school_years_are_untouched_and_the_default_is_the_current_one(database_url):
    """The hand-made district: two school years, the newer one current (no school_year var)."""
    year = resync.current_school_year()
    with database.transaction(database_url) as conn:
        migrations.ensure_tool_schema(conn)
        for code in ("01", "02"):
            hand_made_sources.fill(conn, registry.add(conn, code, f"District {code}").schema_name, code, year)
    dbt(database_url, "run", "--select", "calendar", school_year=year - 1)
    dbt(database_url, "run", "--select", "calendar")
    assert count_rows(database_url, "calendar", "end_year = :y", y=year - 1) == 2
    assert count_rows(database_url, "calendar", "end_year = :y", y=year) == 4
    before = checksums(database_url, "02", ["calendar"])

    _execute(database_url, "update district_01.calendar set name = 'Renamed'",
             "update district_02.calendar set name = 'Renamed'")
    dbt(database_url, "run", "--select", "calendar", districts=["01"])
    assert count_rows(database_url, "calendar", "name = 'Renamed'") == 2  # 01's, of the current year
    assert count_rows(database_url, "calendar", "name = 'Renamed' and end_year = :y", y=year) == 2
    assert checksums(database_url, "02", ["calendar"]) == before


def test_full_refresh_rebuilds_from_scratch_and_refuses_a_narrowed_scope(state_url):
    # A row no run owns (an unregistered district, in its own partition, as a district removed
    # from the registry leaves it) survives runs but not a full refresh.
    _execute(state_url, "create table state.school__99 partition of state.school for values in ('99')",
             "insert into state.school (district_id, school_id, number, name) values ('99', 1, '1', 'Gone')")
    schools = count_rows(state_url, "school")
    run(state_url, "run", "--select", "school")
    assert count_rows(state_url, "school", "district_id = '99'") == 1

    refused = run(state_url, "run", "--select", "school", "--full-refresh", districts=["01"],
                  expect_success=False)
    assert not refused.success and "cannot be narrowed" in refused.error
    assert count_rows(state_url, "school", "district_id = '99'") == 1

    run(state_url, "run", "--select", "school", "--full-refresh")
    assert count_rows(state_url, "school", "district_id = '99'") == 0
    assert count_rows(state_url, "school") == schools - 1


def test_unregistered_district_is_a_clear_error_and_changes_nothing(state_url):
    before = checksums(state_url)
    result = run(state_url, "run", "--select", "school", districts=["1"], expect_success=False,
                 pull_first=False)
    assert "District 1 is not registered" in result.error
    assert checksums(state_url) == before


def test_no_registered_district_builds_typed_empty_tables(state_url):
    _execute(state_url, "delete from resync.district", "drop schema state cascade")
    run(state_url, "run")
    assert all(n == 0 for n, _ in checksums(state_url).values())
    with database.transaction(state_url) as conn:
        kind = conn.execute(sa.text(
            "select data_type from information_schema.columns"
            " where table_schema = 'state' and table_name = 'calendar' and column_name = 'start_date'"
        )).scalar()
    assert kind == "date"


def test_a_replicated_schema_only_needs_matching_names(state_url):
    # Tables with other column order, other types and extra columns, as a replication or
    # extract-load tool might present them (views are refused: their code would run here).
    statements = ["create schema replica_04"]
    with database.transaction(state_url) as conn:
        tables = conn.execute(sa.text(
            "select table_name, string_agg(format('%I::text as %I', column_name, column_name), ', '"
            " order by ordinal_position desc) from information_schema.columns"
            " where table_schema = 'district_03' and table_name <> 'delete_log' group by table_name"
        )).all()
    for table, columns in tables:
        statements.append(f"create table replica_04.{table} as select 'extra' as extra, {columns}"
                          f" from district_03.{table}")
    _execute(state_url, *statements)
    with database.transaction(state_url) as conn:
        registry.add(conn, "04", "Replica", schema="replica_04")
    run(state_url, "run", districts=["04"])
    replica = checksums(state_url, "04")
    original = checksums(state_url, "03")
    assert {m: n for m, (n, _) in replica.items()} == {m: n for m, (n, _) in original.items()}


def test_concurrent_runs_for_one_district_leave_no_duplicates(state_url, tmp_path):
    """Two runs of one model for one district, forced to overlap, both succeed without duplicates.

    The test holds a share lock on the state table, which blocks the runs' delete, so both runs
    are in flight at once; without the advisory lock both would insert the district's rows.
    """
    _execute(state_url, "update district_01.enrollment set service_type = 'S'")
    pull(state_url, ["01"], SCHOOL_YEAR)
    expected = count_rows(state_url, "enrollment", "district_id = '01'")
    with database.engine(state_url).connect() as blocker:
        blocker.execute(sa.text("lock table state.enrollment in share mode"))
        runs = [dbt_subprocess(state_url, "run", "--select", "enrollment", districts=["01"],
                               school_year=SCHOOL_YEAR, work_dir=tmp_path / str(n)) for n in range(2)]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            blocker.execute(sa.text("select pg_stat_clear_snapshot()"))  # else cached per transaction
            waiting = blocker.execute(sa.text(
                "select count(*) from pg_stat_activity where datname = current_database()"
                " and wait_event_type = 'Lock' and pid <> pg_backend_pid()")).scalar()
            if waiting >= 2 or any(r.poll() is not None for r in runs):
                break
            time.sleep(0.05)
        assert waiting >= 2, "the two runs did not overlap"
        blocker.rollback()
    outputs = [r.communicate(timeout=120)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    assert count_rows(state_url, "enrollment", "district_id = '01'") == expected
    assert count_rows(state_url, "enrollment", "district_id = '01' and service_type = 'S'") == expected


def test_every_state_column_is_documented(state_url):
    models = project_models(parsed_manifest(), "state")
    with database.transaction(state_url) as conn:
        for model in state_models():
            built = list(conn.execute(sa.text(
                "select column_name from information_schema.columns where table_schema = :s"
                " and table_name = :t order by ordinal_position"), {"s": settings.STATE_SCHEMA, "t": model}
            ).scalars())
            assert list(models[model]["columns"]) == built, f"{model}: yml columns differ from the table's"


# --- keys enforced by the state tables themselves --------------------------------------------------

def _declared_keys() -> dict[str, tuple[list[str], set[str]]]:
    """model -> (its unique_combination columns, its columns with a not_null test), from the yml."""
    manifest = parsed_manifest()
    models = {node["unique_id"]: node["name"] for node in project_models(manifest, "state").values()}
    keys = {name: ([], set()) for name in models.values()}
    for node in manifest["nodes"].values():
        test, owner = node.get("test_metadata"), models.get(node.get("attached_node"))
        if node["resource_type"] != "test" or not test or owner is None:
            continue
        if test["name"] == "unique_combination":
            keys[owner][0].extend(test["kwargs"]["columns"])
        elif test["name"] == "not_null":
            keys[owner][1].add(test["kwargs"]["column_name"])
    return keys


def _table_keys(url: str) -> dict[str, tuple[str, list[str], set[str]]]:
    """table -> (constraint kind p/u, its columns in order, the table's NOT NULL columns)."""
    with database.transaction(url) as conn:
        rows = conn.execute(sa.text("""
            select c.relname, k.contype,
                   array(select a.attname from unnest(k.conkey) with ordinality as u (n, i)
                         join pg_attribute a on a.attrelid = c.oid and a.attnum = u.n order by u.i),
                   array(select a.attname from pg_attribute a where a.attrelid = c.oid and a.attnotnull and a.attnum > 0)
            from pg_constraint k join pg_class c on c.oid = k.conrelid
            where c.relnamespace = cast(:s as regnamespace) and k.contype in ('p', 'u')"""),
            {"s": settings.STATE_SCHEMA}).all()
    return {table: (kind, list(columns), set(not_null)) for table, kind, columns, not_null in rows}


def _assert_keys_enforced(url: str) -> None:
    tables = _table_keys(url)
    year_scoped = {o.model_name for o in catalog.load() if o.year_scoped}
    for model, (key, tested_not_null) in _declared_keys().items():
        assert model in tables, f"{model} has no key constraint"
        kind, columns, not_null = tables[model]
        # A year-scoped table is partitioned by school year too: PostgreSQL wants end_year in its key.
        assert columns == key + (["end_year"] if model in year_scoped and "end_year" not in key else []), model
        assert kind == ("p" if set(key) <= tested_not_null else "u"), model
        assert set(key) & tested_not_null <= not_null, model


def test_every_state_table_enforces_the_key_its_yml_declares(state_url):
    _assert_keys_enforced(state_url)
    assert _declared_keys()["behavior"][0] == ["district_id", "role_id", "resolution_id"]  # resolution_id nullable
    # A full refresh builds new tables: they get their keys again (twice: the old key's name is taken
    # by the table being replaced until it is dropped).
    for _ in range(2):
        run(state_url, "run", "--full-refresh")
        _assert_keys_enforced(state_url)


def _landing_without_key(url: str, table: str, column: str) -> None:
    """The landing table without its key constraint: the pulls refuse a NULL or duplicate key at a
    district, so only a landing changed by hand (or a bug) can hold one. The state must refuse it too."""
    _execute(url, f"alter table landing.{table} drop constraint {table}_pkey",
             f"alter table landing.{table} alter column {column} drop not null")


_FIRST_EXCUSE = "(select min(excuse_id) from landing.attendance_excuse where district_id = '01')"


@pytest.mark.parametrize("key, violated", [
    ("null", "not-null constraint"),
    ("(select max(excuse_id) from landing.attendance_excuse where district_id = '01')", "unique constraint"),
])
def test_a_null_or_duplicate_key_fails_a_plain_dbt_run_and_changes_nothing(state_url, key, violated):
    _landing_without_key(state_url, "attendance_excuse", "excuse_id")
    _execute(state_url, "update landing.attendance_excuse set description = 'changed' where district_id = '01'",
             f"update landing.attendance_excuse set excuse_id = {key}"
             f" where district_id = '01' and excuse_id = {_FIRST_EXCUSE}")
    before = checksums(state_url)
    result = run(state_url, "run", "--select", "attendance_excuse", districts=["01"], expect_success=False,
                 pull_first=False)
    assert not result.success and violated in result.error
    assert checksums(state_url) == before  # the district's old rows are back, nothing else moved


def test_a_first_build_with_a_null_key_leaves_no_table(state_url):
    _landing_without_key(state_url, "school", "school_id")
    _execute(state_url, "update landing.school set school_id = null where district_id = '01'"
                        " and school_id = (select min(school_id) from landing.school where district_id = '01')",
             "drop table state.school cascade")
    result = run(state_url, "run", "--select", "school", expect_success=False, pull_first=False)
    assert not result.success and 'column "school_id" of relation "school" contains null values' in result.error
    with database.transaction(state_url) as conn:
        assert conn.execute(sa.text("select to_regclass('state.school')")).scalar() is None
