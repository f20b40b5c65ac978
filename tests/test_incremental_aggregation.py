"""The incremental attendance aggregation (`resync aggregate`) against a full refresh.

The property: whatever a district does to its sources between two runs (new and backdated
attendance, deletes, withdrawals, roster changes, code edits, day flags), after the incremental
run the state table equals, row for row, what a full refresh computes from the same sources.
"""

from __future__ import annotations

import datetime

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

import generated_data as gd
import hand_made_attendance as hand_made
from orchestrator import aggregation, database, demo_data, dbt_invoker, registry

COLUMNS = ("district_id, person_id, calendar_id, date, end_year, grade_level_id, scheduled_minutes, absent_minutes,"
           " unexcused_absent_minutes, excused_absent_minutes, exempt_minutes, present_minutes, excuse_id,"
           " absence_fraction_exact, absence_fraction_approx, membership")
KEY = "district_id, person_id, calendar_id, date"


def state_rows(url: str, year: int) -> list[tuple]:
    with database.transaction(url) as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            f"select {COLUMNS} from state.att_day_aggregation where end_year = :y order by {KEY}"), {"y": year})]


def compiled_refresh_sql(url: str, year: int, through: str | None = None) -> str:
    """The model's refresh SQL for every district."""
    invocation = dbt_invoker.invoke([
        "compile", "--select", aggregation.MODEL,
        "--vars", dbt_invoker.vars_argument({"districts": [], "school_year": year, "aggregation_mode": "refresh",
                                             "attendance_through": through}),
    ], url=url)
    assert invocation.success, invocation.error
    [compiled] = Path(dbt_invoker.target_path(), "compiled").rglob(f"{aggregation.MODEL}.sql")
    return compiled.read_text()


def refresh_rows(url: str, year: int, through: str | None = None) -> list[tuple]:
    """What a full refresh of every district computes now: the model's refresh SQL, run as a query."""
    sql = compiled_refresh_sql(url, year, through)
    with database.transaction(url) as conn:
        conn.execute(sa.text("set local enable_nestloop = off"))  # as the state models' pre-hook does
        return [tuple(r) for r in conn.execute(sa.text(
            f"select {COLUMNS} from ({sql}) as refreshed order by {KEY}"))]


def watermark(url: str, code: str, year: int):
    with database.transaction(url) as conn:
        return conn.execute(sa.text(
            "select watermark from resync.aggregation_watermark where district_id = :c and end_year = :y"),
            {"c": code, "y": year}).scalar()


def test_incremental_runs_after_days_of_changes_equal_a_full_refresh(generated_url):
    districts = [registry.District(code, name, schema) for code, name, schema in gd.DISTRICTS]
    first = aggregation.aggregate(school_year=gd.SCHOOL_YEAR)
    assert first.ok, first.error
    # Never aggregated: every district is computed in full, which sets its watermark.
    assert [d.mode for d in first.districts] == ["refresh"] * 3
    total = len(state_rows(generated_url, gd.SCHOOL_YEAR))
    assert total > 10_000

    for step in range(4):
        summary = demo_data.apply_changes(generated_url, districts, days=1, seed=100 + step)
        assert summary["totals"]["backdated_updates"] > 0
        result = aggregation.aggregate(school_year=gd.SCHOOL_YEAR)
        assert result.ok, result.error
        assert [d.mode for d in result.districts] == ["incremental"] * 3
        # Only what changed was recomputed.
        assert sum(d.rows_written for d in result.districts) < total / 4
        assert state_rows(generated_url, gd.SCHOOL_YEAR) == refresh_rows(generated_url, gd.SCHOOL_YEAR), step

    # And the real refresh agrees with the incremental state.
    incremental = state_rows(generated_url, gd.SCHOOL_YEAR)
    refreshed = aggregation.aggregate(refresh=True, school_year=gd.SCHOOL_YEAR)
    assert [d.mode for d in refreshed.districts] == ["refresh"] * 3
    assert state_rows(generated_url, gd.SCHOOL_YEAR) == incremental


# --- on the hand-made district -----------------------------------------------------------------

@pytest.fixture
def hand_made_district(database_url):
    hand_made.load(database_url)
    return database_url


@pytest.fixture
def hand_made_url(hand_made_district):
    """The hand-made district, aggregated once (in full: it had no watermark)."""
    result = aggregation.aggregate(school_year=hand_made.SCHOOL_YEAR)
    assert result.ok and result.districts[0].mode == "refresh"
    return hand_made_district


def _execute(url: str, statement: str) -> None:
    with database.transaction(url) as conn:
        conn.execute(sa.text(statement))


