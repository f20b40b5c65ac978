"""The dbt invoker: in-process runs on a cached manifest, retargeted per database, one at a time."""

from __future__ import annotations

import os
import shutil
import threading

import pytest
import sqlalchemy as sa
from dbt_helpers import pull

from orchestrator import database, dbt_cte_injection, dbt_invoker, migrations, registry, settings


def _register_district(url: str, code: str, name: str) -> None:
    with database.transaction(url) as conn:
        migrations.ensure_tool_schema(conn)
        registry.add(conn, code, name)
        conn.execute(sa.text(f'insert into "district_{code}".district (district_number, name) values (:c, :n)'),
                     {"c": code, "n": name})
    pull(url, [code])


def _district_run(code: str) -> list[str]:
    return ["run", "--select", "district", "--vars", dbt_invoker.vars_argument({"districts": [code]})]


def _state_districts(url: str) -> list[tuple]:
    with database.transaction(url) as conn:
        return conn.execute(sa.text("select district_id, name from state.district order by 1")).all()


@pytest.fixture
def second_database(server_url):
    from conftest import TEST_PREFIX

    url = database.create_database(server_url, prefix=TEST_PREFIX)
    yield url
    database.drop_database(server_url, url)


def test_vars_are_json_with_district_codes_as_strings():
    assert dbt_invoker.vars_argument({"districts": ["01"], "school_year": 2025}) == \
        '{"districts": ["01"], "school_year": 2025}'


def test_plain_command_is_a_dbt_command_line_with_the_project(monkeypatch):
    monkeypatch.chdir(settings.project_dir())
    command = dbt_invoker.plain_command(["run", "--select", "+calendar", "--vars", '{"districts": ["01"]}'])
    assert command == "dbt run --project-dir dbt_project --select +calendar --vars '{\"districts\": [\"01\"]}'"


def test_one_manifest_serves_several_databases_and_runs_use_their_own_vars(database_url, second_database):
    _register_district(database_url, "01", "Abbott")
    _register_district(second_database, "01", "Other Abbott")
    _register_district(second_database, "02", "Campus")

    first = dbt_invoker.invoke(_district_run("01"), url=database_url)
    second = dbt_invoker.invoke(_district_run("02"), url=second_database)
    again = dbt_invoker.invoke(_district_run("01"), url=second_database)

    assert first.success and second.success and again.success, (first.error, second.error, again.error)
    # Parsed (or loaded) once, then served from memory: no re-parse because vars or database changed.
    assert second.manifest_source == again.manifest_source == "memory"
    assert _state_districts(database_url) == [("01", "Abbott")]
    assert _state_districts(second_database) == [("01", "Other Abbott"), ("02", "Campus")]
    [node] = again.nodes
    assert (node.model, node.status) == ("district", "success") and node.seconds >= 0


def test_a_fresh_process_loads_the_manifest_from_disk(database_url):
    _register_district(database_url, "01", "Abbott")
    dbt_invoker.invoke(_district_run("01"), url=database_url)
    dbt_invoker.forget_manifest()  # what a new process starts with
    assert dbt_invoker.invoke(_district_run("01"), url=database_url).manifest_source == "disk"


