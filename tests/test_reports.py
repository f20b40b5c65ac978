"""The attendance reports (domain.md section 5) over hand-made state rows.

The reports read only state tables, so the test writes those rows itself: what it checks is the
reports' arithmetic (membership, days absent by either method, ADA, ADM, rates, chronic absence,
truancy, days in session), independent of how the aggregation computes a day.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from dbt_helpers import pull

from orchestrator import database, dbt_invoker, migrations, registry, settings

YEAR = 2024
D = Decimal

# Calendar 1 of school 10: five instructional days in September (a Saturday without instruction
# besides), five in October of which the aggregation covers two (the year is in progress).
SEPTEMBER = ["2023-09-04", "2023-09-05", "2023-09-06", "2023-09-07", "2023-09-08"]
OCTOBER = ["2023-10-02", "2023-10-03", "2023-10-04", "2023-10-05", "2023-10-06"]

# (person, grade_level_id, date, approx, exact, unexcused minutes)
MEMBERSHIP = (
    # P1, grade 09: whole day absent (unexcused) on 09-05, half day on 10-02.
    [(1, 1, d, D("1.0") if d == "2023-09-05" else D("0"), D("0.8000") if d == "2023-09-05" else D("0"),
      200 if d == "2023-09-05" else 0) for d in SEPTEMBER]
    + [(1, 1, "2023-10-02", D("0.5"), D("0.4000"), 0), (1, 1, "2023-10-03", D("0"), D("0"), 0)]
    # P2, grade 09: September only, never absent.
    + [(2, 1, d, D("0"), D("0"), 0) for d in SEPTEMBER]
    # P3, grade K (no state grade): four September days, absent the first.
    + [(3, 2, d, D("1.0") if d == "2023-09-04" else D("0"), D("1.0000") if d == "2023-09-04" else D("0"), 0)
       for d in SEPTEMBER[:4]]
)


def _build_reports(url: str, **report_vars) -> None:
    variables = {"districts": ["01"], "school_year": YEAR, **report_vars}
    pull(url, ["01"], YEAR)
    result = dbt_invoker.invoke(
        ["run", "--select", "+attendance_by_month", "+attendance_by_year", "+chronic_absenteeism_by_school",
         "+attendance_summary", "+attendance_summary_by_month", "chronic_absence_rules", "--vars", dbt_invoker.vars_argument(variables)], url)
    assert result.success, result.error


def _fill_state(url: str) -> None:
    s = settings.STATE_SCHEMA
    with database.transaction(url) as conn:
        conn.execute(sa.text(
            f"insert into {s}.calendar (district_id, calendar_id, school_id, end_year) values ('01', 1, 10, {YEAR})"))
        conn.execute(sa.text(
            f"insert into {s}.structure_grade_level (district_id, grade_level_id, calendar_id, end_year, name, state_grade)"
            f" values ('01', 1, 1, {YEAR}, 'Ninth', '09'), ('01', 2, 1, {YEAR}, 'K', null)"))
        conn.execute(sa.text(
            f"insert into {s}.school_month (district_id, month_id, calendar_id, end_year, name, seq, start_date, end_date)"
            f" values ('01', 1, 1, {YEAR}, 'September', 1, '2023-09-01', '2023-09-30'),"
            f"        ('01', 2, 1, {YEAR}, 'October', 2, '2023-10-01', '2023-10-31')"))
        days = [(i, d, True) for i, d in enumerate(SEPTEMBER + OCTOBER, start=1)] + [(99, "2023-09-09", False)]
        for day_id, date, instruction in days:
            conn.execute(sa.text(
                f"insert into {s}.day (district_id, day_id, calendar_id, end_year, date, instruction, attendance)"
                " values ('01', :i, 1, :y, :d, :ins, :ins)"), {"i": day_id, "y": YEAR, "d": date, "ins": instruction})
        for person, grade, date, approx, exact, unexcused in MEMBERSHIP:
            conn.execute(sa.text(
                f"insert into {s}.att_day_aggregation (district_id, person_id, calendar_id, date, end_year,"
                " grade_level_id, absence_fraction_approx, absence_fraction_exact, unexcused_absent_minutes, membership)"
                " values ('01', :p, 1, :d, :y, :g, :a, :e, :u, 1)"),
                {"p": person, "d": date, "y": YEAR, "g": grade, "a": approx, "e": exact, "u": unexcused})


@pytest.fixture
def state_url(database_url):
    with database.transaction(database_url) as conn:
        migrations.ensure_tool_schema(conn)
        registry.add(conn, "01", "Abbott")
    return database_url


def _rows(url: str, sql: str) -> list[dict]:
    with database.transaction(url) as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(sql))]


def test_monthly_ada_adm_and_rates(state_url):
    _build_reports(state_url)
    _fill_state(state_url)
    rows = _rows(state_url, f"select grade, month_name, membership_days, days_absent, days_present, truant_days,"
                            f" students, instructional_days, ada, adm, attendance_rate"
                            f" from {settings.STATE_SCHEMA}_reports.attendance_by_month order by grade, month_seq")
    assert rows == [
        # 10 membership days, P1's whole day absent; 5 days in session.
        dict(grade="09", month_name="September", membership_days=10, days_absent=D("1.0000"),
             days_present=D("9.0000"), truant_days=1, students=2, instructional_days=5,
             ada=D("1.8000"), adm=D("2.0000"), attendance_rate=D("0.9000")),
        # Only two October days are covered so far: they are the days in session.
        dict(grade="09", month_name="October", membership_days=2, days_absent=D("0.5000"),
             days_present=D("1.5000"), truant_days=0, students=1, instructional_days=2,
             ada=D("0.7500"), adm=D("1.0000"), attendance_rate=D("0.7500")),
        # A grade level without a state grade reports under its local name.
        dict(grade="K", month_name="September", membership_days=4, days_absent=D("1.0000"),
             days_present=D("3.0000"), truant_days=0, students=1, instructional_days=5,
             ada=D("0.6000"), adm=D("0.8000"), attendance_rate=D("0.7500")),
    ]


def test_yearly_report_and_exact_method(state_url):
    _build_reports(state_url, absence_method="exact")
    _fill_state(state_url)
    rows = _rows(state_url, f"select grade, membership_days, days_absent, instructional_days, ada, adm"
                            f" from {settings.STATE_SCHEMA}_reports.attendance_by_year order by grade")
    assert rows == [
        # 12 membership days, exact absence 0.8 + 0.4; seven days in session up to 10-03.
        dict(grade="09", membership_days=12, days_absent=D("1.2000"), instructional_days=7,
             ada=D("1.5429"), adm=D("1.7143")),
        dict(grade="K", membership_days=4, days_absent=D("1.0000"), instructional_days=7,
             ada=D("0.4286"), adm=D("0.5714")),
    ]


def test_chronic_absenteeism(state_url):
    _build_reports(state_url, chronic_min_membership_days=5)
    _fill_state(state_url)
    students = _rows(state_url, f"select person_id, membership_days, absence_rate, counted, chronically_absent"
                                f" from {settings.STATE_SCHEMA}_reports.chronic_absenteeism_by_student order by person_id")
    assert students == [
        dict(person_id=1, membership_days=7, absence_rate=D("0.2143"), counted=True, chronically_absent=True),
        dict(person_id=2, membership_days=5, absence_rate=D("0.0000"), counted=True, chronically_absent=False),
        # Absent on a quarter of their days, but four days are too few to be counted.
        dict(person_id=3, membership_days=4, absence_rate=D("0.2500"), counted=False, chronically_absent=False),
    ]
    schools = _rows(state_url, f"select school_id, students_counted, chronically_absent_students, chronic_absence_rate"
                               f" from {settings.STATE_SCHEMA}_reports.chronic_absenteeism_by_school")
    assert schools == [dict(school_id=10, students_counted=2, chronically_absent_students=1,
                            chronic_absence_rate=D("0.5000"))]


def test_summary_by_level_and_month_with_rules_side_by_side(state_url):
    # The federal rule counted from 5 days (the existing vars), and a state rule of a quarter of
    # membership days counted from 4: only P3 (absent 1 of 4 days) is chronic under it.
    _build_reports(state_url, chronic_min_membership_days=5,
                   chronic_absence_rules=[{"name": "quarter", "threshold": 0.25, "min_membership_days": 4}])
    _fill_state(state_url)
    rows = _rows(state_url, f"select * from {settings.STATE_SCHEMA}_reports.attendance_summary"
                            " order by school_id nulls first, grade nulls first")
    measures = ("level", "grade", "membership_days", "days_absent", "truant_days", "students", "ada", "adm",
                "attendance_rate", "chronic_federal_counted", "chronic_federal_absent", "chronic_federal_rate",
                "chronic_quarter_counted", "chronic_quarter_absent", "chronic_quarter_rate")
    assert [tuple(r[m] for m in measures) for r in rows] == [
        # 16 membership days, 2.5 absent, seven days in session; P3 has too few days for federal.
        ("district", None, 16, D("2.5000"), 1, 3, D("1.9286"), D("2.2857"), D("0.8438"), 2, 1, D("0.5000"), 3, 1, D("0.3333")),
        ("school", None, 16, D("2.5000"), 1, 3, D("1.9286"), D("2.2857"), D("0.8438"), 2, 1, D("0.5000"), 3, 1, D("0.3333")),
        ("grade", "09", 12, D("1.5000"), 1, 2, D("1.5000"), D("1.7143"), D("0.8750"), 2, 1, D("0.5000"), 2, 0, D("0.0000")),
        ("grade", "K", 4, D("1.0000"), 0, 1, D("0.4286"), D("0.5714"), D("0.7500"), 0, 0, None, 1, 1, D("1.0000")),
    ]
    assert {(r["school_id"], r["end_year"]) for r in rows[1:]} == {(10, YEAR)}
    months = _rows(state_url, f"select level, month_name, membership_days, ada, adm, attendance_rate"
                              f" from {settings.STATE_SCHEMA}_reports.attendance_summary_by_month"
                              " order by level, month_seq")
    assert months == [
        dict(level="district", month_name="September", membership_days=14, ada=D("2.4000"), adm=D("2.8000"),
             attendance_rate=D("0.8571")),
        dict(level="district", month_name="October", membership_days=2, ada=D("0.7500"), adm=D("1.0000"),
             attendance_rate=D("0.7500")),
        dict(level="school", month_name="September", membership_days=14, ada=D("2.4000"), adm=D("2.8000"),
             attendance_rate=D("0.8571")),
        dict(level="school", month_name="October", membership_days=2, ada=D("0.7500"), adm=D("1.0000"),
             attendance_rate=D("0.7500")),
    ]
    rules = _rows(state_url, f"select * from {settings.STATE_SCHEMA}_reports.chronic_absence_rules")
    assert rules == [dict(rule="federal", rule_seq=1, threshold=D("0.1"), absent_days=None, min_membership_days=5),
                     dict(rule="quarter", rule_seq=2, threshold=D("0.25"), absent_days=None, min_membership_days=4)]


def test_a_bad_chronic_absence_rule_stops_plain_dbt_too(state_url):
    result = dbt_invoker.invoke(
        ["run", "--select", "chronic_absence_rules", "--vars",
         dbt_invoker.vars_argument({"chronic_absence_rules": [{"name": "Loose", "absent_days": 5}]})], state_url)
    assert not result.success
    assert ("chronic_absence_rules item 1" in (result.error or "")
            and "needs a new lower-case name" in (result.error or ""))


def test_unknown_absence_method_is_refused(state_url):
    result = dbt_invoker.invoke(
        ["run", "--select", "attendance_by_month", "--vars",
         dbt_invoker.vars_argument({"districts": ["01"], "school_year": YEAR, "absence_method": "fuzzy"})],
        state_url)
    assert not result.success
    assert "absence_method must be" in (result.error or "") + " ".join(n.message or "" for n in result.nodes)
