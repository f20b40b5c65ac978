"""The demo data generator and `resync demo change`, measured on the data they write.

Realism is checked with SQL over the generated sources (tests/generated_data.py describes them),
never by reading the generator's own bookkeeping: minutes and absences are recomputed from the
source rows by the rules of domain.md sections 4 and 5.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

import generated_data as gd
from orchestrator import database, demo_data, migrations, registry, sources
from orchestrator.errors import ResyncError
from orchestrator.demo_data.school_year import current_school_year

SCHEMAS = [schema for _, _, schema in gd.DISTRICTS]

# Per student, calendar and school day: scheduled and absent minutes by the rules of domain.md
# section 4 (chosen enrollment, scheduled periods matched by seq, the code's values win, exempt
# counts as attended), with the thresholds that apply to the student.
STUDENT_DAYS = """
with att_days as (
    select d.calendar_id, d.date, d.period_schedule_id
    from {s}.day d join {s}.calendar c using (calendar_id)
    where d.instruction and d.attendance and not c.exclude and d.date < :as_of
), enrolled as (
    select distinct on (e.person_id, e.calendar_id, a.date)
           e.person_id, e.calendar_id, a.date, a.period_schedule_id, e.grade_level_id
    from {s}.enrollment e
    join att_days a on a.calendar_id = e.calendar_id
         and a.date between e.start_date and coalesce(e.end_date, a.date)
    where not e.no_show and not e.state_exclude
    order by e.person_id, e.calendar_id, a.date, (e.service_type = 'P') desc, e.enrollment_id
), scheduled as (
    select distinct en.person_id, en.calendar_id, en.date, en.grade_level_id, p.period_id, p.period_minutes
    from enrolled en
    join {s}.roster r on r.person_id = en.person_id
         and en.date between coalesce(r.start_date, en.date) and coalesce(r.end_date, en.date)
    join {s}.section sec on sec.section_id = r.section_id
    join {s}.course co on co.course_id = sec.course_id and co.calendar_id = en.calendar_id
    join {s}.section_placement sp on sp.section_id = sec.section_id
    join {s}.term t on t.term_id = sp.term_id and en.date between t.start_date and t.end_date
    join {s}.period placed on placed.period_id = sp.period_id
    join {s}.period p on p.period_schedule_id = en.period_schedule_id and p.seq = placed.seq
         and not p.non_instructional
), marked as (
    select s.*, coalesce(x.status, a.status) as status, coalesce(x.excuse, a.excuse) as excuse,
           case when coalesce(x.status, a.status) = 'A' and coalesce(x.excuse, a.excuse, 'U') <> 'X'
                then greatest(s.period_minutes - coalesce(a.present_minutes, 0), 0) else 0 end as absent
    from scheduled s
    left join {s}.attendance a on a.person_id = s.person_id and a.period_id = s.period_id and a.date = s.date
    left join {s}.attendance_excuse x on x.excuse_id = a.excuse_id
), minutes as (
    select person_id, calendar_id, date, grade_level_id,
           sum(period_minutes) as scheduled,
           sum(absent) as absent,
           sum(absent) filter (where coalesce(excuse, 'U') = 'U') as unexcused,
           sum(absent) filter (where excuse = 'E') as excused,
           sum(period_minutes) filter (where excuse = 'X') as exempt,
           count(*) filter (where status = 'T') as tardies,
           count(*) filter (where status = 'A' and excuse is null) as no_excuse
    from marked group by 1, 2, 3, 4
)
select m.person_id, m.calendar_id, m.date, m.scheduled, m.absent, m.unexcused, m.excused, m.exempt,
       m.tardies, m.no_excuse, c.school_id,
       case when m.absent >= coalesce(g.whole_day_absence_minutes, c.whole_day_absence_minutes) then 1.0
            when m.absent >= coalesce(g.half_day_absence_minutes, c.half_day_absence_minutes) then 0.5
            else 0 end as absent_days