def test_changed_project_files_are_parsed_again(database_url, tmp_path, monkeypatch):
    _register_district(database_url, "01", "Abbott")
    copy = tmp_path / "project"
    for folder in ("dbt_project", "models", "macros", "seeds"):
        shutil.copytree(settings.project_dir() / folder, copy / folder,
                        ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    monkeypatch.setenv("RESYNC_PROJECT_DIR", str(copy))
    before = dbt_invoker.project_fingerprint()
    model = copy / "models" / "state" / "district.sql"
    model.write_text(model.read_text().replace("    name,", "    upper(name) as name,"))
    assert dbt_invoker.project_fingerprint() != before

    result = dbt_invoker.invoke(_district_run("01"), url=database_url)
    assert result.success, result.error
    assert result.manifest_source == "parse"
    assert _state_districts(database_url) == [("01", "ABBOTT")]


def test_node_events_and_target_path(database_url):
    _register_district(database_url, "01", "Abbott")
    events = []
    result = dbt_invoker.invoke(_district_run("01"), url=database_url, on_node=events.append)
    assert result.success
    assert [(e.kind, e.model) for e in events] == [("start", "district"), ("finish", "district")]
    assert events[-1].status == "success" and events[-1].rows_affected == 1 and events[-1].seconds >= 0
    # The test session's DBT_TARGET_PATH is honoured: compiled SQL lands there, not in dbt_project.
    assert os.environ["DBT_TARGET_PATH"] == str(dbt_invoker.target_path())
    assert list(dbt_invoker.target_path().rglob("district.sql"))


def test_concurrent_calls_in_one_process_take_turns(database_url, second_database):
    _register_district(database_url, "01", "Abbott")
    _register_district(second_database, "01", "Other Abbott")
    results = {}

    def run(url):
        results[url] = dbt_invoker.invoke(_district_run("01"), url=url)

    threads = [threading.Thread(target=run, args=(u,)) for u in (database_url, second_database)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.success for r in results.values()), [r.error for r in results.values()]
    assert _state_districts(database_url) == [("01", "Abbott")]
    assert _state_districts(second_database) == [("01", "Other Abbott")]


def test_a_failed_run_is_reported_not_raised(database_url):
    _register_district(database_url, "01", "Abbott")
    with database.transaction(database_url) as conn:
        conn.execute(sa.text("alter table landing.district rename column name to district_name"))
    result = dbt_invoker.invoke(_district_run("01"), url=database_url)
    assert not result.success
    [node] = result.nodes
    assert node.status == "error" and 'column "name" does not exist' in node.message
    assert 'column "name" does not exist' in result.error


def _ctes(*names: str) -> list:
    from dbt.contracts.graph.nodes import InjectedCTE

    return [InjectedCTE(id=n, sql=f" __dbt__cte__{n} as (\nselect 1 as {n}\n)") for n in names]


@pytest.mark.parametrize("sql", [
    "with x as (select 1) select * from x",
    "\n-- depends_on: a\n/* with */ WITH RECURSIVE x (a) as (select 1) select * from x",
    "WITH\n\n  recursive  \n x(a) as (select 1) select 1",
    "with -- the first\n x as (select 1) select 1",
    "select 1",
    "-- with\nselect 1 as with_nothing",
    "with x as (select 1) select 1;",
    "  with",
])
def test_the_ctes_go_where_dbts_own_function_puts_them(sql):
    assert dbt_cte_injection.inject_ctes_into_sql(sql, _ctes("a", "b")) == dbt_cte_injection.dbts_own(sql, _ctes("a", "b"))
    assert dbt_cte_injection.inject_ctes_into_sql(sql, []) == sql


def test_every_state_model_compiles_as_with_dbts_own_cte_placing(state_url, monkeypatch):
    from dbt import compilation

    dbt_cte_injection.install()
    placed = []

    def recording(sql, ctes):
        placed.append((sql, ctes))
        return dbt_cte_injection.inject_ctes_into_sql(sql, ctes)

    monkeypatch.setattr(compilation, "inject_ctes_into_sql", recording)
    with database.transaction(state_url) as conn:
        codes = [d.code for d in registry.list_all(conn)]
    for mode in ("refresh", "incremental"):
        compiled = dbt_invoker.compiled_sql(["state"], {"districts": codes, "aggregation_mode": mode}, url=state_url)
        assert "att_day_aggregation" in compiled
    assert any(len(sql) > 50_000 for sql, _ in placed)  # the aggregation's chains, one per district
    for sql, ctes in placed:
        assert dbt_cte_injection.inject_ctes_into_sql(sql, ctes) == dbt_cte_injection.dbts_own(sql, ctes)
