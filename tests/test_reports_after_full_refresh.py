"""The views over a state table survive a full refresh of it (macros/keep_dependent_views.sql).

dbt replaces a full-refreshed table and drops the old one with CASCADE, which used to take the
report views with it. Both ways of running a full refresh are checked: a plain dbt run that does
not select the views, and `resync run --full-refresh`; and a run that full-refreshes a table and
rebuilds a report view after it, which needs dbt's relation cache told that the views are back.
"""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa
from dbt_helpers import dbt, parsed_manifest, project_models
from generated_data import SCHOOL_YEAR as YEAR

from orchestrator import database, settings

REPORTS = f"{settings.STATE_SCHEMA}_reports"


def _report_views() -> set[str]:
    return {name for name, node in project_models(parsed_manifest(), "reports").items()
            if node["config"]["materialized"] == "view"}


def _scalar(url: str, sql: str, **params):
    with database.transaction(url) as conn:
        return conn.execute(sa.text(sql), params).scalar()


def _views_in(url: str, schema: str) -> set[str]:
    with database.transaction(url) as conn:
        return set(conn.execute(sa.text("select viewname from pg_views where schemaname = :s"), {"s": schema}).scalars())


def _report_rows(url: str) -> dict[str, list]:
    with database.transaction(url) as conn:
        conn.execute(sa.text("set local enable_nestloop = off"))  # the template was never analyzed
        return {view: sorted(json.dumps(dict(r._mapping), default=str, sort_keys=True)
                             for r in conn.execute(sa.text(f"select * from {REPORTS}.{view}")))
                for view in ("attendance_summary", "chronic_absence_rules", "chronic_absenteeism_by_school")}


@pytest.fixture
def reader_role(state_url):
    """A role that may read one report view, and an analyst's own view over a state table."""
    role = f"resync_test_reader_{uuid.uuid4().hex[:8]}"
    with database.transaction(state_url) as conn:
        conn.execute(sa.text(f"create role {role}"))
        conn.execute(sa.text(f"grant usage on schema {REPORTS} to {role}"))
        conn.execute(sa.text(f"grant select on {REPORTS}.attendance_summary to {role}"))
        conn.execute(sa.text("create view public.school_names as select district_id, name from state.school"))
        conn.execute(sa.text("comment on view public.school_names is 'An analyst''s own view'"))
    yield role
    with database.transaction(state_url) as conn:
        conn.execute(sa.text(f"drop owned by {role}"))
        conn.execute(sa.text(f"drop role {role}"))


def _owners_and_options(url: str) -> dict[str, tuple]:
    """Each report view's owner and options (security_invoker: it runs with its reader's rights)."""
    with database.transaction(url) as conn:
        return {r.relname: (r.owner, r.reloptions) for r in conn.execute(sa.text(
            "select relname, relowner::regrole::text as owner, reloptions from pg_class"
            " where relnamespace = cast(:s as regnamespace) and relkind = 'v'"), {"s": REPORTS})}


def _check_kept(url: str, before: dict, role: str, old_school: int, owners: dict) -> None:
    assert _scalar(url, "select 'state.school'::regclass::oid") != old_school, "school was not rebuilt"
    assert _report_views() <= _views_in(url, REPORTS)
    assert _report_rows(url) == before
    assert _owners_and_options(url) == owners
    assert _scalar(url, f"select has_table_privilege('{role}', '{REPORTS}.attendance_summary', 'select')")
    assert not _scalar(url, f"select has_table_privilege('{role}', '{REPORTS}.attendance_by_year', 'select')")
    assert _scalar(url, "select obj_description('public.school_names'::regclass, 'pg_class')") == "An analyst's own view"
    assert _scalar(url, "select count(*) from public.school_names") > 0


def test_a_plain_dbt_full_refresh_of_a_table_keeps_the_views_over_it(state_url, reader_role):
    before, old_school = _report_rows(state_url), _scalar(state_url, "select 'state.school'::regclass::oid")
    owners = _owners_and_options(state_url)
    assert owners["attendance_summary"] == ("resync_worker", ["security_invoker=true"])
    dbt(state_url, "run", "--full-refresh", "--select", "school", school_year=YEAR)
    _check_kept(state_url, before, reader_role, old_school, owners)


def test_a_full_refresh_that_also_rebuilds_a_report_view_succeeds(state_url):
    before = _report_rows(state_url)
    result = dbt(state_url, "run", "--full-refresh", "--select", "school", "calendar", "attendance_summary",
                 school_year=YEAR)
    assert {n.model: n.status for n in result.nodes} == {
        "school": "success", "calendar": "success", "attendance_summary": "success"}
    assert _report_views() <= _views_in(state_url, REPORTS)
    assert _report_rows(state_url) == before


def test_a_full_refresh_of_every_model_keeps_the_views_over_the_report_views(state_url):
    """A plain `dbt run --full-refresh` (the README's line): the state tables and the report views
    in one run, then a run of the report views alone; an analyst's view over a report view stays."""
    before = _report_rows(state_url)
    with database.transaction(state_url) as conn:
        conn.execute(sa.text(f"create view public.yearly as select * from {REPORTS}.attendance_by_year"))
    try:
        expected = _scalar(state_url, "select count(*) from public.yearly")
        for args in (("run", "--full-refresh"), ("run", "--select", "reports")):
            result = dbt(state_url, *args, school_year=YEAR)
            assert result.nodes and {n.status for n in result.nodes} == {"success"}, args
            assert _report_views() <= _views_in(state_url, REPORTS)
            assert _report_rows(state_url) == before
            assert _scalar(state_url, "select count(*) from public.yearly") == expected > 0
    finally:
        with database.transaction(state_url) as conn:
            conn.execute(sa.text("drop view if exists public.yearly"))


def test_resync_run_full_refresh_keeps_the_report_views(cli, state_url, reader_role):
    before, old_school = _report_rows(state_url), _scalar(state_url, "select 'state.school'::regclass::oid")
    owners = _owners_and_options(state_url)
    result = cli("run", "-d", "01", "-d", "02", "-d", "03", "-o", "School", "--full-refresh",
                 "--school-year", str(YEAR), "--yes")
    assert result.exit_code == 0, result.output
    assert "the views over the tables, such as the attendance reports, are kept" in result.output
    _check_kept(state_url, before, reader_role, old_school, owners)
    report = cli("report", "--school-year", str(YEAR), "--json")
    assert report.exit_code == 0, report.output
