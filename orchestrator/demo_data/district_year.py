"""One district's school year, built in memory: the rows of every source table.

Everything is drawn from `random.Random` streams seeded by (seed, district code, purpose), so the
same seed gives the same rows, and adding draws to one purpose does not shift the others. Ids are
integers counted from 1 per table, unique within the district's schema.

The shape, in the order it is built:
- schools by level (elementary, middle, high; one K-12 school, or elementary + secondary for two);
- per school a calendar from the district's year plan, one primary schedule structure, two terms,
  a regular and an early-release bell schedule (6 to 8 periods, one of them a non-instructional
  lunch; the early-release periods are shorter and keep the same seq), grade levels (KG and 12
  with minute overrides), school months, and the district's excuse codes;
- students spread over the grades, each with an attendance profile; enrollments with mid-year
  entries, withdrawals (some transferring to another school), no-shows, secondary enrollments of
  top-grade students taking one class at the next school, and a few special (N) enrollments the
  state excludes;
- per grade, groups of about 26 students sharing a timetable: one course section per subject in
  every instructional period, for both terms (one subject is two one-term courses), so every
  enrolled student is scheduled in every instructional period of every school day; a few
  students change group at the semester;
- behavior events with offenders, victims, witnesses and resolutions (an out-of-school suspension
  keeps the student home, which the attendance shows); AtRisk, ALPSS and AdultEd records.
Attendance is not kept in memory: `attendance_rows()` streams it (millions of rows for 50,000
students).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterator

from ..registry import District
from . import reference as ref
from .attendance import AttendanceRecorder, Profile
from .school_year import YearPlan, plan_year

#: Minutes of each instructional period, by the number of instructional periods in a day.
_PERIOD_MINUTES = {5: 72, 6: 60, 7: 51}
_LUNCH_MINUTES = (30, 25)  # regular, early release
_EARLY_RELEASE_SHARE = 0.6  # early-release periods are this share of a regular period
_GROUP_SIZE = 26


@dataclass
class SchoolCalendar:
    """A school and its calendar, with the ids the later steps refer to."""

    school_id: int
    calendar_id: int
    level: str
    grades: tuple[str, ...]
    structure_id: int
    terms: list[tuple[int, date, date]] = field(default_factory=list)  # (term_id, start, end)
    regular: dict[int, tuple[int, int]] = field(default_factory=dict)  # seq -> (period_id, minutes)
    early: dict[int, tuple[int, int]] = field(default_factory=dict)
    lunch_ids: tuple[int, int] = (0, 0)  # regular, early release
    grade_level_ids: dict[str, int] = field(default_factory=dict)
    excuse_ids: dict[str, int] = field(default_factory=dict)

    @property
    def instructional_seqs(self) -> tuple[int, ...]:
        return tuple(sorted(self.regular))

    def subjects(self) -> tuple[ref.Subject, ...]:
        table = ref.ELEMENTARY_SUBJECTS if self.level == "elementary" else ref.SECONDARY_SUBJECTS
        return table[:len(self.regular)]

    def subject_seq(self, subject_index: int, group: int) -> int:
        """The period seq in which `group` takes subject `subject_index` (a rotating timetable)."""
        seqs = self.instructional_seqs
        return seqs[(subject_index + group) % len(seqs)]


@dataclass
class Stint:
    """An enrollment the student attends (primary or secondary): what attendance is taken on."""

    enrollment_id: int
    person_id: int
    calendar: SchoolCalendar
    grade: str
    service_type: str
    start: date
    end: date | None  # inclusive; None while open
    profile: Profile
    group: int = 0
    group_after_semester: int | None = None  # a schedule change at the semester
    omitted_seq: int | None = None  # the home period a secondary enrollment's class replaces
    seqs: tuple[int, ...] = ()  # instructional periods scheduled, once rosters are built


@dataclass
class DistrictYear:
    """The built year: rows per table (attendance streamed separately) and a few counts."""

    district: District
    plan: YearPlan
    as_of: date
    tables: dict[str, list[tuple]]
    stints: list[Stint]
    suspended: dict[tuple[int, int], frozenset[date]]
    seed: int

    def attendance_rows(self) -> Iterator[tuple]:
        """Every attendance row, in enrollment then date order, with ids counted from 1."""
        rng = random.Random(f"{self.seed}:{self.district.code}:attendance")
        recorders = {}
        days = [d for d in self.plan.attendance_days if d.date < self.as_of]
        dates = [d.date for d in days]
        periods_cache: dict[tuple, tuple] = {}
        attendance_id = itertools.count(1)
        for stint in self.stints:
            cal = stint.calendar
            recorder = recorders.get(cal.calendar_id)
            if recorder is None:
                recorder = recorders[cal.calendar_id] = AttendanceRecorder(cal.excuse_ids)
            key = (cal.calendar_id, stint.seqs)
            if key not in periods_cache:
                periods_cache[key] = (
                    tuple(cal.regular[s] for s in stint.seqs),
                    tuple(cal.early[s] for s in stint.seqs),
                )
            regular, early = periods_cache[key]
            lo = bisect.bisect_left(dates, stint.start)
            hi = len(dates) if stint.end is None else bisect.bisect_right(dates, stint.end)
            stint_days = (
                (d.date, early if d.early_release else regular,
                 cal.lunch_ids[1] if d.early_release else cal.lunch_ids[0])
                for d in days[lo:hi]
            )
            suspended = self.suspended.get((stint.person_id, cal.calendar_id), frozenset())
            for period_id, day, status, excuse, excuse_id, present, comment in recorder.record(
                rng, stint.profile, stint_days, suspended
            ):
                yield (next(attendance_id), stint.person_id, cal.calendar_id, period_id, day,
                       status, excuse, excuse_id, present, comment)

    def student_days(self) -> int:
        """Membership days so far: one per attended enrollment and school day taking attendance."""
        dates = [d.date for d in self.plan.attendance_days if d.date < self.as_of]
        total = 0
        for stint in self.stints:
            lo = bisect.bisect_left(dates, stint.start)
            hi = len(dates) if stint.end is None else bisect.bisect_right(dates, stint.end)
            total += max(0, hi - lo)
        return total


def school_layout(count: int) -> list[tuple[str, tuple[str, ...]]]:
    """Levels and grades of `count` schools: about one high school to four elementary schools."""
    grades = ref.GRADES
    if count == 1:
        return [("k12", grades)]
    if count == 2:
        return [("elementary", grades[:6]), ("secondary", grades[6:])]
    high = max(1, round(count / 6))
    middle = max(1, round(count / 4))
    elementary = count - high - middle
    return ([("high", grades[9:])] * high + [("middle", grades[6:9])] * middle
            + [("elementary", grades[:6])] * elementary)


class _Ids:
    """Id counters per table: ids are unique within the district's schema."""

    def __init__(self):
        self._counters: dict[str, itertools.count] = {}

    def next(self, table: str) -> int:
        counter = self._counters.get(table)
        if counter is None:
            counter = self._counters[table] = itertools.count(1)
        return next(counter)


