"""How the attendance aggregation scales: one large district against the write floor, and four
districts in one run against each alone.

Generates, into throwaway databases on the configured server (RESYNC_DATABASE_URL, else the
embedded one), whole school years 2023-2024: one district of --students students (default
50,000, about 8.6 million student-days), and --districts districts of --students / --districts
students each. Times `resync run -o AttDayAggregation --yes --school-year 2024` (the in-process
API the CLI and the worker use, manifest warm), whole and the model's own dbt statement (the run
pulls the district first; the model's seconds are what the floor compares with):
- the first build, which creates the state table, and a refresh, which swaps in a new partition
  for the district's (median of --repeats, the table vacuumed in between as autovacuum would);
- the write floor measured in the same run: PostgreSQL inserting the same number of rows of the
  same columns from generate_series, into a new table as it is, with the state table's unique
  index, and into a new table indexed after (what a partition swap writes at least); and
  replacing that many rows of the district in the state table by delete and insert from
  generate_series (rolled back), what a refresh cost before state tables were partitioned;
- the small districts each alone, then all in one run, as first builds and as refreshes, each
  --small-repeats times in turn (alone, alone, ..., together; then again), and their medians:
  single runs of a few seconds vary by a fifth from one to the next on a shared machine.
Prints the tables and the load average, and drops the databases.

    .venv/bin/python benchmarks/aggregation_scale.py
    .venv/bin/python benchmarks/aggregation_scale.py --students 20000 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date

import sqlalchemy as sa

from orchestrator import database, dbt_invoker, migrations, registry, resync
from orchestrator.demo_data import generate

SCHOOL_YEAR = 2024
AS_OF = date(SCHOOL_YEAR, 7, 1)  # after the year: generated whole
OBJECT = "AttDayAggregation"
TABLE = "state.att_day_aggregation"

# The state table's columns, filled with plausible constants: the shape the floor writes.
FLOOR_ROWS = """
select '01'::text, (i / 200)::integer, 1, date '2023-08-01' + (i % 200)::integer, 2024::smallint,
       (i % 13)::integer, 360, (i % 7) * 10, (i % 7) * 5, (i % 7) * 5, 0, 360 - (i % 7) * 10,
       nullif(i % 5, 0), ((i % 7) * 10 / 360.0)::numeric(5, 4), 0::numeric(2, 1), 1
