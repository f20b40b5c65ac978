"""State tables are partitioned by district (and school year): a full replace swaps a partition in.

The generated districts' state tables (tests/conftest.py's state template) are built by a first
build, so they are partitioned; each test gets a copy.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from dbt_helpers import checksums, count_rows, dbt, dbt_subprocess, pull
from generated_data import SCHOOL_YEAR
from orchestrator import database

YEAR = SCHOOL_YEAR


def _rows(url: str, statement: str, **params) -> list[tuple]:
    with database.transaction(url) as conn:
        return [tuple(r) for r in conn.execute(sa.text(statement), params)]


def _execute(url: str, *statements: str) -> None:
    with database.transaction(url) as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


def _leaves(url: str, table: str) -> dict[str, tuple[int, str]]:
    """district code -> (oid, name) of the table's leaf for the school year (year-scoped) or district."""
    return {code: (oid, name) for code, oid, name in _rows(url, """
        select (select distinct district_id from state.{0} as t where t.tableoid = tree.relid),
               tree.relid::oid::int, tree.relid::regclass::text
        from pg_partition_tree('state.{0}') as tree where tree.isleaf""".format(table)) if code}


def _tree_bytes(url: str, table: str) -> int:
    return _rows(url, f"select sum(pg_total_relation_size(relid)) from pg_partition_tree('state.{table}')")[0][0]


def test_a_full_resync_swaps_in_the_districts_partition_and_leaves_the_others_alone(state_url):
    before = {table: _leaves(state_url, table) for table in ("calendar", "school")}
    rows = checksums(state_url)
    dbt(state_url, "run", "--select", "calendar", "school", districts=["01"], school_year=YEAR)
    after = {table: _leaves(state_url, table) for table in ("calendar", "school")}
    for table in ("calendar", "school"):
        assert set(after[table]) == {"01", "02", "03"}
        assert after[table]["01"][0] != before[table]["01"][0], f"{table}: 01's partition was not replaced"
        assert {c: after[table][c] for c in ("02", "03")} == {c: before[table][c] for c in ("02", "03")}
    # Named after the scope it holds, with nothing of the build left behind.
    assert after["calendar"]["01"][1] == f"state.calendar__01__{YEAR}"
    assert after["school"]["01"][1] == "state.school__01"
    assert _rows(state_url, "select count(*) from pg_class where relnamespace = 'state'::regnamespace"
                            " and relname like '%\\_\\_next%'") == [(0,)]
    assert checksums(state_url) == rows  # nothing changed at the district, so nothing changed here


def test_weekly_refreshes_leave_no_bloat_and_count_the_rows_they_replace(state_url):
    """Replacing a partition writes the rows once: the table's size after three refreshes is its
    size after one (a delete and insert leaves the dead rows behind until a vacuum)."""
    dbt(state_url, "run", "--select", "att_day_aggregation", districts=["01"], school_year=YEAR)
    size = _tree_bytes(state_url, "att_day_aggregation")
    rows = count_rows(state_url, "att_day_aggregation", "district_id = '01'")
    for _ in range(2):
        dbt(state_url, "run", "--select", "att_day_aggregation", districts=["01"], school_year=YEAR,
            pull_first=False)
    assert _tree_bytes(state_url, "att_day_aggregation") == size
    # The aggregation reports the rows a refresh deleted: the old partition's.
    assert _rows(state_url, "select mode, rows_deleted from resync.aggregation_watermark"
                            " where district_id = '01' and end_year = :y", y=YEAR) == [("refresh", rows)]


def test_the_nightly_finds_statistics_on_a_swapped_in_aggregation_partition(state_url):
    """The incremental aggregation deletes from the leaf by key right after a refresh swapped it
    in, before autovacuum could analyze it: the swap analyzes that leaf (not those of objects
    rebuilt whole, which nothing reads by key next). A calendar leaf holds too few rows for
    autovacuum to analyze it meanwhile."""
    dbt(state_url, "run", "--select", "att_day_aggregation", "calendar", districts=["01"], school_year=YEAR)
    leaves = {table: _leaves(state_url, table)["01"][0] for table in ("att_day_aggregation", "calendar")}
    analyzed = dict(_rows(state_url, "select c.relname::text like 'att_day%', count(s.starelid) > 0 from pg_class c"
                                     " left join pg_statistic s on s.starelid = c.oid where c.oid = any(:oids)"
                                     " group by 1", oids=list(leaves.values())))
    assert analyzed == {True: True, False: False}