from minutes m
join {s}.calendar c on c.calendar_id = m.calendar_id
join {s}.structure_grade_level g on g.grade_level_id = m.grade_level_id
"""

# Enrolled (not no-show, not excluded) on an instructional day but scheduled in no instructional
# period of that day's bell schedule.
UNSCHEDULED = """
select count(*) filter (where not exists (
           select 1
           from {s}.roster r
           join {s}.section sec on sec.section_id = r.section_id
           join {s}.course co on co.course_id = sec.course_id and co.calendar_id = e.calendar_id
           join {s}.section_placement sp on sp.section_id = sec.section_id
           join {s}.term t on t.term_id = sp.term_id and d.date between t.start_date and t.end_date
           join {s}.period placed on placed.period_id = sp.period_id
           join {s}.period p on p.period_schedule_id = d.period_schedule_id and p.seq = placed.seq
                and not p.non_instructional
           where r.person_id = e.person_id
             and d.date between coalesce(r.start_date, d.date) and coalesce(r.end_date, d.date))),
       count(*)
from {s}.enrollment e
join {s}.day d on d.calendar_id = e.calendar_id and d.instruction
     and d.date between e.start_date and coalesce(e.end_date, d.date)
where not e.no_show and not e.state_exclude
"""


def _query(url: str, text: str, **params) -> list[tuple]:
    with database.transaction(url) as conn:
        # Joins run in the order written: enrolled days, then their rosters, sections and periods.
        # The planner underestimates the enrollment x day range join by an order of magnitude and
        # would otherwise pick nested loops that take a minute instead of a second.
        conn.execute(sa.text("set local join_collapse_limit = 1"))
        return [tuple(r) for r in conn.execute(sa.text(text), params)]


def _scalar(url: str, text: str, **params):
    return _query(url, text, **params)[0][0]


def _over_districts(url: str, text: str, **params) -> list[tuple]:
    """The rows of `text` (with {s} for the schema) in every generated district."""
    return [row for schema in SCHEMAS for row in _query(url, text.replace("{s}", schema), **params)]


def _total(url: str, text: str, **params) -> int:
    return sum(row[0] or 0 for row in _over_districts(url, text, **params))


def _checksums(url: str, schema: str) -> dict[str, str]:
    """One digest per source table and the delete log, over every column but the timestamps."""
    digests = {}
    for table in (*sources.SOURCE_TABLES, "delete_log"):
        digests[table] = _scalar(url, f"""
            select md5(coalesce(string_agg(r, E'\\n' order by r), ''))
            from (select (to_jsonb(t) - 'modified_date' - 'deleted_at')::text as r from {schema}.{table} t) x""")
    return digests


def _register(url: str, code: str, name: str):
    with database.transaction(url) as conn:
        migrations.ensure_tool_schema(conn)
        return registry.add(conn, code, name)


def _districts(url: str):
    with database.transaction(url) as conn:
        return registry.list_all(conn)


@pytest.fixture(scope="module")
def generated(generated_template):
    """One read-only copy of the generated districts for the realism checks of this module."""
    url = generated_template.clone()
    yield url
    generated_template.drop(url)


@pytest.fixture(scope="module")
def student_days(generated):
    columns = ("person_id", "calendar_id", "date", "scheduled", "absent", "unexcused", "excused",
               "exempt", "tardies", "no_excuse", "school_id", "absent_days")
    return [dict(zip(columns, row)) for row in _over_districts(generated, STUDENT_DAYS, as_of=gd.AS_OF)]


# --- school year and determinism -------------------------------------------------------------

def test_current_school_year_starts_on_july_first():
    assert current_school_year(date(2026, 11, 28)) == 2027
    assert current_school_year(date(2026, 7, 1)) == 2027
    assert current_school_year(date(2026, 6, 30)) == 2026


def test_same_seed_same_rows_another_seed_other_rows(generated_url, database_url):
    abbott = _register(database_url, "01", "Abbott")
    options = dict(schools=gd.SCHOOLS, students=gd.STUDENTS, school_year=gd.SCHOOL_YEAR, as_of=gd.AS_OF)
    reference = _checksums(generated_url, "district_01")

    demo_data.generate(database_url, [abbott], seed=gd.SEED, **options)
    assert _checksums(database_url, "district_01") == reference

    # Generating again replaces the district's rows: another seed, other people and attendance.
    demo_data.generate(database_url, [abbott], seed=gd.SEED + 1, **options)
    other = _checksums(database_url, "district_01")
    for table in ("person", "enrollment", "roster", "attendance", "behavior_event"):
        assert other[table] != reference[table], table

    # And back: a rerun is idempotent, the delete log starts empty again.
    demo_data.apply_changes(database_url, [abbott], seed=3)
    assert _scalar(database_url, "select count(*) from district_01.delete_log") > 0
    demo_data.generate(database_url, [abbott], seed=gd.SEED, **options)
    assert _checksums(database_url, "district_01") == reference
    assert _scalar(database_url, "select count(*) from district_01.delete_log") == 0


def test_a_failed_generation_leaves_the_district_as_it_was(generated_url, monkeypatch):
    from orchestrator.demo_data.district_year import DistrictYear

    abbott = _districts(generated_url)[0]
    before = _checksums(generated_url, abbott.schema_name)
    rows = DistrictYear.attendance_rows

    def failing_midway(self):
        for count, row in enumerate(rows(self)):
            if count == 100:
                raise RuntimeError("the generator failed half-way")
            yield row

    monkeypatch.setattr(DistrictYear, "attendance_rows", failing_midway)
    with pytest.raises(RuntimeError):
        demo_data.generate(generated_url, [abbott], schools=1, students=10, school_year=2025, seed=9)
    assert _checksums(generated_url, abbott.schema_name) == before


def test_a_schema_this_tool_did_not_create_is_not_overwritten(database_url):
    with database.transaction(database_url) as conn:
        migrations.ensure_tool_schema(conn)
        sources.create_source_schema(conn, "replica")
        conn.execute(sa.text("drop table replica.delete_log"))
        replica = registry.add(conn, "05", "Replica", schema="replica")
    with pytest.raises(ResyncError, match="not a source schema created by"):
        demo_data.generate(database_url, [replica], students=5)


def test_the_generated_districts_match_their_documented_constants(generated):
    summary_students = _total(generated, "select count(distinct person_id) from {s}.enrollment")
    assert summary_students == gd.STUDENTS * len(SCHEMAS)
    assert _scalar(generated, "select max(date) from district_01.attendance") == gd.ATTENDANCE_THROUGH
    assert _scalar(generated, "select min(start_date) from district_02.enrollment") == gd.FIRST_SCHOOL_DAY


# --- calendars and schedules -----------------------------------------------------------------

def test_calendars_have_about_180_school_days_from_august_to_may(generated):
    calendars = _over_districts(generated, """
        select c.calendar_id, c.start_date, c.end_date, c.end_year,
               count(*) filter (where d.instruction) as school_days,
               count(*) filter (where d.instruction and extract(isodow from d.date) > 5) as weekend_school_days,
               count(*) filter (where not d.instruction and extract(isodow from d.date) <= 5) as weekdays_off,
               count(*) filter (where d.instruction and not d.attendance) as no_attendance_days,
               count(*) as days, c.end_date - c.start_date + 1 as span,
               min(d.date) filter (where d.instruction) as first_day,
               count(*) filter (where not d.instruction and d.comments ilike '%break%') as break_days,
               count(*) filter (where not d.instruction and d.comments ilike any (array['%teacher%', '%development%']))
        from {s}.calendar c join {s}.day d using (calendar_id) group by c.calendar_id""")
    assert len(calendars) == gd.SCHOOLS * len(SCHEMAS)
    for (_, start, end, end_year, school_days, weekend, weekdays_off, no_attendance, days, span, first_day,
         break_days, staff_days) in calendars:
        assert end_year == gd.SCHOOL_YEAR
        assert 175 <= school_days <= 182
        assert start.month == 8 and end.month == 5 and first_day.month == 8
        assert weekend == 0
        assert days == span  # a day row for every date, weekends included
        assert weekdays_off >= 20 and break_days >= 15  # holidays, Thanksgiving, winter and spring breaks
        assert staff_days >= 3  # teacher work days and professional development: no attendance
        assert no_attendance >= 1  # a school day on which attendance is not taken


def test_bell_schedules_have_6_to_8_periods_and_an_early_release_twin(generated):
    schedules = _over_districts(generated, """
        select ps.structure_id, ps.name, count(*), count(*) filter (where p.non_instructional),
               array_agg(p.seq order by p.seq), sum(p.period_minutes) filter (where not p.non_instructional)
        from {s}.period_schedule ps join {s}.period p using (period_schedule_id)
        group by ps.period_schedule_id order by ps.structure_id, ps.name desc""")
    assert len(schedules) == 2 * gd.SCHOOLS * len(SCHEMAS)
    for _, _, periods, non_instructional, _, _ in schedules:
        assert 6 <= periods <= 8
        assert non_instructional == 1
    # Per structure, in name order descending: Regular, then Early release.
    for regular, early in zip(schedules[::2], schedules[1::2]):
        assert (regular[1], early[1]) == ("Regular", "Early release")
        assert regular[4] == early[4]  # same seq numbers, so a student's sections match either
        assert early[5] < regular[5]
        assert 330 <= regular[5] <= 380
    early_days = _over_districts(generated, """
        select d.calendar_id, count(*) from {s}.day d join {s}.period_schedule ps using (period_schedule_id)
        where ps.name = 'Early release' and d.instruction group by 1""")
    assert len(early_days) == gd.SCHOOLS * len(SCHEMAS)
    assert all(count >= 5 for _, count in early_days)


def test_two_terms_and_school_months_tile_the_calendar(generated):
    rows = _over_districts(generated, """
        select c.calendar_id, c.start_date, c.end_date,
               (select array_agg(array[t.start_date, t.end_date] order by t.seq)
                from {s}.term t join {s}.term_schedule ts using (term_schedule_id)
                join {s}.schedule_structure st using (structure_id) where st.calendar_id = c.calendar_id),
               (select array_agg(array[m.start_date, m.end_date] order by m.seq)
                from {s}.school_month m where m.calendar_id = c.calendar_id)
        from {s}.calendar c""")
    for _, start, end, terms, months in rows:
        assert len(terms) == 2
        for spans in (terms, months):
            assert spans[0][0] == start and spans[-1][1] == end
            assert all(a[1] + timedelta(days=1) == b[0] for a, b in zip(spans, spans[1:]))
        assert len(months) == 10  # August to May
        assert terms[0][1].month == 12  # the first term ends before winter break


def test_grade_levels_some_with_minute_overrides(generated):
    rows = _over_districts(generated, """
        select state_grade, standard_day_minutes, whole_day_absence_minutes, half_day_absence_minutes
        from {s}.structure_grade_level""")
    assert {r[0] for r in rows} == {"KG", *(f"{g:02d}" for g in range(1, 13))}
    overridden = [r for r in rows if any(v is not None for v in r[1:])]
    assert overridden and len(overridden) < len(rows) / 3


def test_excuse_codes_per_calendar_cover_every_status_and_excuse(generated):
    rows = _over_districts(generated, """
        select calendar_id, array_agg(distinct status), array_agg(distinct excuse) filter (where excuse is not null),
               count(*) filter (where state_code is null)
        from {s}.attendance_excuse group by calendar_id""")
    assert len(rows) == gd.SCHOOLS * len(SCHEMAS)
    for _, statuses, excuses, unmapped in rows:
        assert set(statuses) == {"A", "T", "E", "P"}
        assert set(excuses) == {"E", "U", "X"}
        assert unmapped >= 1


# --- students, enrollments and schedules -------------------------------------------------------

def test_enrollments_have_entries_withdrawals_no_shows_and_secondary_ones(generated):
    first_day = gd.FIRST_SCHOOL_DAY
    counts = _over_districts(generated, """
        select count(*) filter (where start_date > :first and service_type = 'P'),
               count(*) filter (where end_date is not null and not no_show),
               count(*) filter (where no_show),
               count(*) filter (where service_type = 'S'),
               count(distinct person_id) filter (where service_type = 'S'),
               count(*) filter (where end_date < start_date)
        from {s}.enrollment""", first=first_day)
    entries, withdrawals, no_shows, secondary, secondary_students, backwards = map(sum, zip(*counts))
    assert entries >= 3 and withdrawals >= 3 and no_shows >= 1 and secondary >= 1
    assert backwards == 0
    # A secondary enrollment sits beside a primary one elsewhere.
    assert _total(generated, """
        select count(*) from {s}.enrollment s join {s}.enrollment p
            on p.person_id = s.person_id and p.service_type = 'P' and p.calendar_id <> s.calendar_id
        where s.service_type = 'S'""") == secondary_students


def test_every_enrolled_student_is_scheduled_on_every_school_day(generated):
    missing, checked = map(sum, zip(*_over_districts(generated, UNSCHEDULED)))
    assert checked > gd.STUDENTS * len(SCHEMAS) * 100
    assert missing == 0


# --- attendance --------------------------------------------------------------------------------

def test_attendance_exists_only_before_as_of_and_mostly_uses_codes(generated):
    rows = _over_districts(generated, """
        select count(*), count(excuse_id), count(*) filter (where excuse_id is null and status = 'A' and excuse is null),
               max(date), count(*) filter (where present_minutes is not null)
        from {s}.attendance""")
    total, coded, raw_no_excuse, last, partial_minutes = (sum(r[0] for r in rows), sum(r[1] for r in rows),
                                                          sum(r[2] for r in rows), max(r[3] for r in rows),
                                                          sum(r[4] for r in rows))
    assert last == gd.ATTENDANCE_THROUGH
    assert 0.7 < coded / total < 0.97  # mostly per-calendar codes, some raw status/excuse
    assert raw_no_excuse > 0 and partial_minutes > 0


def test_attendance_rows_reference_scheduled_periods_but_a_few_strays(generated):
    rows = _over_districts(generated, STUDENT_DAYS.split("), marked as")[0] + """)
        select count(*) filter (where s.period_id is null), count(*),
               count(*) filter (where s.period_id is null and p.non_instructional)
        from {s}.attendance a
        join {s}.period p on p.period_id = a.period_id
        left join scheduled s on s.person_id = a.person_id and s.period_id = a.period_id and s.date = a.date""",
                          as_of=gd.AS_OF)
    strays, total, lunch = map(sum, zip(*rows))
    assert 0 < strays < 0.05 * total
    assert lunch > 0  # absences marked in the lunch period too
    # On early-release days rows reference the early-release periods (same seq, shorter).
    assert _total(generated, """
        select count(*) from {s}.attendance a join {s}.period p using (period_id)
        join {s}.period_schedule ps using (period_schedule_id) where ps.name = 'Early release'""") > 0


def test_attendance_has_every_kind_of_absence(student_days):
    whole = [d for d in student_days if d["absent"] and d["absent"] == d["scheduled"]]
    partial = [d for d in student_days if 0 < d["absent"] < d["scheduled"]]
    assert whole and partial
    assert sum(1 for d in student_days if d["tardies"]) > 0
    assert sum(1 for d in student_days if d["excused"]) > 0
    assert sum(1 for d in student_days if d["unexcused"]) > 0
    assert sum(1 for d in student_days if d["exempt"]) > 0
    assert sum(1 for d in student_days if d["no_excuse"]) > 0
    assert sum(1 for d in student_days if d["absent_days"] == 0.5) > 0


def test_most_students_are_mostly_present_and_about_one_in_six_chronically_absent(student_days):
    # Domain section 5: absent on 10% or more of membership days, among students with at least
    # 10 membership days, per school of enrollment, with the approximate (whole/half day) method.
    totals: dict[tuple, list] = {}
    for day in student_days:
        entry = totals.setdefault((day["person_id"], day["school_id"]), [0, 0])
        entry[0] += 1
        entry[1] += float(day["absent_days"])
    rates = sorted(absent / days for days, absent in totals.values() if days >= 10)
    chronic = sum(1 for r in rates if r >= 0.10) / len(rates)
    assert 0.10 <= chronic <= 0.25
    assert rates[len(rates) // 2] < 0.05  # the median student misses under one day in twenty


def test_behavior_and_program_records(generated):
    assert _total(generated, "select count(*) from {s}.behavior_event") > 10
    roles = {r[0] for r in _over_districts(generated, "select distinct role from {s}.behavior_role")}
    assert {"Offender", "Victim"} <= roles
    assert _total(generated, """
        select count(*) from {s}.behavior_resolution r join {s}.behavior_role o using (role_id)
        where o.role = 'Offender'""") > 0
    # An out-of-school suspension keeps the student home: OSS absences on its days.
    assert _total(generated, """
        select count(*) from {s}.behavior_resolution r
        join {s}.behavior_resolution_type t using (resolution_type_id)
        join {s}.behavior_role o using (role_id)
        join {s}.attendance a on a.person_id = o.person_id and a.date between r.start_date and r.end_date
        join {s}.attendance_excuse x on x.excuse_id = a.excuse_id and x.code = 'OSS'
        where t.code = 'OSS'""") > 0
    for table in ("at_risk", "adult_ed", "alpss"):
        assert _total(generated, f"select count(*) from {{s}}.{table}") > 0, table
    # Adult learners are not K-12 students.
    assert _total(generated, """
        select count(*) from {s}.adult_ed a join {s}.enrollment e using (person_id)""") == 0


# --- demo change ---------------------------------------------------------------------------------

def test_change_applies_each_kind_the_aggregation_must_see(generated_url):
    started = _scalar(generated_url, "select clock_timestamp()")
    summary = demo_data.apply_changes(generated_url, _districts(generated_url), days=3, seed=5)
    totals = summary["totals"]
    for kind in demo_data.CHANGE_KINDS:
        assert totals[kind] > 0, kind
    # Monday, Tuesday, then Thursday: on Wednesday 2024-04-17 attendance is not taken.
    school_days = [gd.ATTENDANCE_THROUGH + timedelta(days=n) for n in (3, 4, 6)]
    assert gd.NO_ATTENDANCE_DAY == school_days[1] + timedelta(days=1)
    assert all(r["days"] == [d.isoformat() for d in school_days] for r in summary["districts"])

    changed = "modified_date >= :t"
    # New rows on the new days (a few may have been deleted as errors the next day).
    new_rows = _total(generated_url, f"select count(*) from {{s}}.attendance where date > :d and {changed}",
                      d=gd.ATTENDANCE_THROUGH, t=started)
    assert 0.9 * totals["new_attendance_rows"] <= new_rows <= totals["new_attendance_rows"]
    assert _total(generated_url, "select count(*) from {s}.attendance where date > :d",
                  d=gd.ATTENDANCE_THROUGH) == new_rows
    # Backdated: rows weeks old with a new modified_date.
    backdated = _over_districts(generated_url, f"""
        select count(*), min(date) from {{s}}.attendance where date <= :d and {changed}""",
                                d=gd.ATTENDANCE_THROUGH - timedelta(days=14), t=started)
    assert sum(count for count, _ in backdated) > 0
    assert min(first for _, first in backdated) >= gd.ATTENDANCE_THROUGH - timedelta(days=43)
    assert _total(generated_url, "select count(*) from {s}.delete_log where table_name = 'attendance'") \
        == totals["attendance_deletes"]
    assert _total(generated_url, f"select count(*) from {{s}}.enrollment where end_date is not null and {changed}",
                  t=started) == totals["enrollments_ended"]
    assert _total(generated_url, f"select count(*) from {{s}}.roster where start_date > :d and {changed}",
                  d=gd.ATTENDANCE_THROUGH, t=started) == totals["roster_adds"]
    assert 0 < _total(generated_url, f"select count(*) from {{s}}.attendance_excuse where {changed}",
                      t=started) <= totals["excuse_code_edits"]
    assert 0 < _total(generated_url, f"select count(*) from {{s}}.day where {changed}", t=started) \
        <= totals["day_flag_changes"]
    # Withdrawals and roster changes keep everyone enrolled scheduled.
    assert sum(r[0] for r in _over_districts(generated_url, UNSCHEDULED)) == 0


def test_change_is_deterministic_given_seed_and_state(generated_template):
    copies = [generated_template.clone(), generated_template.clone()]
    try:
        before = _checksums(copies[0], "district_01")
        for url in copies:
            demo_data.apply_changes(url, _districts(url)[:1], days=2, seed=11)
        first, second = (_checksums(url, "district_01") for url in copies)
        assert first == second
        for table in ("attendance", "enrollment", "roster", "attendance_excuse", "delete_log"):
            assert first[table] != before[table], table
    finally:
        for url in copies:
            generated_template.drop(url)


def test_change_after_the_last_school_day_still_corrects_the_past(database_url):
    abbott = _register(database_url, "01", "Abbott")
    demo_data.generate(database_url, [abbott], schools=1, students=30, school_year=2024, seed=2,
                       as_of=date(2024, 7, 1))
    summary = demo_data.apply_changes(database_url, [abbott], seed=2)
    result = summary["districts"][0]
    assert result["days"] == [None] and result["new_attendance_rows"] == 0
    assert result["backdated_updates"] > 0 and result["attendance_deletes"] > 0


# --- the commands --------------------------------------------------------------------------------

def test_generate_and_change_commands(database_url, cli):
    assert cli("district", "add", "01", "--name", "Abbott").exit_code == 0
    assert cli("district", "add", "02", "--name", "Campus").exit_code == 0
    result = cli("demo", "generate", "--districts", "1", "--schools", "1", "--students", "25",
                 "--as-of", "2024-03-01", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["school_year"] == 2024  # the year --as-of falls in
    assert [d["code"] for d in summary["districts"]] == ["01"]
    assert summary["districts"][0]["attendance_through"] == "2024-02-29"
    assert summary["totals"]["attendance_rows"] == _scalar(database_url, "select count(*) from district_01.attendance")
    assert _scalar(database_url, "select count(*) from district_02.attendance") == 0

    text = cli("demo", "generate", "-d", "02", "--schools", "1", "--students", "10", "--school-year", "2024",
               "--as-of", "2024-03-01")
    assert text.exit_code == 0, text.output
    assert "02 Campus" in text.output and "2023-2024" in text.output

    changed = cli("demo", "change", "--days", "2", "--json")
    assert changed.exit_code == 0, changed.output
    days = {d["code"]: d["days"] for d in json.loads(changed.output)["districts"]}
    # Each district's today starts at --as-of and moves on one school day per day of changes.
    assert days == {"01": ["2024-03-01", "2024-03-04"], "02": ["2024-03-01", "2024-03-04"]}
    text = cli("demo", "change", "-d", "01")
    assert text.exit_code == 0
    assert text.output.startswith("01 Abbott (school days 2024-03-05): ")


def test_setup_registers_the_missing_demo_districts_and_generates_them(database_url, demo_sites, cli):
    assert cli("district", "add", "01", "--name", "Abbott").exit_code == 0  # a schema district, kept
    result = cli("demo", "setup", "--students", "15", "--school-year", "2024", "--as-of", "2024-02-01")
    assert result.exit_code == 0, result.output
    listed = json.loads(cli("district", "list", "--json").output)
    assert [(d["code"], d["name"]) for d in listed] == [(c, n) for c, n in demo_data.DEMO_DISTRICTS]
    assert [d["schema_name"] for d in listed] == ["district_01", None, None]
    assert all(d["site_url"].startswith("postgresql://resync_reader@") for d in listed[1:])
    assert "03 Cedar Valley" in result.output
    assert _scalar(database_url, "select count(distinct person_id) from district_01.enrollment") == 15
    for code in ("02", "03"):  # at the district's own database, on the site server
        assert _scalar(demo_sites[code], "select count(distinct person_id) from enrollment") == 15


@pytest.mark.parametrize("args, message", [
    (("demo", "generate", "-d", "99"), "District 99 is not registered"),
    (("demo", "change", "-d", "99"), "District 99 is not registered"),
    (("demo", "generate", "--districts", "3"), "more districts than the 1 registered"),
    (("demo", "generate", "-d", "01", "--districts", "1"), "either -d/--district or --districts"),
    (("demo", "generate", "-d", "0-1"), "is not valid"),
])
def test_bad_input_is_one_sentence_and_exit_1(database_url, cli, args, message):
    assert cli("district", "add", "01", "--name", "Abbott").exit_code == 0
    result = cli(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_no_registered_district_is_explained(database_url, cli):
    result = cli("demo", "change")
    assert result.exit_code == 1 and "No districts are registered" in result.output


def test_change_refuses_a_district_the_generator_did_not_make(generated_url, cli):
    import hand_made_sources

    # District 05 holds data of its own, with excuse codes the generator does not know.
    with database.transaction(generated_url) as conn:
        hand_made_sources.fill(conn, registry.add(conn, "05", "Own data").schema_name, "05", gd.SCHOOL_YEAR)
    before = _checksums(generated_url, "district_01")
    for args in (("demo", "change"), ("demo", "change", "-d", "01", "-d", "05")):
        result = cli(*args)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert result.output.strip() == (
            "Error: District 05 Own data holds data `resync demo generate` did not make (its calendars lack"
            " the demo excuse codes), so `resync demo change` leaves it alone; name the generated districts"
            " with -d.")
    assert _checksums(generated_url, "district_01") == before  # refused before anything changed
    assert cli("demo", "change", "-d", "01").exit_code == 0


def test_generate_and_setup_make_the_same_number_of_students_by_default(cli):
    from orchestrator.cli import demo

    defaults = {command.name: {p.name: p.default for p in command.params}
                for command in (demo.generate, demo.setup)}
    assert defaults["generate"]["students"] == defaults["setup"]["students"] == demo_data.DEMO_STUDENTS
    assert defaults["generate"]["schools"] == demo_data.DEMO_SCHOOLS
    help_texts = [cli("demo", name, "--help").output for name in ("generate", "setup")]
    assert all(f"[default: {demo_data.DEMO_STUDENTS};" in text for text in help_texts)
