"""The shape of a school year: which end year is current, and a district's calendar of days.

A year is planned once per district and shared by its schools, as a district office does: teacher
work days before the first student day, US federal holidays, Thanksgiving, winter and spring
breaks, a professional-development day, one instructional day on which attendance is not taken,
early-release days (first Wednesday of each month, the day before winter break, the last day),
and about 180 instructional days ending in May. The first term ends before winter break.
"""

from __future__ import annotations

import calendar as _calendar
import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

from ..school_year import current_school_year, school_year_label  # noqa: F401  (one rule for the year)

#: Instructional days a district plans for (the days counted toward the year, "about 180").
INSTRUCTIONAL_DAY_TARGETS = (178, 179, 180, 180, 181)


@dataclass(frozen=True)
class PlannedDay:
    date: date
    instruction: bool
    attendance: bool
    early_release: bool
    comment: str | None


@dataclass(frozen=True)
class YearPlan:
    end_year: int
    days: tuple[PlannedDay, ...]  # every date from the first teacher day to the last school day
    first_term_end: date

    @property
    def start_date(self) -> date:
        return self.days[0].date

    @property
    def end_date(self) -> date:
        return self.days[-1].date

    @cached_property
    def instructional_dates(self) -> tuple[date, ...]:
        return tuple(d.date for d in self.days if d.instruction)

    @cached_property
    def attendance_days(self) -> tuple[PlannedDay, ...]:
        """Days on which attendance is taken (instructional and attendance)."""
        return tuple(d for d in self.days if d.instruction and d.attendance)

    def terms(self) -> list[tuple[str, date, date]]:
        """Two terms tiling the calendar: the first ends before winter break."""
        return [
            ("Semester 1", self.start_date, self.first_term_end),
            ("Semester 2", self.first_term_end + timedelta(days=1), self.end_date),
        ]

    def months(self) -> list[tuple[str, date, date]]:
        """School months: calendar months clipped to the calendar's first and last day."""
        months = []
        year, month = self.start_date.year, self.start_date.month
        while date(year, month, 1) <= self.end_date:
            last = date(year, month, _calendar.monthrange(year, month)[1])
            months.append((
                _calendar.month_name[month],
                max(self.start_date, date(year, month, 1)),
                min(self.end_date, last),
            ))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = date(year, month, _calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    """A fixed-date holiday falling on a weekend is observed on the nearest weekday."""
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


def _holidays(end_year: int) -> dict[date, str]:
    fall = end_year - 1
    closed: dict[date, str] = {
        _nth_weekday(fall, 9, 0, 1): "Labor Day",
        _observed(date(fall, 11, 11)): "Veterans Day",
        _nth_weekday(end_year, 1, 0, 3): "Martin Luther King Jr. Day",
        _nth_weekday(end_year, 2, 0, 3): "Presidents' Day",
        _last_weekday(end_year, 5, 0): "Memorial Day",
    }
    thanksgiving = _nth_weekday(fall, 11, 3, 4)
    for offset in (-1, 0, 1):
        closed[thanksgiving + timedelta(days=offset)] = "Thanksgiving break"
    christmas_eve = date(fall, 12, 24)
    winter_start = christmas_eve - timedelta(days=christmas_eve.weekday())
    for offset in range(14):
        closed[winter_start + timedelta(days=offset)] = "Winter break"
    closed[_observed(date(end_year, 1, 1))] = "New Year's Day"
    spring = date(end_year, 3, 11)
    spring += timedelta(days=(0 - spring.weekday()) % 7)
    for offset in range(5):
        closed[spring + timedelta(days=offset)] = "Spring break"
    return closed


def plan_year(end_year: int, rng: random.Random) -> YearPlan:
    """A district's calendar for the school year ending in `end_year`."""
    fall = end_year - 1
    # Students start on a Wednesday in mid-August; teachers work the Monday and Tuesday before.
    monday = _nth_weekday(fall, 8, 0, 2)
    first_student_day = monday + timedelta(days=2)
    target = rng.choice(INSTRUCTIONAL_DAY_TARGETS)
    closed = _holidays(end_year)
    winter_start = min(d for d, name in closed.items() if name == "Winter break")
    after_winter = winter_start + timedelta(days=14)
    while after_winter.weekday() >= 5 or after_winter in closed:
        after_winter += timedelta(days=1)
    non_instructional = {
        monday: "Teacher work day",
        monday + timedelta(days=1): "Teacher work day",
        _nth_weekday(fall, 10, 4, 2): "Professional development",
        after_winter: "Teacher work day (end of semester)",
    }
    no_attendance = {_nth_weekday(end_year, 4, 2, 3): "State testing: attendance not taken"}
    early_release = {_nth_weekday(y, m, 2, 1) for y, m in
                     [(fall, m) for m in range(9, 13)] + [(end_year, m) for m in range(1, 6)]}

    days: list[PlannedDay] = []
    counted = 0
    current = monday
    # The year ends in May: a district that cannot fit its target before June plans fewer days.
    while counted < target and current <= date(end_year, 5, 31):
        weekday = current.weekday() < 5
        if not weekday:
            days.append(PlannedDay(current, False, False, False, None))
        elif current in closed or current in non_instructional:
            comment = closed.get(current) or non_instructional[current]
            days.append(PlannedDay(current, False, False, False, comment))
        elif current < first_student_day:
            days.append(PlannedDay(current, False, False, False, "Teacher work day"))
        else:
            counted += 1
            comment = no_attendance.get(current)
            days.append(PlannedDay(current, True, comment is None, current in early_release, comment))
        current += timedelta(days=1)

    # The last day of school and the day before winter break let out early too.
    school_days = [i for i, d in enumerate(days) if d.instruction]
    before_winter = max(i for i in school_days if days[i].date < winter_start)
    for index in (before_winter, school_days[-1]):
        day = days[index]
        days[index] = PlannedDay(day.date, day.instruction, day.attendance, True, day.comment or "Early release")
    return YearPlan(end_year=end_year, days=tuple(days), first_term_end=days[before_winter].date)
