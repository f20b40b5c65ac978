"""`resync demo change`: what a district does in a school day, applied to its sources.

Each simulated day, per district, in one transaction:
- a withdrawal: one student's open enrollments and rosters end on the last school day;
- a roster change: one student drops a section and adds another meeting in the same period and
  terms (so they stay scheduled);
- new attendance for "today", the district's simulated today (set by `generate --as-of`, moved
  on one school day each time; none once the year is over), drawn from each student's record;
- backdated corrections two to six weeks back: parent notes turning unexcused absences into
  excused ones, tardies excused, minutes corrected (modified_date is now, the date is old), and
  absences entered late for students who had no row that day;
- deletes of a few recent absences recorded in error (the trigger writes them to delete_log);
- an excuse code's status or excuse edited in one calendar (changing the meaning of old rows);
- now and then (one day in three) a past day's flag: attendance not taken, or its bell schedule
  switched between regular and early release.
Every choice comes from a random stream seeded by (seed, district, day), over rows read in id
order: the same seed on the same state makes the same changes.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from typing import Sequence

import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import Connection

from .. import database, migrations
from ..errors import ResyncError
from ..registry import District
from . import clock, loader, site_databases
from .attendance import AttendanceRecorder, Profile
from .reference import EXCUSES_BY_CODE

CHANGE_KINDS = (
    "new_attendance_rows", "backdated_updates", "backdated_inserts", "attendance_deletes",
    "enrollments_ended", "roster_drops", "roster_adds", "excuse_code_edits", "day_flag_changes",
)

#: Excuse code edits a district makes: code, column, and the two values it moves between.
_CODE_EDITS = (
    ("MED", "excuse", ("E", "X")),
    ("REL", "excuse", ("E", "X")),
    ("FLD", "excuse", ("X", "E")),
    ("TEX", "excuse", ("E", "U")),
    ("ERU", "status", ("E", "A")),
)

# The scheduled instructional periods of every enrolled student on one day (domain section 4):
# a roster active that day, in a section of the calendar placed in a term covering the day, in a
# period whose seq matches a non-instructional-free period of the day's bell schedule.
_SCHEDULED = """
select e.person_id, e.calendar_id, p.period_id, p.period_minutes, p.seq
from {s}.enrollment e
join {s}.day d on d.calendar_id = e.calendar_id and d.date = :day and d.instruction and d.attendance
join {s}.roster r on r.person_id = e.person_id
     and :day between coalesce(r.start_date, :day) and coalesce(r.end_date, :day)
join {s}.section sec on sec.section_id = r.section_id
join {s}.course co on co.course_id = sec.course_id and co.calendar_id = e.calendar_id
join {s}.section_placement sp on sp.section_id = sec.section_id
join {s}.term t on t.term_id = sp.term_id and :day between t.start_date and t.end_date
join {s}.period placed on placed.period_id = sp.period_id
join {s}.period p on p.period_schedule_id = d.period_schedule_id and p.seq = placed.seq
     and not p.non_instructional
