"""What teachers and the attendance office record for one student, day by day.

A student has an attendance profile: most are mostly present, about one in six is chronically
absent. Each school day either nothing is recorded (the student was present: no row) or one event
happens, written as rows for the periods it touched:

- a whole-day absence, often part of a two- or three-day illness, sometimes also marked in the
  non-instructional lunch period (a stray row the aggregation ignores);
- a partial day: arrived late (first periods absent, the last of them with present minutes) or
  checked out early (an early-release row, then absences);
- a tardy in one period, sometimes with the minutes present;
- a skipped period (unexcused or truant);
- now and then a field trip (exempt), a counselor visit (present, partial minutes) or a day of
  homebound instruction;
- days of out-of-school suspension, from the behavior records, are absences with the OSS code.

Most rows carry a per-calendar excuse code (excuse_id); some keep the teacher's first mark in
status/excuse beside the code (the code wins); a few are raw status/excuse with no code at all,
including absences with no excuse.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Iterator, Mapping, Sequence

from .reference import ATTENDANCE_COMMENTS, EXCUSES_BY_CODE

#: Share of students drawn as chronically absent ("roughly one in six").
CHRONIC_SHARE = 1 / 6

#: (period_id, period_minutes) of the periods a student is scheduled into that day, in seq order.
Periods = Sequence[tuple[int, int]]
#: One recorded row: period_id, date, status, excuse, excuse_id, present_minutes, comments.
Recorded = tuple[int, date, str, str | None, int | None, int | None, str | None]

_RAW = None  # a mark written without an excuse code


@dataclass(frozen=True)
class Profile:
    """How often a student misses school; rates are per school day."""

    whole_day: float  # share of days missed entirely
    partial_day: float
    tardy: float
    skipped_period: float
    other: float  # field trips, counselor visits, homebound days
    chronic: bool

    @classmethod
    def draw(cls, rng: random.Random, secondary: bool) -> "Profile":
        if rng.random() < CHRONIC_SHARE:
            return cls(
                whole_day=rng.uniform(0.11, 0.28),
                partial_day=rng.uniform(0.03, 0.07),
                tardy=rng.uniform(0.02, 0.08),
                skipped_period=rng.uniform(0.01, 0.03) if secondary else 0.0,
                other=0.004,
                chronic=True,
            )
        whole = rng.uniform(0.004, 0.055)
        return cls(
            whole_day=whole,
            partial_day=0.3 * whole + 0.004,
            tardy=rng.choice((0.0, 0.005, 0.01, 0.02, 0.035)),
            skipped_period=rng.uniform(0.0, 0.004) if secondary else 0.0,
            other=0.004,
            chronic=False,
        )


def _cumulative(weighted: Sequence[tuple[object, float]]) -> tuple[list[object], list[float]]:
    items = [item for item, _ in weighted]
    return items, list(itertools.accumulate(weight for _, weight in weighted))


def _pick(rng: random.Random, table: tuple[list[object], list[float]]):
    items, cumulative = table
    return items[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


# Which code a whole-day absence gets; None is a raw row with no code.
_WHOLE_DAY_CODES = _cumulative([
    ("ILL", 0.40), ("MED", 0.08), ("FAM", 0.08), ("REL", 0.02), ("UNX", 0.12), ("ABS", 0.08),
    ("TRU", 0.02), ("FLD", 0.04), (_RAW, 0.16),
])
_CHRONIC_WHOLE_DAY_CODES = _cumulative([
    ("ILL", 0.22), ("MED", 0.04), ("FAM", 0.06), ("UNX", 0.30), ("ABS", 0.12), ("TRU", 0.10),
    (_RAW, 0.16),
])
_LATE_ARRIVAL_CODES = _cumulative([("MED", 0.35), ("FAM", 0.10), ("UNX", 0.30), ("ABS", 0.10), (_RAW, 0.15)])
_LEFT_EARLY_CODES = _cumulative([("ILL", 0.35), ("MED", 0.30), ("FAM", 0.15), ("UNX", 0.20)])
_TARDY_CODES = _cumulative([("TAR", 0.55), ("TEX", 0.30), (_RAW, 0.15)])
_SKIP_CODES = _cumulative([("UNX", 0.55), ("TRU", 0.30), (_RAW, 0.15)])
_STREAK_DAYS = _cumulative([(1, 0.60), (2, 0.25), (3, 0.10), (4, 0.03), (5, 0.02)])
_MEAN_STREAK = 1.62


class AttendanceRecorder:
    """Turns a profile and a run of school days into the rows a district would hold."""

    def __init__(self, excuse_ids: Mapping[str, int]):
        self.excuse_ids = dict(excuse_ids)

    # --- marks -----------------------------------------------------------------------------

    def _mark(self, rng: random.Random, code: str | None, raw_status: str = "A"):
        """status, excuse and excuse_id of a row marked with `code` (None: no code)."""
        if code is None:
            if raw_status == "A":
                return "A", rng.choice(("U", "U", "E", None)), None
            if raw_status == "E":
                return "E", rng.choice(("E", "U")), None
            return raw_status, None, None
        known = EXCUSES_BY_CODE[code]
        excuse_id = self.excuse_ids[code]
        draw = rng.random()
        if draw < 0.65:
            return known.status, known.excuse, excuse_id
        if draw < 0.85:
            return known.status, None, excuse_id
        # The teacher's first mark stays on the row after the office coded it: the code wins.
        return "A", "U", excuse_id

    @staticmethod
    def _comment(rng: random.Random) -> str | None:
        return rng.choice(ATTENDANCE_COMMENTS) if rng.random() < 0.1 else None

    # --- events ----------------------------------------------------------------------------

    def whole_day(self, rng, day: date, periods: Periods, lunch_id: int | None, code: str | None) -> list[Recorded]:
        status, excuse, excuse_id = self._mark(rng, code)
        comment = self._comment(rng)
        rows = [(pid, day, status, excuse, excuse_id, None, comment) for pid, _ in periods]
        if lunch_id is not None and rng.random() < 0.12:
            rows.append((lunch_id, day, status, excuse, excuse_id, None, comment))
        return rows

    def partial_day(self, rng, day: date, periods: Periods) -> list[Recorded]:
        count = len(periods)
        if count < 2:
            return self.tardy(rng, day, periods)
        comment = self._comment(rng)
        if rng.random() < 0.5:
            # Arrived late: the first periods missed, the last of them partly attended.
            missed = rng.randint(1, max(1, count // 2))
            status, excuse, excuse_id = self._mark(rng, _pick(rng, _LATE_ARRIVAL_CODES))
            rows = []
            for index, (pid, minutes) in enumerate(periods[:missed]):
                present = None
                if index == missed - 1 and minutes > 20 and rng.random() < 0.3:
                    present = rng.randint(5, minutes - 10)
                rows.append((pid, day, status, excuse, excuse_id, present, comment))
            return rows
        # Checked out early: the period left shows an early release, the rest are absences.
        leaves = rng.randint(count // 2, count - 1)
        pid, minutes = periods[leaves]
        release = rng.choice(("ERL", "ERL", "ERU", None))
        status, excuse, excuse_id = self._mark(rng, release, raw_status="E")
        present = rng.randint(5, minutes - 5) if minutes > 10 else None
        rows = [(pid, day, status, excuse, excuse_id, present, comment)]
        status, excuse, excuse_id = self._mark(rng, _pick(rng, _LEFT_EARLY_CODES))
        rows += [(p, day, status, excuse, excuse_id, None, comment) for p, _ in periods[leaves + 1:]]
        return rows

    def tardy(self, rng, day: date, periods: Periods) -> list[Recorded]:
        index = 0 if rng.random() < 0.8 else rng.randrange(len(periods))
        pid, minutes = periods[index]
        status, excuse, excuse_id = self._mark(rng, _pick(rng, _TARDY_CODES), raw_status="T")
        present = minutes - rng.randint(3, min(20, minutes - 1)) if minutes > 4 and rng.random() < 0.4 else None
        return [(pid, day, status, excuse, excuse_id, present, self._comment(rng))]

    def skipped_period(self, rng, day: date, periods: Periods) -> list[Recorded]:
        pid, _ = periods[rng.randrange(len(periods))]
        status, excuse, excuse_id = self._mark(rng, _pick(rng, _SKIP_CODES))
        return [(pid, day, status, excuse, excuse_id, None, None)]

    def other(self, rng, day: date, periods: Periods) -> list[Recorded]:
        kind = rng.random()
        if kind < 0.5:
            # A field trip over a few consecutive periods: exempt, counts as attended.
            length = min(len(periods), rng.randint(2, 4))
            first = rng.randint(0, len(periods) - length)
            status, excuse, excuse_id = self._mark(rng, "FLD")
            return [(pid, day, status, excuse, excuse_id, None, "Field trip")
                    for pid, _ in periods[first:first + length]]
        if kind < 0.85:
            pid, minutes = periods[rng.randrange(len(periods))]
            status, excuse, excuse_id = self._mark(rng, "CNS")
            present = max(0, minutes - rng.randint(10, 30))
            return [(pid, day, status, excuse, excuse_id, present, None)]
        status, excuse, excuse_id = self._mark(rng, "HOM")
        return [(pid, day, status, excuse, excuse_id, None, "Homebound") for pid, _ in periods]

    # --- runs of days --------------------------------------------------------------------------

    def record(
        self,
        rng: random.Random,
        profile: Profile,
        days: Iterable[tuple[date, Periods, int | None]],
        suspended: frozenset[date] = frozenset(),
    ) -> Iterator[Recorded]:
        """Rows for consecutive school days (date, scheduled periods, lunch period id)."""
        start_whole = profile.whole_day / _MEAN_STREAK
        thresholds = list(itertools.accumulate(
            (start_whole, profile.partial_day, profile.tardy, profile.skipped_period, profile.other)))
        whole_codes = _CHRONIC_WHOLE_DAY_CODES if profile.chronic else _WHOLE_DAY_CODES
        streak_left, streak_code = 0, None
        for day, periods, lunch_id in days:
            if not periods:
                continue
            if day in suspended:
                yield from self.whole_day(rng, day, periods, None, "OSS")
                continue
            if streak_left:
                streak_left -= 1
                yield from self.whole_day(rng, day, periods, lunch_id, streak_code)
                continue
            draw = rng.random()
            if draw >= thresholds[-1]:
                continue  # present: nothing recorded
            if draw < thresholds[0]:
                streak_code = _pick(rng, whole_codes)
                streak_left = _pick(rng, _STREAK_DAYS) - 1
                yield from self.whole_day(rng, day, periods, lunch_id, streak_code)
            elif draw < thresholds[1]:
                yield from self.partial_day(rng, day, periods)
            elif draw < thresholds[2]:
                yield from self.tardy(rng, day, periods)
            elif draw < thresholds[3]:
                yield from self.skipped_period(rng, day, periods)
            else:
                yield from self.other(rng, day, periods)

    def record_day(self, rng: random.Random, profile: Profile, day: date, periods: Periods,
                   lunch_id: int | None, absent_yesterday: bool) -> list[Recorded]:
        """One day for one student, continuing yesterday's absence half of the time."""
        if absent_yesterday and periods and rng.random() < 0.5:
            code = _pick(rng, _CHRONIC_WHOLE_DAY_CODES if profile.chronic else _WHOLE_DAY_CODES)
            return self.whole_day(rng, day, periods, lunch_id, code)
        return list(self.record(rng, profile, [(day, periods, lunch_id)]))
