"""How long `resync demo generate` takes for a large district.

Generates one district of N students (default 50,000, about 9 million student-days) into a
throwaway database on the configured server (RESYNC_DATABASE_URL, else the embedded one), prints
a results table, and drops the database.

    .venv/bin/python benchmarks/generate.py                 # 50,000 students
    .venv/bin/python benchmarks/generate.py --students 5000 --students 50000
"""

from __future__ import annotations

import argparse
import time
from datetime import date


from orchestrator import database, migrations, registry
from orchestrator.demo_data import generate


def run(students: int, schools: int | None, school_year: int, seed: int) -> dict:
    server_url = database.database_url()
    url = database.create_database(server_url, prefix="resync_bench")
    try:
        with database.transaction(url) as conn:
            migrations.ensure_tool_schema(conn)
            district = registry.add(conn, "01", "Benchmark")
        # About 700 students per school, as in a mid-sized district.
        schools = schools or max(3, students // 700)
        started = time.perf_counter()
        summary = generate(url, [district], schools=schools, students=students,
                           school_year=school_year, seed=seed, as_of=date(school_year, 7, 1))
        seconds = time.perf_counter() - started
        result = summary["districts"][0]
        return {
            "students": students,
            "schools": schools,
            "student_days": result["student_days"],
            "attendance_rows": result["attendance_rows"],
            "all_rows": result["rows"],
            "seconds": seconds,
        }
    finally:
        database.drop_database(server_url, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, action="append",
                        help="students in the district (repeat for several runs; default 50000)")
    parser.add_argument("--schools", type=int, default=None, help="default: one per 700 students")
    parser.add_argument("--school-year", type=int, default=2024, help="a past year, generated whole")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    results = [run(n, args.schools, args.school_year, args.seed) for n in args.students or [50_000]]

    header = ("students", "schools", "student-days", "attendance rows", "all rows", "seconds", "rows/s")
    lines = [header]
    for r in results:
        lines.append((f"{r['students']:,}", f"{r['schools']:,}", f"{r['student_days']:,}",
                      f"{r['attendance_rows']:,}", f"{r['all_rows']:,}", f"{r['seconds']:.1f}",
                      f"{r['all_rows'] / r['seconds']:,.0f}"))
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    for row in lines:
        print("  ".join(value.rjust(width) for value, width in zip(row, widths)))


if __name__ == "__main__":
    main()
