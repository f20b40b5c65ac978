"""att_day_aggregation on the hand-made district of tests/hand_made_attendance.py, which exercises
every rule of domain.md section 4 (its docstring lays out the calendar, periods and codes).

Every expected row below is derived, in its comment, from the rules, not read back from the model.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from dbt_helpers import pull

import hand_made_attendance
from orchestrator import database, dbt_invoker

SCHOOL_YEAR = hand_made_attendance.SCHOOL_YEAR

COLUMNS = (
    "person_id", "date", "grade_level_id", "scheduled_minutes", "absent_minutes",
    "unexcused_absent_minutes", "excused_absent_minutes", "exempt_minutes", "present_minutes",
    "excuse_id", "absence_fraction_exact", "absence_fraction_approx",
)


def _row(person, day, grade, scheduled, absent, unexcused, excused, exempt, present, excuse, exact, approx):
    return (person, dt.date(2023, 9, day), grade, scheduled, absent, unexcused, excused, exempt,
            present, excuse, Decimal(exact), Decimal(approx))


EXPECTED = [
    # Student 1, grade 9 (thresholds 180/90), sections 11, 21, 31 (term 1), 41 (term 2), 51 (lunch).
    # 09-04: P1+P2+P3 = 180 scheduled (P4's section is term 2; lunch is not instructional);
    #        the lunch attendance row does not count. Nothing absent.
    _row(1, 4, 1, 180, 0, 0, 0, 0, 180, None, "0.0000", "0.0"),
    # 09-05: P1 A/U no code: 60 unexcused. P2 code EX (A/E) beats the row's P: 60 excused.
    #        P3 code T (status T, no excuse of its own so the row's U stays): tardy adds nothing.
    #        absent 120 = 60 + 60; present 180 - 120 = 60; codes among absent periods: EX once -> 1.
    #        120/180 = 0.6667; 120 < 180 but >= 90 -> 0.5.
    _row(1, 5, 1, 180, 120, 60, 60, 0, 60, 1, "0.6667", "0.5"),
    # 09-06 early release: P1 40 + P2 40 + P3 40 = 120 (the day's own periods by seq).
    #        P1 UX with 10 present minutes: 30 unexcused. The row on normal P1 (101) is not that
    #        day's period: ignored. P3 code XM (A/X): exempt 40, not absent.
    #        present 120 - 30 = 90; code UX -> 2; 30/120 = 0.25; 30 < 90 -> 0.
    _row(1, 6, 1, 120, 30, 30, 0, 40, 90, 2, "0.2500", "0.0"),
    # 09-07 has no attendance and 09-08 no instruction: no rows.
    # 09-11 term 2: P1 + P2 + P4 (Art) = 180; Science ended, its P3 row is ignored.
    #        P1 UX 60, P2 UX 60, P4 EX 60 -> absent 180, unexcused 120, excused 60; UX twice -> 2;
    #        180/180 = 1; 180 >= 180 -> 1.0.
    _row(1, 11, 1, 180, 180, 120, 60, 0, 0, 2, "1.0000", "1.0"),

    # Student 2: a secondary enrollment (id 2, grade 9) and a primary one (id 3, grade 10 with
    # overrides whole 120, half 60): the primary gives the grade although its id is higher.
    # 09-04: P1 code AN (A, no excuse) beats the row's P: 60 unexcused. P2 code AN with the row's
    #        excuse E: the code has no excuse, so the row's E stays: 60 excused. P3 code EX: 60
    #        excused. absent 180, unexcused 60, excused 120; AN twice -> 8; 1.0; 180 >= 120 -> 1.0.
    _row(2, 4, 2, 180, 180, 60, 120, 0, 0, 8, "1.0000", "1.0"),
    # 09-05: P1 UX 60 unexcused, P2 EX 60 excused: one each, tie -> lowest id 1.
    #        120/180 = 0.6667; 120 >= the grade's whole-day 120 -> 1.0 (the calendar's 180 would not).
    _row(2, 5, 2, 180, 120, 60, 60, 0, 60, 1, "0.6667", "1.0"),
    # 09-06: 120 scheduled; P2 AN (40 minutes, 25 present): 15 unexcused; 15/120 = 0.125;
    #        15 < the grade's half-day 60 -> 0.
    _row(2, 6, 2, 120, 15, 15, 0, 0, 105, 8, "0.1250", "0.0"),
    # 09-11 term 2: P1 + P2 = 120, no attendance.
    _row(2, 11, 2, 120, 0, 0, 0, 0, 120, None, "0.0000", "0.0"),

    # Student 3, grade 9, sections 11, 21, 31.
    # 09-04: P1 tardy (row T), P2 code ER (early release beats the row's A), P3 code PR (present
    #        beats A): nothing absent.
    _row(3, 4, 1, 180, 0, 0, 0, 0, 180, None, "0.0000", "0.0"),
    # 09-05: P1, P2 A/U without codes: 120 unexcused; no code -> null; 0.6667; >= 90 -> 0.5.
    _row(3, 5, 1, 180, 120, 120, 0, 0, 60, None, "0.6667", "0.5"),
    # 09-06: P1 code XP (P/X) exempt 40; P2 row A/X exempt 40; P3 A/E with 0 present: 40 excused.
    #        absent 40, exempt 80, present 120 - 40 = 80; 40/120 = 0.3333; 40 < 90 -> 0.
    _row(3, 6, 1, 120, 40, 0, 40, 80, 80, None, "0.3333", "0.0"),
    # 09-11: P1 + P2 = 120; P1 A/U with 70 present minutes in a 60-minute period: 0 absent.
    _row(3, 11, 1, 120, 0, 0, 0, 0, 120, None, "0.0000", "0.0"),

    # Students 4 (no-show), 5 (state_exclude), 6 (never rostered), 7 (excluded calendar) and 11
    # (another school year): no rows.

    # Student 8: enrolled 09-05..09-06; Math roster 09-04..09-05, English from 09-06, Science with
    # no dates (open).
    # 09-05: P1 (Math) + P3 (Science) = 120.   09-06: P2 (English) 40 + P3 40 = 80.
    _row(8, 5, 1, 120, 0, 0, 0, 0, 120, None, "0.0000", "0.0"),
    _row(8, 6, 1, 80, 0, 0, 0, 0, 80, None, "0.0000", "0.0"),

    # Student 9: Math, Homeroom (lunch period: not instructional) and calendar 3's section 61, whose
    # seq 4 must not schedule calendar 1's P3: only P1 counts.
    # 09-04: 60; the P3 row is for an unscheduled period: ignored.
    _row(9, 4, 1, 60, 0, 0, 0, 0, 60, None, "0.0000", "0.0"),
    # 09-05: P1 row status A, no excuse, no code: 60 unexcused; 60/60 = 1; 60 < 90 -> 0.
    _row(9, 5, 1, 60, 60, 60, 0, 0, 0, None, "1.0000", "0.0"),
    _row(9, 6, 1, 40, 0, 0, 0, 0, 40, None, "0.0000", "0.0"),
    _row(9, 11, 1, 60, 0, 0, 0, 0, 60, None, "0.0000", "0.0"),

    # Student 10: a no-show primary (id 20, does not qualify), N id 21 (grade 10) and S id 22
    # (grade 9): no primary qualifies, so the lowest id, 21, gives grade 10 (half-day 60).
    # 09-04: P1 A/U 60: 60/60 = 1; 60 < 120 but >= 60 -> 0.5.
    _row(10, 4, 2, 60, 60, 60, 0, 0, 0, None, "1.0000", "0.5"),
    _row(10, 5, 2, 60, 0, 0, 0, 0, 60, None, "0.0000", "0.0"),
    _row(10, 6, 2, 40, 0, 0, 0, 0, 40, None, "0.0000", "0.0"),
    _row(10, 11, 2, 60, 0, 0, 0, 0, 60, None, "0.0000", "0.0"),
]


@pytest.fixture
def hand_made_district(database_url):
    hand_made_attendance.load(database_url)
    return database_url


def _run_aggregation(url: str) -> None:
    pull(url, ["01"], SCHOOL_YEAR)
    invocation = dbt_invoker.invoke([
        "run", "--select", "att_day_aggregation",
        "--vars", dbt_invoker.vars_argument({"districts": ["01"], "school_year": SCHOOL_YEAR}),
    ], url=url)
    assert invocation.success, invocation.error


def _state_rows(url: str) -> list[tuple]:
    with database.transaction(url) as conn:
        rows = conn.execute(sa.text(
            f"select {', '.join(COLUMNS)} from state.att_day_aggregation order by person_id, date"
        )).all()
        others = conn.execute(sa.text(
            "select count(*) from state.att_day_aggregation"
            " where district_id <> '01' or calendar_id <> 1 or end_year <> 2024 or membership <> 1"
        )).scalar()
    assert others == 0
    return [tuple(r) for r in rows]


def test_every_rule_of_the_daily_aggregation(hand_made_district):
    _run_aggregation(hand_made_district)
    assert _state_rows(hand_made_district) == EXPECTED


def test_a_rerun_replaces_rather_than_adds(hand_made_district):
    _run_aggregation(hand_made_district)
    with database.transaction(hand_made_district) as conn:
        # Student 3 withdraws after 09-05: the later rows must go.
        conn.execute(sa.text("update district_01.enrollment set end_date = '2023-09-05' where enrollment_id = 4"))
    _run_aggregation(hand_made_district)
    expected = [r for r in EXPECTED if not (r[0] == 3 and r[1] > dt.date(2023, 9, 5))]
    assert _state_rows(hand_made_district) == expected