def _incremental(url: str) -> aggregation.DistrictAggregation:
    result = aggregation.aggregate(school_year=hand_made.SCHOOL_YEAR)
    assert result.ok, result.error
    [district] = result.districts
    assert district.mode == "incremental"
    return district


def test_a_change_in_flight_during_a_run_is_aggregated_by_the_next_one(hand_made_url):
    # A district transaction starts before the run and commits after it: its modified_date is
    # its start, earlier than the run. The run cannot see it; the next one must not skip it.
    engine = database.engine(hand_made_url)
    with engine.connect() as writer:
        writer.execute(sa.text("update district_01.attendance set excuse_id = 1 where attendance_id = 2"))
        assert _incremental(hand_made_url).rows_written == 0  # not committed yet: nothing to see
        writer.commit()
    _incremental(hand_made_url)
    # Student 1 on 09-05: P1 is now excused too (code EX), so all 120 absent minutes are excused.
    row = [r for r in state_rows(hand_made_url, 2024) if r[1] == 1 and r[3].day == 5][0]
    assert row[8:10] == (0, 120)
    assert state_rows(hand_made_url, 2024) == refresh_rows(hand_made_url, 2024)


def test_rows_that_no_longer_qualify_disappear(hand_made_url):
    before = len(state_rows(hand_made_url, 2024))
    # A row moved to another date logs its old version; a withdrawal ends student 3 on 09-05;
    # 09-06 stops taking attendance; a code's status changes; a roster row is deleted.
    _execute(hand_made_url, "update district_01.attendance set date = '2023-09-11' where attendance_id = 23")
    _execute(hand_made_url, "update district_01.enrollment set end_date = '2023-09-05' where enrollment_id = 4")
    _execute(hand_made_url, "update district_01.day set attendance = false where day_id = 3")
    _execute(hand_made_url, "update district_01.attendance_excuse set status = 'P' where excuse_id = 8")
    _execute(hand_made_url, "delete from district_01.roster where roster_id = 21")
    written = _incremental(hand_made_url).rows_written
    after = state_rows(hand_made_url, 2024)
    assert after == refresh_rows(hand_made_url, 2024)
    assert len(after) < before and 0 < written < len(after)
    assert not [r for r in after if r[1] == 10]  # student 10 has no section left
    assert not [r for r in after if r[3].day == 6]


def test_a_failed_run_keeps_the_table_and_the_watermark(hand_made_url):
    rows, mark = state_rows(hand_made_url, 2024), watermark(hand_made_url, "01", 2024)
    _execute(hand_made_url, "update district_01.attendance set excuse_id = 2 where attendance_id = 3")
    _execute(hand_made_url, "alter table district_01.period rename column seq to sequence")
    result = aggregation.aggregate(school_year=hand_made.SCHOOL_YEAR)
    assert not result.ok and result.districts[0].status == "error" and "seq" in result.error
    assert state_rows(hand_made_url, 2024) == rows
    assert watermark(hand_made_url, "01", 2024) == mark
    # Once the source is mended, the change is still picked up.
    _execute(hand_made_url, "alter table district_01.period rename column sequence to seq")
    _incremental(hand_made_url)
    assert state_rows(hand_made_url, 2024) == refresh_rows(hand_made_url, 2024) != rows


def test_a_source_truncated_and_reloaded_needs_no_refresh(hand_made_url):
    # The pull applies what really changed (every attendance row gone), logged with the state's
    # clock, so the incremental run recomputes exactly those student-days.
    assert watermark(hand_made_url, "01", 2024) is not None
    _execute(hand_made_url, "truncate district_01.attendance")
    result = aggregation.aggregate(school_year=hand_made.SCHOOL_YEAR)
    assert result.districts[0].mode == "incremental"
    assert state_rows(hand_made_url, 2024) == refresh_rows(hand_made_url, 2024)
    assert all(r[7] == 0 for r in state_rows(hand_made_url, 2024))  # no attendance: nobody absent


def test_the_cli_runs_both_modes(hand_made_district, cli):
    first = cli("aggregate", "-d", "01", "--school-year", "2024")
    assert first.exit_code == 0, first.output
    assert "refresh" in first.output and "success" in first.output
    again = cli("aggregate", "--school-year", "2024", "--json")
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert data["ok"] and data["districts"][0]["mode"] == "incremental"
    assert data["districts"][0]["rows_written"] == 0
    forced = cli("aggregate", "--refresh", "--school-year", "2024", "--json")
    assert json.loads(forced.stdout)["districts"][0]["mode"] == "refresh"