def test_a_failed_replace_keeps_the_old_partition(state_url):
    _execute(state_url, "alter table landing.attendance_excuse drop constraint attendance_excuse_pkey")
    _execute(state_url, "update landing.attendance_excuse set excuse_id = (select min(excuse_id) from"
                     " landing.attendance_excuse where district_id = '01') where district_id = '01'")
    before, rows = _leaves(state_url, "attendance_excuse"), checksums(state_url)
    result = dbt(state_url, "run", "--select", "attendance_excuse", districts=["01"], school_year=YEAR,
                 expect_success=False, pull_first=False)
    assert not result.success
    assert "The new rows of state.attendance_excuse break its unique constraint" in result.error
    assert _leaves(state_url, "attendance_excuse") == before
    assert checksums(state_url) == rows


def test_runs_of_one_model_for_two_districts_take_turns_at_the_swap_and_never_hold_up_readers(
        state_url, tmp_path):
    """Both runs build their rows while a reader holds the table (reading never waits for a build),
    then wait for the reader at the swap. Meanwhile another reader still gets through: the swap
    asks for its lock by short attempts, so readers do not queue behind it. Released, both finish.

    Were the state table locked weakly before the swap's ACCESS EXCLUSIVE lock, the two runs would
    each hold what the other waits for, and PostgreSQL would cancel one as a deadlock."""
    _execute(state_url, "update district_01.calendar set name = name || ' (1)'",
             "update district_02.calendar set name = name || ' (2)'")
    pull(state_url, ["01", "02"], YEAR)
    waiting_sql = sa.text("select pid from pg_locks where not granted and mode = 'AccessExclusiveLock'"
                          " and relation = 'state.calendar'::regclass")
    with database.engine(state_url).connect() as reader:
        reader.execute(sa.text("select count(*) from state.calendar"))  # holds its ACCESS SHARE lock
        runs = [dbt_subprocess(state_url, "run", "--select", "calendar", districts=[code], school_year=YEAR,
                               work_dir=tmp_path / code) for code in ("01", "02")]
        seen: set[int] = set()
        deadline = time.monotonic() + 120
        while len(seen) < 2 and time.monotonic() < deadline and all(r.poll() is None for r in runs):
            seen |= set(reader.execute(waiting_sql).scalars())
            time.sleep(0.02)
        assert len(seen) == 2, [r.communicate()[0] for r in runs if r.poll() is not None]
        with database.engine(state_url).connect() as another:
            another.execute(sa.text("set statement_timeout = '10s'"))
            assert another.execute(sa.text("select count(*) from state.calendar")).scalar() > 0
        assert all(r.poll() is None for r in runs)  # still waiting for the first reader
        reader.rollback()
    outputs = [r.communicate(timeout=120)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    names = dict(_rows(state_url, "select district_id, min(name) from state.calendar group by 1"))
    assert names["01"].endswith(" (1)") and names["02"].endswith(" (2)")


@pytest.mark.parametrize("scope", ["district", "school year"])
def test_a_table_built_before_partitioning_is_still_replaced_by_delete_and_insert(state_url, scope):
    """An existing plain table (a state built by an earlier version) keeps working until a full
    refresh rebuilds it partitioned."""
    table = "school" if scope == "district" else "calendar"
    _execute(state_url, f"create table state.{table}_plain (like state.{table} including all)",
             f"insert into state.{table}_plain select * from state.{table}",
             f"drop table state.{table} cascade",
             f"alter table state.{table}_plain rename to {table}")
    rows = checksums(state_url)
    dbt(state_url, "run", "--select", table, districts=["01"], school_year=YEAR)
    assert checksums(state_url) == rows
    assert _rows(state_url, f"select relkind from pg_class where oid = 'state.{table}'::regclass") == [("r",)]
    dbt(state_url, "run", "--select", table, "--full-refresh", school_year=YEAR)
    assert _rows(state_url, f"select relkind from pg_class where oid = 'state.{table}'::regclass") == [("p",)]
    assert checksums(state_url) == rows
