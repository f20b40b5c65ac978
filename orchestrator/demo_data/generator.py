"""`resync demo generate`: fill registered districts' sources with a generated school year.

Decisions the issue left open:
- `school_year` is the end year (2024 means 2023-2024); by default the school year `as_of` falls
  in, a year starting on July 1.
- `as_of` is "today" for the generated district (default: the real today). Attendance, entries,
  withdrawals and behavior exist only for school days before it, so the current year is
  generated part-way and a past year whole; calendars, enrollments and schedules cover the year.
- Each district gets its own random stream, seeded from (seed, district code): the same seed and
  parameters give identical rows.
- A district that already has data is replaced: its source tables and delete log are emptied
  and refilled in one transaction per district, so a rerun is idempotent and a failure leaves
  the schema as it was.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Sequence

from .. import database, migrations, text_table
from ..errors import ResyncError
from ..registry import District
from . import clock, loader, site_databases
from .district_year import build_district_year
from .school_year import current_school_year, school_year_label


#: Per district, by default (`demo generate` and `demo setup` alike): small enough that `make demo`
#: takes seconds after install.
DEMO_SCHOOLS = 3
DEMO_STUDENTS = 300


def generate(url: str, districts: Sequence[District], *, schools: int = DEMO_SCHOOLS, students: int = DEMO_STUDENTS,
             school_year: int | None = None, seed: int = 1, as_of: date | None = None) -> dict:
    """Generate and load one school year per district; returns a summary (see `describe`)."""
    if not districts:
        raise ResyncError("No districts to generate: register one with `resync district add`.")
    if schools < 1 or students < 1:
        raise ResyncError("A generated district needs at least one school and one student.")
    as_of = as_of or date.today()
    end_year = school_year or current_school_year(as_of)
    results = []
    for district in districts:
        started = time.perf_counter()
        year = build_district_year(district, schools=schools, students=students, end_year=end_year,
                                   as_of=as_of, seed=seed)
        with database.transaction(url) as state_conn, \
                site_databases.district_source(state_conn, district) as (conn, schema):
            migrations.ensure_tool_schema(state_conn)
            loader.ensure_generated_schema(conn, schema)
            counts = loader.replace_rows(conn, schema, {**year.tables, "attendance": year.attendance_rows()})
            clock.set_today(state_conn, district, as_of)
        attendance_days = [d.date for d in year.plan.attendance_days if d.date < as_of]
        results.append({
            "code": district.code,
            "name": district.name,
            "source": district.source,
            "schools": counts["school"],
            "students": students,
            "enrollments": counts["enrollment"],
            "student_days": year.student_days(),
            "attendance_rows": counts["attendance"],
            "rows": sum(counts.values()),
            "first_day": year.plan.instructional_dates[0].isoformat(),
            "last_day": year.plan.instructional_dates[-1].isoformat(),
            "attendance_through": attendance_days[-1].isoformat() if attendance_days else None,
            "seconds": round(time.perf_counter() - started, 2),
        })
    return {
        "school_year": end_year,
        "as_of": as_of.isoformat(),
        "seed": seed,
        "districts": results,
        "totals": {key: sum(r[key] for r in results)
                   for key in ("schools", "students", "enrollments", "student_days", "attendance_rows")},
    }


def describe(summary: dict) -> str:
    """A few lines for people: the year, then one line per district and the totals."""
    through = max((r["attendance_through"] or "" for r in summary["districts"]), default="")
    lines = [
        f"School year {school_year_label(summary['school_year'])} as of {summary['as_of']} (seed {summary['seed']}): "
        + (f"attendance through {through}." if through else "no attendance yet, school has not started.")
    ]
    columns = ["district", "schools", "students", "student_days", "attendance_rows"]
    rows = [{**r, "district": f"{r['code']} {r['name']}"} for r in summary["districts"]]
    if len(rows) > 1:
        rows.append({**summary["totals"], "district": "total"})
    lines.append(text_table.render(rows, columns, headers={"student_days": "student-days",
                                                           "attendance_rows": "attendance rows"}))
    return "\n".join(lines)