def test_the_cli_refuses_an_unknown_district(hand_made_district, cli):
    result = cli("aggregate", "-d", "99")
    assert result.exit_code == 1
    assert "District 99 is not registered" in result.output
    assert "Traceback" not in result.output



def _last_counted_day(url: str):
    with database.transaction(url) as conn:
        return conn.execute(sa.text("select max(date) from state.att_day_aggregation")).scalar()


def test_attendance_counts_through_yesterday_by_default(hand_made_district):
    # Today's attendance is still being taken, and a day to come is no day present.
    assert "(current_date - 1)" in compiled_refresh_sql(hand_made_district, hand_made.SCHOOL_YEAR)


def test_days_enter_the_count_as_time_passes_without_any_source_change(hand_made_district):
    url, year = hand_made_district, hand_made.SCHOOL_YEAR
    first = aggregation.aggregate(school_year=year, through=datetime.date(2023, 9, 5))
    assert first.ok and first.districts[0].mode == "refresh"
    assert _last_counted_day(url) == datetime.date(2023, 9, 5)
    assert state_rows(url, year) == refresh_rows(url, year, "2023-09-05")

    # A week on: the incremental run adds the days in between, though no source changed.
    later = _through(url, datetime.date(2023, 9, 12))
    assert later.mode == "incremental" and later.rows_written > 0
    assert _last_counted_day(url) == datetime.date(2023, 9, 11)
    assert state_rows(url, year) == refresh_rows(url, year, "2023-09-12")

    # Counting through an earlier date again takes those days away.
    _through(url, datetime.date(2023, 9, 5))
    assert state_rows(url, year) == refresh_rows(url, year, "2023-09-05")


def _through(url: str, day: datetime.date) -> aggregation.DistrictAggregation:
    result = aggregation.aggregate(school_year=hand_made.SCHOOL_YEAR, through=day)
    assert result.ok, result.error
    return result.districts[0]


def test_a_full_refresh_of_another_year_forgets_every_watermark(hand_made_url):
    # --full-refresh rebuilds the table with one school year only: the 2023-2024 rows are gone, so
    # an incremental run for that year must not trust its old watermark.
    assert watermark(hand_made_url, "01", hand_made.SCHOOL_YEAR) is not None
    invocation = dbt_invoker.invoke(
        ["run", "--select", aggregation.MODEL, "--full-refresh",
         "--vars", dbt_invoker.vars_argument({"districts": [], "school_year": hand_made.SCHOOL_YEAR - 1})],
        url=hand_made_url)
    assert invocation.success, invocation.error
    assert watermark(hand_made_url, "01", hand_made.SCHOOL_YEAR) is None
    assert aggregation.aggregate(school_year=hand_made.SCHOOL_YEAR).districts[0].mode == "refresh"


# --- the date attendance counts through --------------------------------------------------------

def _state_count(url: str) -> int:
    with database.transaction(url) as conn:
        return conn.execute(sa.text("select count(*) from state.att_day_aggregation")).scalar()


def test_rows_deleted_are_reported_beside_rows_written(hand_made_district, cli):
    url = hand_made_district
    counted = _through(url, datetime.date(2023, 9, 12))
    assert counted.mode == "refresh" and counted.rows_deleted is None  # a first build deletes nothing
    before = _state_count(url)
    # Counting through an earlier date again takes days away: deleted, and nothing written for them.
    earlier = _through(url, datetime.date(2023, 9, 5))
    after = _state_count(url)
    assert earlier.rows_written == 0 and earlier.rows_deleted == before - after > 0
    # A refresh deletes every row of the district's year and writes them again.
    refreshed = cli("aggregate", "--refresh", "--school-year", "2024", "--through", "2023-09-05", "--json")
    [district] = json.loads(refreshed.stdout)["districts"]
    assert district["rows_deleted"] == district["rows_written"] == after
    text = cli("aggregate", "--school-year", "2024", "--through", "2023-09-12")
    assert text.exit_code == 0, text.output
    assert f"{before - after:,} rows written, 0 deleted" in text.output


@pytest.mark.parametrize("through, message", [
    ("2023-06-30", "Attendance cannot count through 2023-06-30: school year 2023-2024 starts on 2023-07-01."),
    ("today", "the last day that counts is yesterday"),
    ("2099-01-01", "Attendance cannot count through 2099-01-01: the last day that counts is yesterday"),
])
def test_a_date_outside_the_year_or_not_over_yet_is_refused(hand_made_url, cli, through, message):
    if through == "today":
        through = datetime.date.today().isoformat()
    rows = state_rows(hand_made_url, hand_made.SCHOOL_YEAR)
    result = cli("aggregate", "--school-year", "2024", "--through", through)
    assert result.exit_code == 1 and message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert state_rows(hand_made_url, hand_made.SCHOOL_YEAR) == rows  # nothing deleted, nothing written