from generate_series(1, :rows) as i
"""


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _setup(server_url: str, districts: int, students: int) -> tuple[str, list[str]]:
    url = database.create_database(server_url, prefix="resync_bench")
    with database.transaction(url) as conn:
        migrations.ensure_tool_schema(conn)
        registered = [registry.add(conn, f"{n:02d}", f"Benchmark {n}") for n in range(1, districts + 1)]
    for n, district in enumerate(registered):
        generate(url, [district], schools=max(3, students // 700), students=students,
                 school_year=SCHOOL_YEAR, seed=1 + n, as_of=AS_OF)
    database.autocommit(url, "analyze")
    dbt_invoker.warm(url)  # parse once, outside the timings
    return url, [d.code for d in registered]


def _run(url: str, codes: list[str]) -> tuple[float, float, int]:
    """One `resync run` of the aggregation for the districts; (seconds, the model's own seconds,
    rows in scope)."""
    with database.transaction(url) as conn:
        plan = resync.build_plan(conn, codes, [OBJECT], check_dependencies=False, school_year=SCHOOL_YEAR)
    started = time.perf_counter()
    result = resync.execute(plan, url=url)
    seconds = time.perf_counter() - started
    if not result.ok:
        raise SystemExit(f"The aggregation failed: {result.error}")
    model = result.objects[0].seconds or 0.0
    _say(f"resync run -d {' -d '.join(codes)}: {seconds:.1f} s, the model {model:.1f} s")
    return seconds, model, sum(r.rows_replaced or 0 for r in result.objects)


def _first_build(url: str, codes: list[str]) -> tuple[float, float, int]:
    database.autocommit(url, f"drop table if exists {TABLE} cascade")
    database.autocommit(url, "delete from resync.aggregation_watermark")
    return _run(url, codes)


def _refresh(url: str, codes: list[str], repeats: int) -> tuple[float, float]:
    """Medians of (seconds, the model's own seconds) over `repeats` refreshes."""
    runs = []
    for _ in range(repeats):
        database.autocommit(url, f"vacuum {TABLE}")
        runs.append(_run(url, codes)[:2])
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def _floors(url: str, rows: int) -> dict[str, float]:
    floors = {}
    engine = database.engine(url)
    with engine.connect() as conn:
        for name, create in (("insert", "create table bench_floor (like {table})"),
                             ("insert, indexed", "create table bench_floor (like {table} including indexes)")):
            with conn.begin():
                conn.execute(sa.text(create.format(table=TABLE)))
                floors[name] = _timed(lambda: conn.execute(
                    sa.text("insert into bench_floor " + FLOOR_ROWS), {"rows": rows}))
                conn.execute(sa.text("drop table bench_floor"))
        # What a partition swap writes at least: the rows into an empty table, then its key's index.
        with conn.begin():
            conn.execute(sa.text(f"create table bench_floor (like {TABLE})"))
            floors["insert, then index"] = _timed(lambda: (
                conn.execute(sa.text("insert into bench_floor " + FLOOR_ROWS), {"rows": rows}),
                conn.execute(sa.text("alter table bench_floor add primary key"
                                     " (district_id, person_id, calendar_id, date, end_year)"))))
            conn.execute(sa.text("drop table bench_floor"))
        transaction = conn.begin()
        try:
            floors["replace"] = _timed(lambda: (
                conn.execute(sa.text(f"delete from {TABLE} where district_id = '01' and end_year = {SCHOOL_YEAR}")),
                conn.execute(sa.text(f"insert into {TABLE} " + FLOOR_ROWS), {"rows": rows})))
        finally:
            transaction.rollback()
    return floors


def _median_run(runs: list[tuple]) -> tuple:
    """Each field's median over runs (tuples of numbers)."""
    return tuple(statistics.median(values) for values in zip(*runs))


def _medians(rounds: list[list[tuple]]) -> list[tuple]:
    """Per district, the median of its runs over the rounds."""
    return [_median_run(runs) for runs in zip(*rounds)]


def _table(header: tuple[str, ...], lines: list[tuple[str, ...]]) -> None:
    lines = [header] + lines
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join([line[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(line[1:], widths[1:])]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--districts", type=int, default=4, help="the small districts, sharing --students")
    parser.add_argument("--repeats", type=int, default=3, help="refreshes of the large district (median)")
    parser.add_argument("--small-repeats", type=int, default=3,
                        help="rounds of the small districts' runs, alone and together (medians)")
    args = parser.parse_args()
    if min(args.students, args.districts, args.repeats, args.small_repeats) < 1:
        raise SystemExit("--students, --districts, --repeats and --small-repeats must be at least 1.")
    server_url = database.database_url()
    load_before = os.getloadavg()[0]

    url, codes = _setup(server_url, 1, args.students)
    try:
        first, first_model, rows = _first_build(url, codes)
        refresh = _refresh(url, codes, args.repeats)
        floors = _floors(url, rows)
        _say(f"floors: {floors}")
    finally:
        database.drop_database(server_url, url)

    small = args.students // args.districts
    url, codes = _setup(server_url, args.districts, small)
    try:
        rounds = [([_first_build(url, [code]) for code in codes], _first_build(url, codes))
                  for _ in range(args.small_repeats)]
        alone_first = _medians([alone for alone, _ in rounds])
        together_first, together_first_model, together_rows = _median_run([together for _, together in rounds])
        together_rows = int(together_rows)
        rounds = [([_refresh(url, [code], 1) for code in codes], _refresh(url, codes, 1))
                  for _ in range(args.small_repeats)]
        alone_refresh = _medians([alone for alone, _ in rounds])
        together_refresh = _median_run([together for _, together in rounds])
    finally:
        database.drop_database(server_url, url)
    load_after = os.getloadavg()[0]

    print(f"One district of {args.students:,} students, school year {SCHOOL_YEAR - 1}-{SCHOOL_YEAR} "
          f"whole, {rows:,} rows (a resync run pulls first; the model is its dbt statement):")
    floor = floors["insert"]
    _table(("run", "seconds", "the model s", "model of the write floor"), [
        ("write floor: insert from generate_series", f"{floor:.1f}", "", "1.0x"),
        ("insert from generate_series, with the unique index", f"{floors['insert, indexed']:.1f}", "",
         f"{floors['insert, indexed'] / floor:.1f}x"),
        ("insert from generate_series, then build the unique index", f"{floors['insert, then index']:.1f}", "",
         f"{floors['insert, then index'] / floor:.1f}x"),
        ("delete the district's rows, insert from generate_series (indexed)", f"{floors['replace']:.1f}", "",
         f"{floors['replace'] / floor:.1f}x"),
        ("resync run, first build (creates the table)", f"{first:.1f}", f"{first_model:.1f}",
         f"{first_model / floor:.1f}x"),
        (f"resync run, refresh (median of {args.repeats})", f"{refresh[0]:.1f}", f"{refresh[1]:.1f}",
         f"{refresh[1] / floor:.1f}x"),
    ])
    print()
    print(f"{args.districts} districts of {small:,} students ({together_rows:,} rows), the model's seconds"
          f" (medians of {args.small_repeats}):")
    alone_first_model = sum(f[1] for f in alone_first)
    alone_refresh_model = sum(r[1] for r in alone_refresh)
    _table(("run", "first build s", "refresh s"), [
        *[(f"district {code} alone", f"{f[1]:.1f}", f"{r[1]:.1f}")
          for code, f, r in zip(codes, alone_first, alone_refresh)],
        ("sum of the districts alone", f"{alone_first_model:.1f}", f"{alone_refresh_model:.1f}"),
        ("all in one run", f"{together_first_model:.1f}", f"{together_refresh[1]:.1f}"),
        ("one run / sum alone", f"{together_first_model / alone_first_model:.2f}x",
         f"{together_refresh[1] / alone_refresh_model:.2f}x"),
        ("whole resync runs (with the pulls): one run / sum alone",
         f"{together_first / sum(f[0] for f in alone_first):.2f}x",
         f"{together_refresh[0] / sum(r[0] for r in alone_refresh):.2f}x"),
    ])
    print(f"\nLoad average (1 min) {load_before:.1f} at the start, {load_after:.1f} at the end, "
          f"{os.cpu_count()} cores.")


if __name__ == "__main__":
    main()
