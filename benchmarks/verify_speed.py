"""How much a verify of an equal district costs: segment checksums against a row-by-row comparison.

Generates one district of N students (default 50,000) in a database of its own on the district
site server (the embedded one of `resync db start`, or RESYNC_TEST_SITE_URL), registers it in a
throwaway state database, resyncs every object (so the site, the landing and the state agree),
then measures, median of --repeats:

- `resync verify --recompute` of every object, tiered: counts and a checksum per segment on each
  side, rows only of segments that differ (none here), every state table recomputed from the
  landing (what the first verify of a district does);
- `resync verify` again: the state tables' certificates hold (nothing changed), so none is
  recomputed, only checksummed;
- the same comparison row by row: every row of every table copied from the site and joined with
  the landing, and every state table joined with its recomputation;
- `resync verify -o AttendanceExcuse`, the small case.

Rows read are the rows compared one by one (both sides), per level: "site" is the district's
tables against the landing, "state" the state tables against their recomputation from the landing.

    .venv/bin/python benchmarks/verify_speed.py                     # 50,000 students
    .venv/bin/python benchmarks/verify_speed.py --students 5000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date

from sqlalchemy.engine import make_url

from orchestrator import catalog, database, migrations, registry, resync
from orchestrator.demo_data import generate, site_databases
from orchestrator.state_view import verify


def timed_verify(state_url: str, year: int, objects: list[str], repeats: int, **options) -> dict:
    runs = []
    for _ in range(repeats):
        found = verify.verify(state_url, ["01"], objects, year, store=False, **options)
        assert found.equal, (found.summary(), [d.error for d in found.districts])
        [district] = found.districts
        comparisons = [*district.tables.values(), *(o.state for o in district.objects)]
        runs.append({
            "seconds": found.seconds,
            "site_seconds": sum(c.seconds for c in district.tables.values()),
            "state_seconds": sum(o.state.seconds for o in district.objects),
            "rows": sum(c.rows_district for c in district.tables.values()),
            "state_rows": sum(o.state.rows_state for o in district.objects),
            "segments": sum(c.segments for c in comparisons),
            "site_read": sum(c.rows_read for c in district.tables.values()),
            "state_read": sum(o.state.rows_read for o in district.objects),
            "tables": len(district.tables),
        })
    middle = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    return {**middle, "seconds": statistics.median(r["seconds"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--school-year", type=int, default=2024)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    site_server = os.environ.get("RESYNC_TEST_SITE_URL") or site_databases.server_url()
    state_server = database.database_url()
    state_url = database.create_database(state_server, prefix="resync_bench")
    site_name = f"resync_bench_site_{os.getpid()}"
    site_admin = make_url(site_server).set(database=site_name).render_as_string(hide_password=False)
    every = [o.campus_name for o in catalog.load()]
    try:
        reader = site_databases.create_district_database(site_server, "01", site_name)
        with database.transaction(state_url) as conn:
            migrations.ensure_tool_schema(conn)
            district = registry.add(conn, "01", "Benchmark", url=reader)
        started = time.perf_counter()
        generate(state_url, [district], schools=max(3, args.students // 700), students=args.students,
                 school_year=args.school_year, as_of=date(args.school_year, 7, 1))
        print(f"generated {args.students:,} students in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        with database.transaction(state_url) as conn:
            plan = resync.build_plan(conn, ["01"], every, True, args.school_year)
        result = resync.execute(plan, state_url)
        assert result.ok, result.error
        print(f"resynced every object in {time.perf_counter() - started:.0f} s", flush=True)

        first = timed_verify(state_url, args.school_year, every, args.repeats, recompute=True)
        tiered = timed_verify(state_url, args.school_year, every, args.repeats)
        plain = timed_verify(state_url, args.school_year, every, args.repeats, row_by_row=True)
        small = timed_verify(state_url, args.school_year, ["AttendanceExcuse"], max(args.repeats, 5))
    finally:
        database.drop_database(state_server, state_url)
        database.drop_database(site_server, site_admin)

    print(f"\n{args.students:,} students: {tiered['rows']:,} rows at the site in {tiered['tables']} tables,"
          f" {tiered['state_rows']:,} rows in {len(every)} state tables; median of {args.repeats}\n")
    print("| verify of an equal district | segments | rows read (site / state) | site s | state s | seconds | of row by row |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, run in (("every object, tiered, recomputing every state table (the first verify, `--recompute`)", first),
                       ("every object, tiered, state tables certified by the previous verify (`resync verify`)", tiered),
                       ("every object, row by row", plain),
                       ("AttendanceExcuse, tiered, certified", small)):
        print(f"| {label} | {run['segments']:,} | {run['site_read']:,} / {run['state_read']:,} |"
              f" {run['site_seconds']:.2f} | {run['state_seconds']:.2f} | {run['seconds']:.2f} |"
              f" {run['seconds'] / plain['seconds']:.0%} |")


if __name__ == "__main__":
    main()