where :day between e.start_date and coalesce(e.end_date, :day) and not e.no_show and not e.state_exclude
group by 1, 2, 3, 4, 5
order by 1, 2, 5
"""


def apply_changes(url: str, districts: Sequence[District], *, days: int = 1, seed: int = 1) -> dict:
    """Apply `days` school days of changes to each district; returns counts per kind.

    Every district must hold the generator's excuse codes in each calendar (changes record
    attendance with them): one that does not, registered with data of its own, is refused by
    name before anything changes.
    """
    foreign = [d for d in districts if not _has_generated_codes(url, d)]
    if foreign:
        raise ResyncError(
            f"District{'s' if len(foreign) > 1 else ''} {', '.join(f'{d.code} {d.name}' for d in foreign)}"
            " holds data `resync demo generate` did not make (its calendars lack the demo excuse codes),"
            " so `resync demo change` leaves it alone; name the generated districts with -d.")
    results = []
    for district in districts:
        # The district's writes and the demo clock (state bookkeeping) commit together or not at
        # all when the district is a schema here; a site commits first, then the clock.
        with database.transaction(url) as state_conn, \
                site_databases.district_source(state_conn, district) as (conn, schema):
            migrations.ensure_tool_schema(state_conn)
            loader.ensure_generated_schema(conn, schema)
            changes = _DistrictChanges(conn, schema, district, seed, state_conn)
            for index in range(days):
                changes.one_day(index)
        results.append({"code": district.code, "name": district.name, "days": changes.days,
                        **changes.counts})
    return {
        "seed": seed,
        "days": days,
        "districts": results,
        "totals": {kind: sum(r[kind] for r in results) for kind in CHANGE_KINDS},
    }


def _has_generated_codes(url: str, district: District) -> bool:
    with database.transaction(url) as state_conn, \
            site_databases.district_source(state_conn, district) as (conn, schema):
        missing = conn.execute(sa.text(
            "select exists (select from {s}.calendar c where cardinality(cast(:codes as text[]))"
            " > (select count(distinct x.code) from {s}.attendance_excuse x"
            " where x.calendar_id = c.calendar_id and x.code = any(cast(:codes as text[]))))"
            .replace("{s}", sql.Identifier(schema).as_string(None))), {"codes": sorted(EXCUSES_BY_CODE)}).scalar()
    return not missing


def describe_changes(summary: dict) -> str:
    lines = []
    for r in summary["districts"]:
        recorded = [d for d in r["days"] if d]
        when = f"school days {', '.join(recorded)}" if recorded else "after the last school day"
        lines.append(
            f"{r['code']} {r['name']} ({when}): {r['new_attendance_rows']:,} new attendance rows, "
            f"{r['backdated_updates']:,} backdated updates, {r['backdated_inserts']:,} backdated inserts, "
            f"{r['attendance_deletes']:,} deleted, {r['enrollments_ended']:,} enrollments ended, "
            f"{r['roster_drops']:,} roster drops and {r['roster_adds']:,} adds, "
            f"{r['excuse_code_edits']:,} excuse code edits, {r['day_flag_changes']:,} day flag changes."
        )
    return "\n".join(lines)


class _DistrictChanges:
    def __init__(self, conn: Connection, schema: str, district: District, seed: int, state_conn: Connection):
        self.conn = conn
        self.state_conn = state_conn  # the demo clock lives at the state
        self.district = district
        self.seed = seed
        self.schema_name = schema
        self.schema = sql.Identifier(schema).as_string(None)
        self.counts = dict.fromkeys(CHANGE_KINDS, 0)
        self.days: list[str | None] = []

    # --- plumbing ------------------------------------------------------------------------------

    def _sql(self, text: str, **params):
        return self.conn.execute(sa.text(text.replace("{s}", self.schema)), params)

    def _excuse_ids(self) -> dict[int, dict[str, int]]:
        ids: dict[int, dict[str, int]] = defaultdict(dict)
        for calendar_id, code, excuse_id in self._sql(
                "select calendar_id, code, excuse_id from {s}.attendance_excuse order by excuse_id"):
            ids[calendar_id][code] = excuse_id
        return ids

    def _next_attendance_id(self) -> int:
        return self._sql("select coalesce(max(attendance_id), 0) + 1 from {s}.attendance").scalar()

    def _insert_attendance(self, rows: list[tuple]) -> None:
        if not rows:
            return
        cursor = self.conn.connection.driver_connection.cursor()
        columns = loader.TABLE_COLUMNS["attendance"]
        statement = sql.SQL("copy {} ({}) from stdin").format(
            sql.Identifier(self.schema_name, "attendance"),
            sql.SQL(", ").join(map(sql.Identifier, columns)))
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def _scheduled(self, day: date) -> dict[tuple[int, int], list[tuple[int, int]]]:
        """(person, calendar) -> [(period_id, minutes)] in seq order, for everyone scheduled on `day`."""
        scheduled: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        for person_id, calendar_id, period_id, minutes, _ in self._sql(_SCHEDULED, day=day):
            scheduled[(person_id, calendar_id)].append((period_id, minutes))
        return scheduled

    def _lunch_periods(self, day: date) -> dict[int, int]:
        return dict(self._sql(
            "select d.calendar_id, min(p.period_id) from {s}.day d join {s}.period p"
            " on p.period_schedule_id = d.period_schedule_id and p.non_instructional"
            " where d.date = :day group by 1", day=day).all())

    def _school_days(self, after: date, until: date) -> list[date]:
        return list(self._sql(
            "select distinct date from {s}.day where instruction and attendance"
            " and date > :after and date <= :until order by 1", after=after, until=until).scalars())

    # --- one day -------------------------------------------------------------------------------

    def one_day(self, index: int) -> None:
        # "Today" is the first school day on or after the district's simulated today; without a
        # clock (a district not generated here), the school day after the latest attendance.
        clock_day = clock.today(self.state_conn, self.district)
        if clock_day is None:
            last = self._sql("select max(date) from {s}.attendance").scalar()
            clock_day = last + timedelta(days=1) if last else date.min
        today = self._sql("select min(date) from {s}.day where instruction and attendance and date >= :c",
                          c=clock_day).scalar()
        # "Yesterday": the last school day before today, or the last of the year once it is over.
        yesterday = self._sql("select max(date) from {s}.day where instruction and attendance and date < :c",
                              c=today or clock_day).scalar()
        self.days.append(today.isoformat() if today else None)
        if today is None and yesterday is None:
            return  # a district with no school days at all
        rng = random.Random(f"{self.seed}:{self.district.code}:change:{index}:{today or yesterday}")
        if yesterday is not None:
            self._withdraw(rng, yesterday)
        if today is not None:
            self._change_roster(rng, today, yesterday)
            self._record_today(rng, today, yesterday)
            clock.set_today(self.state_conn, self.district, today + timedelta(days=1))
        if yesterday is not None:
            self._backdated_corrections(rng, yesterday)
            self._backdated_inserts(rng, yesterday)
            self._delete_errors(rng, yesterday)
            if rng.random() < 1 / 3:
                self._change_day_flag(rng, yesterday)
        self._edit_excuse_code(rng)

    def _withdraw(self, rng: random.Random, yesterday: date) -> None:
        candidates = self._sql(
            "select person_id from {s}.enrollment where service_type = 'P' and not no_show"
            " and end_date is null and start_date <= :y order by enrollment_id", y=yesterday).scalars().all()
        if not candidates:
            return
        person_id = rng.choice(candidates)
        ended = self._sql(
            "update {s}.enrollment set end_date = :y where person_id = :p and end_date is null"
            " and start_date <= :y", y=yesterday, p=person_id).rowcount
        self.counts["enrollments_ended"] += ended
        self._sql("update {s}.roster set end_date = :y where person_id = :p"
                  " and coalesce(start_date, :y) <= :y and (end_date is null or end_date > :y)",
                  y=yesterday, p=person_id)
        # Sections they were to start later are simply removed (the delete log records it).
        self._sql("delete from {s}.roster where person_id = :p and start_date > :y", y=yesterday, p=person_id)

    def _change_roster(self, rng: random.Random, today: date, yesterday: date | None) -> None:
        students = self._sql(
            "select distinct e.person_id from {s}.enrollment e where e.service_type = 'P' and not e.no_show"
            " and e.start_date <= :t and (e.end_date is null or e.end_date >= :t) order by 1",
            t=today).scalars().all()
        if not students:
            return
        person_id = rng.choice(students)
        rosters = self._sql(
            "select r.roster_id, r.section_id, r.start_date, c.calendar_id, c.course_id, c.number"
            " from {s}.roster r join {s}.section s using (section_id) join {s}.course c using (course_id)"
            " where r.person_id = :p and coalesce(r.start_date, :t) <= :t"
            " and (r.end_date is null or r.end_date >= :t) order by r.roster_id", p=person_id, t=today).all()
        rng.shuffle(rosters)
        for roster_id, section_id, start, calendar_id, course_id, number in rosters:
            # Another course's section meeting in exactly the same periods and terms.
            alternatives = self._sql("""
                with placed as (
                    select section_id, array_agg(period_id::text || ':' || term_id order by period_id, term_id) as slots
                    from {s}.section_placement group by section_id)
                select s2.section_id, right(c2.number, 2) = right(:number, 2) as same_grade
                from {s}.section s2
                join {s}.course c2 on c2.course_id = s2.course_id
                join placed p2 on p2.section_id = s2.section_id
                join placed p1 on p1.section_id = :section and p1.slots = p2.slots
                where c2.calendar_id = :cal and c2.course_id <> :course
                  and not exists (select 1 from {s}.roster r where r.person_id = :p and r.section_id = s2.section_id)
                order by 2 desc, 1""", number=number, section=section_id, cal=calendar_id,
                course=course_id, p=person_id).all()
            if not alternatives:
                continue
            preferred = [a for a in alternatives if a[1]] or alternatives
            new_section = rng.choice(preferred)[0]
            if start is not None and start >= today or yesterday is None:
                self._sql("delete from {s}.roster where roster_id = :r", r=roster_id)
            else:
                self._sql("update {s}.roster set end_date = :y where roster_id = :r", y=yesterday, r=roster_id)
            roster_id = self._sql("select coalesce(max(roster_id), 0) + 1 from {s}.roster").scalar()
            self._sql("insert into {s}.roster (roster_id, person_id, section_id, start_date, end_date)"
                      " values (:r, :p, :sec, :t, null)", r=roster_id, p=person_id, sec=new_section, t=today)
            self.counts["roster_drops"] += 1
            self.counts["roster_adds"] += 1
            return

    def _profiles(self, until: date) -> dict[int, tuple[Profile, bool]]:
        """Each student's profile as their record so far shows it, and whether absent on `until`."""
        history = self._sql("""
            with membership as (
                select e.person_id, count(distinct d.date) as days
                from {s}.enrollment e
                join {s}.day d on d.calendar_id = e.calendar_id and d.instruction and d.attendance
                     and d.date between e.start_date and least(coalesce(e.end_date, :until), :until)
                where not e.no_show and e.service_type = 'P'
                group by 1),
            marks as (
                select a.person_id,
                       count(distinct a.date) filter (where coalesce(x.status, a.status) = 'A') as absent,
                       count(distinct a.date) filter (where coalesce(x.status, a.status) = 'T') as tardy,
                       bool_or(a.date = :until and coalesce(x.status, a.status) = 'A') as absent_last
                from {s}.attendance a left join {s}.attendance_excuse x on x.excuse_id = a.excuse_id
                where a.date <= :until group by 1)
            select m.person_id, m.days, coalesce(k.absent, 0), coalesce(k.tardy, 0), coalesce(k.absent_last, false)
            from membership m left join marks k using (person_id) order by 1""", until=until)
        profiles = {}
        for person_id, days, absent, tardy, absent_last in history:
            absence = absent / days if days >= 10 else 0.04
            tardiness = tardy / days if days >= 10 else 0.01
            profiles[person_id] = (Profile(
                whole_day=0.75 * absence, partial_day=0.25 * absence, tardy=tardiness,
                skipped_period=0.002, other=0.004, chronic=absence >= 0.1), bool(absent_last))
        return profiles

    def _record_today(self, rng: random.Random, today: date, yesterday: date | None) -> None:
        scheduled = self._scheduled(today)
        profiles = self._profiles(yesterday or today)
        lunch = self._lunch_periods(today)
        recorders = {cal: AttendanceRecorder(ids) for cal, ids in self._excuse_ids().items()}
        default = (Profile(0.03, 0.01, 0.01, 0.0, 0.004, False), False)
        next_id = self._next_attendance_id()
        rows = []
        for (person_id, calendar_id), periods in sorted(scheduled.items()):
            profile, absent_yesterday = profiles.get(person_id, default)
            for period_id, day, status, excuse, excuse_id, present, comment in recorders[calendar_id].record_day(
                    rng, profile, today, periods, lunch.get(calendar_id), absent_yesterday):
                rows.append((next_id, person_id, calendar_id, period_id, day, status, excuse, excuse_id,
                             present, comment))
                next_id += 1
        self._insert_attendance(rows)
        self.counts["new_attendance_rows"] += len(rows)

    def _backdated_window(self, yesterday: date) -> tuple[date, date]:
        return yesterday - timedelta(days=42), yesterday - timedelta(days=14)

    def _corrections_wanted(self, per_students: int) -> int:
        students = self._sql("select count(distinct person_id) from {s}.enrollment").scalar()
        return max(2, round(students / per_students))

    def _backdated_corrections(self, rng: random.Random, yesterday: date) -> None:
        first, last = self._backdated_window(yesterday)
        marked = self._sql("""
            select distinct a.person_id, a.date from {s}.attendance a
            where a.date between :first and :last order by 1, 2""", first=first, last=last).all()
        if not marked:
            return
        excuse_ids = self._excuse_ids()
        for person_id, day in rng.sample(marked, min(len(marked), self._corrections_wanted(60))):
            rows = self._sql("""
                select a.attendance_id, a.calendar_id, coalesce(x.status, a.status), coalesce(x.excuse, a.excuse),
                       a.present_minutes, p.period_minutes
                from {s}.attendance a
                left join {s}.attendance_excuse x on x.excuse_id = a.excuse_id
                join {s}.period p on p.period_id = a.period_id
                where a.person_id = :p and a.date = :d order by a.attendance_id""", p=person_id, d=day).all()
            for attendance_id, calendar_id, status, excuse, present, minutes in rows:
                codes = excuse_ids[calendar_id]
                if status == "A" and excuse in (None, "U"):
                    # A parent's note came in: the absence is excused.
                    change = dict(status="A", excuse="E", excuse_id=codes.get(rng.choice(("ILL", "MED"))),
                                  present=present)
                elif status == "T":
                    change = dict(status="T", excuse="E", excuse_id=codes.get("TEX"), present=present)
                elif status == "A":
                    # The student was there for part of the period after all.
                    change = dict(status="A", excuse=excuse, excuse_id=None,
                                  present=max(1, minutes // 2) if present is None else None)
                else:
                    # Marked present or leaving early, but in fact absent without excuse.
                    change = dict(status="A", excuse="U", excuse_id=codes.get("UNX"), present=None)
                self._sql("update {s}.attendance set status = :status, excuse = :excuse, excuse_id = :excuse_id,"
                          " present_minutes = :present where attendance_id = :id", id=attendance_id, **change)
                self.counts["backdated_updates"] += 1

    def _backdated_inserts(self, rng: random.Random, yesterday: date) -> None:
        first, last = self._backdated_window(yesterday)
        days = self._school_days(first - timedelta(days=1), last)
        if not days:
            return
        day = rng.choice(days)
        scheduled = self._scheduled(day)
        marked = set(self._sql("select distinct person_id, calendar_id from {s}.attendance where date = :d",
                               d=day).all())
        unmarked = sorted(key for key in scheduled if key not in marked)
        excuse_ids = self._excuse_ids()
        next_id = self._next_attendance_id()
        rows = []
        for person_id, calendar_id in rng.sample(unmarked, min(len(unmarked), self._corrections_wanted(100))):
            code = rng.choice(("UNX", "ILL", "ABS"))
            excuse_id = excuse_ids[calendar_id][code]
            for period_id, _ in scheduled[(person_id, calendar_id)]:
                rows.append((next_id, person_id, calendar_id, period_id, day, "A", None, excuse_id, None,
                             "Entered late"))
                next_id += 1
        self._insert_attendance(rows)
        self.counts["backdated_inserts"] += len(rows)

    def _delete_errors(self, rng: random.Random, yesterday: date) -> None:
        marked = self._sql(
            "select distinct person_id, date from {s}.attendance where date between :first and :y order by 1, 2",
            first=yesterday - timedelta(days=21), y=yesterday).all()
        for person_id, day in rng.sample(marked, min(len(marked), self._corrections_wanted(150) - 1)):
            deleted = self._sql("delete from {s}.attendance where person_id = :p and date = :d",
                                p=person_id, d=day).rowcount
            self.counts["attendance_deletes"] += deleted

    def _edit_excuse_code(self, rng: random.Random) -> None:
        code, column, values = rng.choice(_CODE_EDITS)
        rows = self._sql(
            f"select excuse_id, {column} from {{s}}.attendance_excuse where code = :code order by excuse_id",
            code=code).all()
        if not rows:
            return
        excuse_id, current = rng.choice(rows)
        new_value = values[1] if current == values[0] else values[0]
        self._sql(f"update {{s}}.attendance_excuse set {column} = :v where excuse_id = :id", v=new_value, id=excuse_id)
        self.counts["excuse_code_edits"] += 1

    def _change_day_flag(self, rng: random.Random, yesterday: date) -> None:
        days = self._sql(
            "select d.day_id, d.calendar_id, d.period_schedule_id from {s}.day d"
            " where d.instruction and d.attendance and d.date between :first and :last order by d.day_id",
            first=yesterday - timedelta(days=28), last=yesterday - timedelta(days=7)).all()
        if not days:
            return
        day_id, calendar_id, schedule_id = rng.choice(days)
        if rng.random() < 0.5:
            self._sql("update {s}.day set attendance = false, comments = 'Attendance not taken: assembly'"
                      " where day_id = :id", id=day_id)
        else:
            other = self._sql(
                "select ps.period_schedule_id from {s}.period_schedule ps"
                " join {s}.period_schedule mine on mine.period_schedule_id = :current"
                " and mine.structure_id = ps.structure_id"
                " where ps.period_schedule_id <> :current order by 1 limit 1", current=schedule_id).scalar()
            if other is None:
                return
            self._sql("update {s}.day set period_schedule_id = :ps, comments = 'Bell schedule corrected'"
                      " where day_id = :id", ps=other, id=day_id)
            # The attendance taken that day moves to the same-seq periods of the corrected schedule.
            self._sql("""
                update {s}.attendance a set period_id = np.period_id
                from {s}.day d, {s}.period op, {s}.period np
                where d.day_id = :id and a.calendar_id = d.calendar_id and a.date = d.date
                  and op.period_id = a.period_id and np.period_schedule_id = :ps and np.seq = op.seq""",
                      ps=other, id=day_id)
        self.counts["day_flag_changes"] += 1
