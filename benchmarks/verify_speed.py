"""How much a verify of an equal district costs: segment checksums against a row-by-row comparison.

Generates one district of N students (default 50,000) in a database of its own on the district
site server (the embedded one of `resync db start`, or RESYNC_TEST_SITE_URL), registers it in a
throwaway state database, resyncs every object (so the site, the landing and the state agree),
then measures:

- the first `resync verify` of every object (`--recompute`): each step tiered (counts and a
  checksum per segment on each side, rows only of the segments that differ: none here), every
  state table recomputed from the landing, once;
- `resync verify` again, median of --repeats: the state tables' certificates hold (nothing
  changed), so they are checksummed, not recomputed;
- the sites against the landing alone, tiered and row by row (every row of every table copied
  from the site and joined with the landing), median of --repeats;
- with --state-row-by-row, everything row by row (each site table copied and joined with the
  landing, each recomputation joined with its state table), median of --repeats: the whole
  verify without tiers or certificates, beside the tiered one (it costs a recomputation of every
  state table per run, so it is off by default);
- `resync verify -o AttendanceExcuse`, the small case.

Rows read are the rows compared one by one (both sides), per step: "site" is the district's tables
against the landing, "state" the state tables against their recomputation from the landing.

    .venv/bin/python benchmarks/verify_speed.py                     # 50,000 students
    .venv/bin/python benchmarks/verify_speed.py --students 5000 --repeats 3 --state-row-by-row
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import site_district

from orchestrator import catalog, database, resync
from orchestrator.state_view import verify


def timed_verify(state_url: str, year: int, objects: list[str], repeats: int, **options) -> dict:
    runs = []
    for _ in range(repeats):
        found = verify.verify(state_url, ["01"], objects, year, store=False, **options)
        assert found.equal, (found.summary(), [d.error for d in found.districts])
        [district] = found.districts
        comparisons = [*district.tables.values(), *(o.state for o in district.objects if o.state)]
        runs.append({
            "seconds": found.seconds,
            "site_seconds": sum(c.seconds for c in district.tables.values()),
            "state_seconds": sum(o.state.seconds for o in district.objects if o.state),
            "rows": sum(c.rows_district for c in district.tables.values()),
            "state_rows": sum(o.state.rows_state for o in district.objects if o.state),
            "segments": sum(c.segments for c in comparisons),
            "site_read": sum(c.rows_read for c in district.tables.values()),
            "state_read": sum(o.state.rows_read for o in district.objects if o.state),
            "tables": len(district.tables),
        })
    middle = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    return {**middle, "seconds": statistics.median(r["seconds"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--school-year", type=int, default=2024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--state-row-by-row", action="store_true",
                        help="Also verify everything row by row (a recomputation of every state table per run).")
    args = parser.parse_args()

    every = [o.campus_name for o in catalog.load()]
    with site_district.generated(args.students, args.school_year) as (state_url, district, reader):
        started = time.perf_counter()
        with database.transaction(state_url) as conn:
            plan = resync.build_plan(conn, ["01"], every, True, args.school_year)
        result = resync.execute(plan, state_url)
        assert result.ok, result.error
        print(f"resynced every object in {time.perf_counter() - started:.0f} s", flush=True)

        print(f"load average before measuring: {', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        cases = [("every object, first verify: tiered, state tables recomputed (`--recompute`)", every, 1,
                  {"recompute": True}),
                 ("every object, again: tiered, state tables certified (`resync verify`)", every, args.repeats, {})]
        if args.state_row_by_row:
            cases.append(("every object, row by row (sites and state tables)", every, args.repeats,
                          {"row_by_row": True}))
        cases += [("the sites against the landing only, tiered", every, args.repeats, {"state_tables": False}),
                  ("the sites against the landing only, row by row", every, args.repeats,
                   {"state_tables": False, "row_by_row": True}),
                  ("AttendanceExcuse, tiered, certified", ["AttendanceExcuse"], max(args.repeats, 5), {})]
        # Each row as soon as it is measured, so that a long run shows what it has.
        print("\n| verify of an equal district | segments | rows read (site / state) | site s | state s | seconds |")
        print("|---|---:|---:|---:|---:|---:|", flush=True)
        first = None
        for label, objects, repeats, options in cases:
            run = timed_verify(state_url, args.school_year, objects, repeats, **options)
            first = first or run
            print(f"| {label} | {run['segments']:,} | {run['site_read']:,} / {run['state_read']:,} |"
                  f" {run['site_seconds']:.2f} | {run['state_seconds']:.2f} | {run['seconds']:.2f} |", flush=True)

    print(f"\n{args.students:,} students: {first['rows']:,} rows at the site in {first['tables']} tables,"
          f" {first['state_rows']:,} rows in {len(every)} state tables; medians of {args.repeats} (the first"
          " verify: one run; AttendanceExcuse: of 5)")
    print(f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())};"
          f" {os.cpu_count()} cores")

if __name__ == "__main__":
    main()
