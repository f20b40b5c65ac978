"""The programmatic API the CLI and the request worker share: build_plan and execute."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa

from orchestrator import catalog, database, missing_parents, resync, settings
from orchestrator.errors import ResyncError

from generated_data import SCHOOL_YEAR

EVERY_LEAF = ["AttDayAggregation", "Behavior", "AtRisk", "AdultEd", "ALPSS", "SchoolMonth"]


def test_current_school_year_turns_on_july_first():
    assert resync.current_school_year(datetime.date(2026, 6, 30)) == 2026
    assert resync.current_school_year(datetime.date(2026, 7, 1)) == 2027


def test_every_catalog_edge_names_its_parent_columns():
    assert set(missing_parents.PARENT_COLUMNS) == {(c.campus_name, p.campus_name) for c, p in missing_parents.edges()}


def test_build_plan_validates_and_touches_nothing(generated_url):
    with database.transaction(generated_url) as conn:
        plan = resync.build_plan(conn, ["02", "01", "02"], ["day", "CALENDAR"], check_dependencies=True,
                                 school_year=SCHOOL_YEAR)
        assert conn.execute(sa.text("select to_regnamespace(:s)"), {"s": settings.STATE_SCHEMA}).scalar() is None
    assert plan.district_codes == ["01", "02"]
    assert [o.campus_name for o in plan.requested] == ["Calendar", "Day"]
    assert [o.campus_name for o in plan.objects] == ["District", "School", "Calendar", "ScheduleStructure",
                                                     "PeriodSchedule", "Day"]
    assert [o.campus_name for o in plan.added_by_dependencies] == ["District", "School", "ScheduleStructure",
                                                                   "PeriodSchedule"]
    document = plan.as_dict()
    assert document["school_year"] == SCHOOL_YEAR
    assert document["dbt_command"].split("--select ")[1].startswith("+calendar +day --vars")
    assert "Objects, in order:" in plan.describe()

    with database.transaction(generated_url) as conn, pytest.raises(ResyncError, match="Unknown object 'dya'"):
        resync.build_plan(conn, ["01"], ["dya"], check_dependencies=False, school_year=SCHOOL_YEAR)


def test_execute_reports_progress_parents_first_and_rows_per_district(generated_url):
    with database.transaction(generated_url) as conn:
        plan = resync.build_plan(conn, ["01", "03"], ["Enrollment"], check_dependencies=True, school_year=SCHOOL_YEAR)
    events: list[resync.Progress] = []
    result = resync.execute(plan, url=generated_url, on_progress=events.append)
    assert result.ok, result.error

    finished = [e.object for e in events if e.kind == "finish"]
    assert sorted(finished) == sorted(o.campus_name for o in plan.objects)
    for obj in plan.objects:  # dbt may interleave independent objects, never a child before a parent
        assert all(finished.index(p) < finished.index(obj.campus_name) for p in obj.parents if p in finished)
    assert [e.index for e in events if e.kind == "start"] == list(range(1, len(plan.objects) + 1))
    assert {e.total for e in events} == {len(plan.objects)}

    with database.transaction(generated_url) as conn:
        per_district = dict(conn.execute(sa.text(
            "select district_id, count(*) from state.enrollment group by 1")).all())
    rows = {(r.object, r.district): r.rows_replaced for r in result.objects}
    assert rows[("Enrollment", "01")] == per_district["01"] > 0
    assert rows[("Enrollment", "03")] == per_district["03"] > 0
    document = result.as_dict()
    assert document["ok"] and document["summary"].startswith("Resynced 7 objects for districts 01, 03:")


def test_a_full_resync_of_every_object_leaves_no_missing_parents(generated_url):
    """Every object, every edge: the parent columns exist on both sides and generated data is whole."""
    with database.transaction(generated_url) as conn:
        plan = resync.build_plan(conn, ["01"], EVERY_LEAF, check_dependencies=True, school_year=SCHOOL_YEAR)
    assert {o.campus_name for o in plan.objects} == {o.campus_name for o in catalog.load()}
    result = resync.execute(plan, url=generated_url)
    assert result.ok, result.error
    assert all(r.rows_replaced > 0 for r in result.objects), [r for r in result.objects if not r.rows_replaced]

    with database.transaction(generated_url) as conn:
        columns = {}
        for table, column in conn.execute(sa.text(
                "select table_name, column_name from information_schema.columns where table_schema = :s"),
                {"s": settings.STATE_SCHEMA}):
            columns.setdefault(table, set()).add(column)
        for (child, parent), names in missing_parents.PARENT_COLUMNS.items():
            index = catalog.by_campus_name()
            for name in names:
                assert name in columns[index[child].model_name], (child, name)
                assert name in columns[index[parent].model_name], (parent, name)
        assert missing_parents.find(conn, catalog.load(), ["01"], plan.school_year) == []

        # Take a parent away at the state: the edge check finds exactly the children left behind.
        orphaned = conn.execute(sa.text(
            "select count(*) from state.enrollment where calendar_id = (select min(calendar_id) from state.enrollment)"
        )).scalar()
        conn.execute(sa.text("delete from state.calendar where calendar_id = (select min(calendar_id) from state.enrollment)"))
        found = missing_parents.find(conn, [catalog.resolve("Calendar")], ["01"], plan.school_year)
    enrollment = next(m for m in found if (m.child, m.parent) == ("Enrollment", "Calendar"))
    assert enrollment.rows == orphaned > 0 and enrollment.district == "01"


def test_a_plan_gone_stale_fails_with_one_sentence_and_changes_nothing(generated_url):
    """A queued plan whose district was removed before it ran: it is not pulled nor rebuilt, and says
    so; the other district still runs."""
    with database.transaction(generated_url) as conn:
        plan = resync.build_plan(conn, ["01", "02"], ["School"], check_dependencies=True, school_year=SCHOOL_YEAR)
        conn.execute(sa.text("delete from resync.district where code = '02'"))
    result = resync.execute(plan, url=generated_url)
    assert not result.ok
    assert result.error.startswith("District 02 (Campus) is no longer registered, so it was not pulled.")
    assert {(r.district, r.status) for r in result.objects} == {("01", "success"), ("02", "skipped")}
    with database.transaction(generated_url) as conn:
        assert conn.execute(sa.text("select count(*) from state.school where district_id = '02'")).scalar() == 0