class DistrictYearBuilder:
    def __init__(self, district: District, *, schools: int, students: int, end_year: int,
                 as_of: date, seed: int):
        self.district = district
        self.school_count = schools
        self.student_count = students
        self.end_year = end_year
        self.as_of = as_of
        self.seed = seed
        self.ids = _Ids()
        self.tables: dict[str, list[tuple]] = {}
        self.plan = plan_year(end_year, self._rng("calendar"))
        self.calendars: list[SchoolCalendar] = []
        self.stints: list[Stint] = []
        self.suspended: dict[tuple[int, int], set[date]] = {}
        school_dates = self.plan.instructional_dates
        self.first_day = school_dates[0]
        #: School days already lived through: entries, withdrawals and events happen on these.
        self.known_days = [d for d in school_dates if d < as_of]
        self.known_attendance_days = [d.date for d in self.plan.attendance_days if d.date < as_of]

    # --- helpers -----------------------------------------------------------------------------

    def _rng(self, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}:{self.district.code}:{purpose}")

    def _add(self, table: str, row: tuple) -> None:
        self.tables.setdefault(table, []).append(row)

    def _new_person(self, rng: random.Random, birth_date: date, state_id_prefix: str) -> int:
        person_id = self.ids.next("person")
        gender = rng.choice("FM") if rng.random() < 0.98 else "X"
        first, last = rng.choice(ref.FIRST_NAMES), rng.choice(ref.LAST_NAMES)
        if rng.random() < 0.03:
            # A name change: the earlier identity stays, the current one is the newer.
            earlier = self.ids.next("identity")
            self._add("identity", (earlier, person_id, rng.choice(ref.LAST_NAMES), first, gender,
                                   birth_date, birth_date))
        identity_id = self.ids.next("identity")
        effective = date(self.end_year - 1 - rng.randint(0, 8), rng.randint(1, 12), 1)
        self._add("identity", (identity_id, person_id, last, first, gender, birth_date,
                               max(effective, birth_date)))
        self._add("person", (person_id, f"{state_id_prefix}{person_id:08d}", identity_id))
        return person_id

    def _school_day_after(self, day: date, school_days: int) -> date | None:
        """The date `school_days` instructional days after `day` (None past the year's end)."""
        dates = self.plan.instructional_dates
        index = bisect.bisect_right(dates, day) + school_days - 1
        return dates[index] if index < len(dates) else None

    # --- the build ---------------------------------------------------------------------------

    def build(self) -> DistrictYear:
        code = self.district.code
        self._add("district", (code, self.district.name, f"{code:0>4}"))
        self._schools_and_calendars()
        self._behavior_resolution_types()
        self._students_and_enrollments()
        self._sections_and_rosters()
        self._behavior()
        self._programs()
        return DistrictYear(
            district=self.district, plan=self.plan, as_of=self.as_of, tables=self.tables,
            stints=self.stints, seed=self.seed,
            suspended={key: frozenset(days) for key, days in self.suspended.items()},
        )

    def _schools_and_calendars(self) -> None:
        rng = self._rng("schools")
        names = list(ref.SCHOOL_NAMES)
        rng.shuffle(names)
        short_year = f"{(self.end_year - 1) % 100:02d}-{self.end_year % 100:02d}"
        for index, (level, grades) in enumerate(school_layout(self.school_count)):
            base = names[index % len(names)] + ("" if index < len(names) else f" {index // len(names) + 1}")
            school_id = self.ids.next("school")
            school_name = f"{base} {ref.LEVEL_TITLES[level]}"
            self._add("school", (school_id, f"{index + 1:04d}", school_name,
                                 f"{self.district.code}{index + 1:03d}"))
            periods_total = rng.choice((6, 7) if level == "elementary" else (6, 7, 8))
            instructional = periods_total - 1
            minutes = _PERIOD_MINUTES[instructional]
            cal = SchoolCalendar(school_id=school_id, calendar_id=self.ids.next("calendar"),
                                 level=level, grades=grades, structure_id=0)
            self.calendars.append(cal)
            self._add("calendar", (cal.calendar_id, school_id, self.end_year,
                                   f"{short_year} {school_name}", self.plan.start_date,
                                   self.plan.end_date, instructional * minutes, 240, 120, False))
            cal.structure_id = self.ids.next("schedule_structure")
            self._add("schedule_structure", (cal.structure_id, cal.calendar_id, "Main", True))

            term_schedule_id = self.ids.next("term_schedule")
            self._add("term_schedule", (term_schedule_id, cal.structure_id, "Semesters"))
            for seq, (name, start, end) in enumerate(self.plan.terms(), start=1):
                term_id = self.ids.next("term")
                self._add("term", (term_id, term_schedule_id, name, seq, start, end))
                cal.terms.append((term_id, start, end))

            regular_id, early_id = self._bell_schedules(cal, periods_total, minutes)
            for day in self.plan.days:
                schedule = (early_id if day.early_release else regular_id) if day.instruction else None
                self._add("day", (self.ids.next("day"), cal.calendar_id, cal.structure_id, schedule,
                                  day.date, day.instruction, day.attendance, day.comment))
            for seq, (name, start, end) in enumerate(self.plan.months(), start=1):
                self._add("school_month", (self.ids.next("school_month"), cal.calendar_id, name, seq, start, end))
            for grade in grades:
                grade_level_id = self.ids.next("structure_grade_level")
                cal.grade_level_ids[grade] = grade_level_id
                # Kindergarten keeps a shorter day; seniors a lower whole-day threshold.
                overrides = {"KG": (300, 180, 90), "12": (None, 200, None)}.get(grade, (None, None, None))
                self._add("structure_grade_level", (grade_level_id, cal.calendar_id, cal.structure_id,
                                                    "K" if grade == "KG" else grade, grade, *overrides))
            for excuse in ref.EXCUSE_CODES:
                excuse_id = self.ids.next("attendance_excuse")
                cal.excuse_ids[excuse.code] = excuse_id
                self._add("attendance_excuse", (excuse_id, cal.calendar_id, excuse.code, excuse.description,
                                                excuse.status, excuse.excuse, excuse.state_code))

    def _bell_schedules(self, cal: SchoolCalendar, periods_total: int, minutes: int) -> tuple[int, int]:
        """A regular and an early-release bell schedule with the same seqs; lunch mid-day."""
        lunch_seq = periods_total // 2 + 1
        schedule_ids, lunch_ids = [], []
        for name, share, lunch_minutes, instructional in (
            ("Regular", 1.0, _LUNCH_MINUTES[0], cal.regular),
            ("Early release", _EARLY_RELEASE_SHARE, _LUNCH_MINUTES[1], cal.early),
        ):
            schedule_id = self.ids.next("period_schedule")
            schedule_ids.append(schedule_id)
            self._add("period_schedule", (schedule_id, cal.structure_id, name))
            number = 0
            for seq in range(1, periods_total + 1):
                period_id = self.ids.next("period")
                if seq == lunch_seq:
                    self._add("period", (period_id, schedule_id, "Lunch", seq, lunch_minutes, True))
                    lunch_ids.append(period_id)
                    continue
                number += 1
                period_minutes = round(minutes * share)
                self._add("period", (period_id, schedule_id, f"Period {number}", seq, period_minutes, False))
                instructional[seq] = (period_id, period_minutes)
        cal.lunch_ids = (lunch_ids[0], lunch_ids[1])
        return schedule_ids[0], schedule_ids[1]

    def _behavior_resolution_types(self) -> None:
        self.resolution_type_ids = {}
        for kind in ref.RESOLUTION_TYPES:
            type_id = self.ids.next("behavior_resolution_type")
            self.resolution_type_ids[kind.code] = type_id
            self._add("behavior_resolution_type", (type_id, kind.code, kind.name, kind.state_code))

    def _students_and_enrollments(self) -> None:
        rng = self._rng("students")
        enrollment_rng = self._rng("enrollments")
        fall = self.end_year - 1
        weights = [rng.uniform(0.7, 1.3) for _ in self.calendars]
        serving = {g: [i for i, c in enumerate(self.calendars) if g in c.grades] for g in ref.GRADES}
        known = self.known_days
        for _ in range(self.student_count):
            grade_index = rng.randrange(len(ref.GRADES))
            grade = ref.GRADES[grade_index]
            options = serving[grade]
            home = rng.choices(options, weights=[weights[i] for i in options])[0]
            birth = date(fall - 6 - grade_index, 9, 1) + timedelta(days=rng.randrange(365))
            if rng.random() < 0.08:
                birth -= timedelta(days=365)  # held back a year
            person_id = self._new_person(rng, birth, self.district.code)
            profile = Profile.draw(rng, secondary=grade_index >= 6)
            self._enroll(enrollment_rng, person_id, grade, home, options, profile, known)

    def _enroll(self, rng, person_id, grade, home, options, profile, known) -> None:
        cal = self.calendars[home]
        if len(known) > 5 and rng.random() < 0.025:
            # A no-show: enrolled for the year and never came.
            self._enrollment(person_id, cal, grade, "P", self.first_day, self.first_day, no_show=True)
            return
        start, end = self.first_day, None
        if len(known) > 30 and rng.random() < 0.09:
            start = known[rng.randint(10, len(known) - 5)]
        if len(known) > 30 and rng.random() < 0.07:
            first = bisect.bisect_left(known, start)
            if first + 5 < len(known) - 1:
                end = known[rng.randint(first + 5, len(known) - 1)]
        stint = self._stint(person_id, cal, grade, "P", start, end, profile)
        if rng.random() < 0.01:
            # A special-services (N) enrollment beside the primary one, left out of state reporting.
            self._enrollment(person_id, cal, grade, "N", start, end, state_exclude=True)
        others = [i for i in options if i != home]
        if end is not None and others and rng.random() < 0.4:
            # A transfer within the district, a few school days after the withdrawal.
            restart = self._school_day_after(end, rng.randint(1, 4))
            if restart is not None and restart < self.as_of:
                self._stint(person_id, self.calendars[rng.choice(others)], grade, "P", restart, None, profile)
        receiving = self._receiving_calendar(cal, grade)
        if receiving is not None and start == self.first_day and end is None and rng.random() < 0.35:
            # A top-grade student taking one class at the next school up: a secondary enrollment.
            lowest = receiving.grades[0]
            seq = receiving.subject_seq(1, 0)
            secondary = self._stint(person_id, receiving, lowest, "S", self.first_day, None, profile)
            secondary.seqs = (seq,)
            if seq in cal.regular:
                stint.omitted_seq = seq

    def _receiving_calendar(self, cal: SchoolCalendar, grade: str) -> SchoolCalendar | None:
        if grade != cal.grades[-1] or grade == ref.GRADES[-1]:
            return None
        following = ref.GRADES[ref.GRADES.index(grade) + 1]
        for other in self.calendars:
            if other.grades[0] == following:
                return other
        return None

    def _enrollment(self, person_id, cal, grade, service_type, start, end, no_show=False,
                    state_exclude=False) -> int:
        enrollment_id = self.ids.next("enrollment")
        self._add("enrollment", (enrollment_id, person_id, cal.calendar_id, cal.structure_id,
                                 cal.grade_level_ids[grade], service_type, start, end, no_show, state_exclude))
        return enrollment_id

    def _stint(self, person_id, cal, grade, service_type, start, end, profile) -> Stint:
        enrollment_id = self._enrollment(person_id, cal, grade, service_type, start, end)
        stint = Stint(enrollment_id, person_id, cal, grade, service_type, start, end, profile)
        self.stints.append(stint)
        return stint

    # --- timetables ----------------------------------------------------------------------------

    def _sections_and_rosters(self) -> None:
        rng = self._rng("schedule")
        staff_rng = self._rng("staff")
        fall = self.end_year - 1
        teachers: dict[tuple, int] = {}

        def teacher(key: tuple) -> int:
            if key not in teachers:
                birth = date(fall - rng.randint(24, 62), rng.randint(1, 12), rng.randint(1, 28))
                person_id = self._new_person(staff_rng, birth, f"T{self.district.code}")
                teachers[key] = person_id
            return teachers[key]

        (_, _, term1_end), (_, term2_start, _) = self.plan.terms()
        for cal in self.calendars:
            term_ids = [t[0] for t in cal.terms]
            subjects = cal.subjects()
            by_grade: dict[str, list[Stint]] = {g: [] for g in cal.grades}
            for stint in self.stints:
                if stint.calendar is cal and stint.service_type == "P":
                    by_grade[stint.grade].append(stint)
            sections: dict[tuple[str, int, int], list[tuple[int, set[int]]]] = {}
            subject_sections = {s.code: itertools.count() for s in subjects}
            for grade in cal.grades:
                members = sorted(by_grade[grade], key=lambda s: (s.start, s.enrollment_id))
                groups = max(1, math.ceil(len(members) / _GROUP_SIZE))
                sizes = [0] * groups
                for index, stint in enumerate(members):
                    group = index % groups if stint.start == self.first_day else sizes.index(min(sizes))
                    stint.group = group
                    sizes[group] += 1
                    spans = stint.start <= term1_end and (stint.end is None or stint.end >= term2_start)
                    if groups > 1 and spans and rng.random() < 0.05:
                        stint.group_after_semester = (group + 1) % groups
                for k, subject in enumerate(subjects):
                    courses = [(subject.code, subject.name, term_ids)]
                    if subject.second_term:
                        code2, name2 = subject.second_term
                        courses = [(subject.code, subject.name, term_ids[:1]), (code2, name2, term_ids[1:])]
                    for course_code, course_name, course_terms in courses:
                        course_id = self.ids.next("course")
                        state_code = f"{subject.state_prefix}{course_code}{grade}" if subject.state_prefix else None
                        label = "Kindergarten" if grade == "KG" else f"Grade {int(grade)}"
                        self._add("course", (course_id, cal.calendar_id, f"{course_code}{grade}",
                                             f"{course_name} {label}", state_code))
                        for group in range(groups):
                            seq = cal.subject_seq(k, group)
                            if cal.level == "elementary" or (cal.level == "k12" and grade in ref.GRADES[:6]):
                                key = ("homeroom", cal.calendar_id, grade, group)
                            else:
                                key = ("subject", cal.calendar_id, subject.code, next(subject_sections[subject.code]) // 5)
                            section_id = self.ids.next("section")
                            self._add("section", (section_id, course_id, f"{group + 1:02d}", teacher(key)))
                            for term_id in course_terms:
                                self._add("section_placement", (self.ids.next("section_placement"), section_id,
                                                                cal.regular[seq][0], term_id))
                            sections.setdefault((grade, k, group), []).append((section_id, set(course_terms)))
            cal_terms = {t[0]: (t[1], t[2]) for t in cal.terms}
            for stint in self.stints:
                if stint.calendar is not cal:
                    continue
                if stint.service_type == "S":
                    spans = [(stint.start, stint.end, 0)]
                    wanted = [1]
                elif stint.group_after_semester is None:
                    spans = [(stint.start, stint.end, stint.group)]
                    wanted = range(len(subjects))
                else:
                    spans = [(stint.start, term1_end, stint.group),
                             (term2_start, stint.end, stint.group_after_semester)]
                    wanted = range(len(subjects))
                seqs = set()
                for start, end, group in spans:
                    for k in wanted:
                        seq = cal.subject_seq(k, group)
                        if seq == stint.omitted_seq:
                            continue
                        for section_id, terms in sections[(stint.grade, k, group)]:
                            if any(cal_terms[t][0] <= (end or cal_terms[t][1]) and start <= cal_terms[t][1]
                                   for t in terms):
                                self._add("roster", (self.ids.next("roster"), stint.person_id, section_id, start, end))
                                seqs.add(seq)
                stint.seqs = tuple(sorted(seqs))

    # --- behavior and programs ---------------------------------------------------------------------

    def _behavior(self) -> None:
        rng = self._rng("behavior")
        days = self.known_attendance_days
        if not days:
            return
        share_of_year = len(days) / len(self.plan.attendance_days)
        rates = {"elementary": 0.12, "middle": 0.45, "high": 0.35, "secondary": 0.4, "k12": 0.3}
        codes = ref.BEHAVIOR_CODES
        resolution_types = [r for r in ref.RESOLUTION_TYPES if r.weight > 0]
        for cal in self.calendars:
            pupils = [s for s in self.stints if s.calendar is cal and s.service_type == "P"]
            if not pupils:
                continue
            events = round(len(pupils) * rates[cal.level] * share_of_year)
            for _ in range(events):
                offender = rng.choice(pupils)
                lo = bisect.bisect_left(days, offender.start)
                hi = len(days) if offender.end is None else bisect.bisect_right(days, offender.end)
                if lo >= hi:
                    continue
                when = days[rng.randrange(lo, hi)]
                kind = rng.choices(codes, weights=[c.weight for c in codes])[0]
                event_id = self.ids.next("behavior_event")
                self._add("behavior_event", (event_id, cal.calendar_id, when, kind.code, kind.name, kind.state_code))
                roles = [(offender, "Offender")]
                others = [s for s in rng.sample(pupils, min(len(pupils), 6))
                          if s.person_id != offender.person_id and s.start <= when
                          and (s.end is None or s.end >= when)]
                if kind.code == "FIGHT" and others:
                    roles.append((others.pop(), "Offender" if rng.random() < 0.5 else "Victim"))
                if kind.code in ("BULLY", "THEFT") and others:
                    roles.append((others.pop(), "Victim"))
                if others and rng.random() < 0.2:
                    roles.append((others.pop(), "Witness"))
                if others and rng.random() < 0.1:
                    roles.append((others.pop(), "Participant"))
                for stint, role in roles:
                    role_id = self.ids.next("behavior_role")
                    self._add("behavior_role", (role_id, event_id, stint.person_id, role))
                    if role != "Offender" or rng.random() > 0.85:
                        continue
                    resolution = rng.choices(resolution_types, weights=[r.weight for r in resolution_types])[0]
                    low, high = resolution.days
                    length = rng.randint(low, high)
                    if length == 0:
                        start = end = when
                    else:
                        start = self._school_day_after(when, 1)
                        end = self._school_day_after(when, length)
                        if start is None or end is None:
                            start = end = when
                    self._add("behavior_resolution", (self.ids.next("behavior_resolution"), role_id,
                                                      self.resolution_type_ids[resolution.code], start, end))
                    if resolution.code == "OSS" and start != when:
                        home = self.suspended.setdefault((stint.person_id, cal.calendar_id), set())
                        home.update(d for d in self.plan.instructional_dates if start <= d <= end)

    def _programs(self) -> None:
        rng = self._rng("programs")
        known = self.known_days
        for stint in self.stints:
            if stint.service_type != "P":
                continue
            cal_id = stint.calendar.calendar_id
            if rng.random() < (0.45 if stint.profile.chronic else 0.08):
                start = stint.start
                if stint.profile.chronic:
                    reason, state_code = ref.AT_RISK_REASONS[1]  # attendance, flagged once it shows
                    later = [d for d in known[20:] if d >= stint.start and (stint.end is None or d <= stint.end)]
                    if not later:
                        continue
                    start = later[0]
                else:
                    reason, state_code = rng.choice(ref.AT_RISK_REASONS)
                self._add("at_risk", (self.ids.next("at_risk"), stint.person_id, cal_id, reason, state_code,
                                      start, stint.end))
            if rng.random() < 0.04:
                program, state_code = rng.choice(ref.ALPSS_PROGRAMS)
                self._add("alpss", (self.ids.next("alpss"), stint.person_id, cal_id, program, state_code,
                                    stint.start, stint.end))
        # Adult learners: persons with no K-12 enrollment, in the adult program of the top school.
        top = next((c for c in self.calendars if c.grades[-1] == ref.GRADES[-1]), self.calendars[0])
        fall = self.end_year - 1
        for _ in range(max(2, self.student_count // 40)):
            birth = date(fall - rng.randint(18, 55), rng.randint(1, 12), rng.randint(1, 28))
            person_id = self._new_person(rng, birth, self.district.code)
            program, state_code = rng.choice(ref.ADULT_ED_PROGRAMS)
            start = rng.choice(known) if known and rng.random() < 0.4 else self.first_day
            end = self._school_day_after(start, rng.randint(30, 90)) if rng.random() < 0.3 else None
            if end is not None and end >= self.as_of:
                end = None
            self._add("adult_ed", (self.ids.next("adult_ed"), person_id, top.calendar_id, program, state_code,
                                   start, end))


def build_district_year(district: District, *, schools: int, students: int, end_year: int,
                        as_of: date, seed: int) -> DistrictYear:
    return DistrictYearBuilder(district, schools=schools, students=students, end_year=end_year,
                               as_of=as_of, seed=seed).build()


__all__ = ["DistrictYear", "build_district_year", "school_layout"]