def test_a_plain_dbt_run_refuses_such_a_date_too(hand_made_url):
    rows = state_rows(hand_made_url, hand_made.SCHOOL_YEAR)
    for through in ("2099-01-01", "1900-01-01"):
        invocation = dbt_invoker.invoke(
            ["run", "--select", aggregation.MODEL, "--vars", dbt_invoker.vars_argument(
                {"school_year": hand_made.SCHOOL_YEAR, "attendance_through": through})], url=hand_made_url)
        assert not invocation.success
        assert "attendance_through must lie between the school year's first day, 2023-07-01, and yesterday" \
            in invocation.error
    assert state_rows(hand_made_url, hand_made.SCHOOL_YEAR) == rows


# --- every district in one dbt run ---------------------------------------------------------------

def _district_counts(url: str, year: int) -> dict[str, int]:
    with database.transaction(url) as conn:
        return dict(conn.execute(sa.text(
            "select district_id, count(*) from state.att_day_aggregation where end_year = :y group by 1"),
            {"y": year}).all())


def _counting_dbt_runs(monkeypatch) -> list[list[str]]:
    """The districts of each dbt run the aggregation makes (the real dbt runs them)."""
    runs, real = [], dbt_invoker.invoke

    def invoke(args, **kwargs):
        if args[0] == "run":
            runs.append(json.loads(args[args.index("--vars") + 1])["districts"])
        return real(args, **kwargs)

    monkeypatch.setattr(dbt_invoker, "invoke", invoke)
    return runs


def test_every_district_is_aggregated_in_one_run_with_its_own_counts(generated_url, monkeypatch):
    runs = _counting_dbt_runs(monkeypatch)
    first = aggregation.aggregate(school_year=gd.SCHOOL_YEAR)
    assert first.ok, first.error
    assert runs == [["01", "02", "03"]]
    counts = _district_counts(generated_url, gd.SCHOOL_YEAR)
    # Each district's own rows written, not the run's last statement's.
    assert {d.district: d.rows_written for d in first.districts} == counts
    assert len(set(counts.values())) == 3

    districts = [registry.District(code, name, schema) for code, name, schema in gd.DISTRICTS]
    demo_data.apply_changes(generated_url, districts, days=1, seed=7)
    runs.clear()
    later = aggregation.aggregate(school_year=gd.SCHOOL_YEAR)
    assert later.ok, later.error
    assert runs == [["01", "02", "03"]]
    assert [d.mode for d in later.districts] == ["incremental"] * 3
    assert all(0 < d.rows_written < counts[d.district] for d in later.districts)
    assert state_rows(generated_url, gd.SCHOOL_YEAR) == refresh_rows(generated_url, gd.SCHOOL_YEAR)


def test_a_district_that_breaks_the_run_fails_alone(generated_url, monkeypatch):
    assert aggregation.aggregate(school_year=gd.SCHOOL_YEAR).ok
    before = _district_counts(generated_url, gd.SCHOOL_YEAR)
    # District 02's rows are refused by the state table (its pull and its SQL work).
    _execute(generated_url, "alter table state.att_day_aggregation add constraint no_02 check (district_id <> '02')"
                            " not valid")
    _execute(generated_url, "update resync.aggregation_watermark set watermark = watermark - interval '1 day'")
    kept = watermark(generated_url, "02", gd.SCHOOL_YEAR)
    runs = _counting_dbt_runs(monkeypatch)
    heard = []
    result = aggregation.aggregate(refresh=True, school_year=gd.SCHOOL_YEAR, on_district=heard.append)
    # The run of the three failed as a whole, then each district ran alone.
    assert runs == [["01", "02", "03"], ["01"], ["02"], ["03"]]
    assert {d.district: d.status for d in result.districts} == {"01": "success", "02": "error", "03": "success"}
    assert [d.district for d in heard] == ["01", "02", "03"]
    assert "no_02" in result.error and result.error.startswith("district 02:")
    # 02 kept its watermark (its run was rolled back); 01 and 03 moved on.
    assert watermark(generated_url, "02", gd.SCHOOL_YEAR) == kept
    assert watermark(generated_url, "01", gd.SCHOOL_YEAR) > kept and watermark(generated_url, "03", gd.SCHOOL_YEAR) > kept
    assert _district_counts(generated_url, gd.SCHOOL_YEAR) == before
