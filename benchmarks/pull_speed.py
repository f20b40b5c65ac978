"""How fast a pull is: a district site's tables into the state's landing, against bare COPY.

Generates one district of N students (default 50,000) in a database of its own on the district
site server (the embedded one of `resync db start`, or RESYNC_TEST_SITE_URL), registers it in a
throwaway state database, then measures side by side, in one run:

- the bare floor: for every table a full pull reads, `COPY (SELECT ...) TO STDOUT` at the site
  piped into `COPY ... FROM STDIN` of a plain table of the same columns and key at the state;
- a full pull (empty landing), median of --repeats;
- a re-pull with no change at the site (rows written must be 0), and the same changed-only
  (only the keys cross, to find deletes);
- a pull of one small object (AttendanceExcuse) for the district.

    .venv/bin/python benchmarks/pull_speed.py                     # 50,000 students
    .venv/bin/python benchmarks/pull_speed.py --students 5000 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import psycopg
import site_district
from psycopg import sql

from orchestrator import database, dbt_invoker, registry
from orchestrator.sites import landing_tables, pulls


def bare_copy(state_url: str, site_url: str, tables: list[landing_tables.LandingTable], year: int) -> tuple[float, int]:
    """Seconds and rows to copy the same rows with nothing but COPY between the two servers."""
    from orchestrator.sites.pull import _select
    from orchestrator.sites.reader import SourceReader

    rows = 0
    with psycopg.connect(database.libpq_url(state_url)) as state, state.cursor() as cursor:
        cursor.execute("create schema if not exists bench_copy")
        for table in tables:
            cursor.execute(sql.SQL("drop table if exists {}").format(sql.Identifier("bench_copy", table.name)))
            # The landing table's columns and key, without partitions or triggers.
            cursor.execute(sql.SQL("create table {} (like {} including defaults including constraints including indexes)").format(
                sql.Identifier("bench_copy", table.name), sql.Identifier("landing", table.name)))
        state.commit()
        district = registry.District("01", "Benchmark", None, site_url)
        started = time.perf_counter()
        with SourceReader(district, state_url) as source:
            for table in tables:
                columns = landing_tables.source_columns(cursor, table)
                stored = ["district_id", *columns, *(["end_year"] if table.derives_year else [])]
                select = _select(source, district, table, columns, year)
                with source.conn.cursor() as site_cursor:
                    with site_cursor.copy(sql.SQL("copy ({}) to stdout").format(select)) as outgoing, \
                            cursor.copy(sql.SQL("copy {} ({}) from stdin").format(
                                sql.Identifier("bench_copy", table.name),
                                sql.SQL(", ").join(map(sql.Identifier, stored)))) as incoming:
                        for block in outgoing:
                            incoming.write(block)
                    rows += site_cursor.rowcount
        state.commit()
        seconds = time.perf_counter() - started
        cursor.execute("drop schema bench_copy cascade")
        state.commit()
    return seconds, rows


def empty_landing(state_url: str) -> None:
    with psycopg.connect(database.libpq_url(state_url)) as conn:
        partitions = [r[0] for r in conn.execute(
            "select format('landing.%I', c.relname) from pg_class c where c.relnamespace = 'landing'::regnamespace"
            " and c.relkind = 'r'")]
        conn.execute(f"truncate {', '.join(partitions)}")
        conn.execute("truncate resync.pull_log")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--school-year", type=int, default=2024)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with site_district.generated(args.students, args.school_year) as (state_url, district, reader):
        graph = dbt_invoker.project_graph(state_url)
        declared = landing_tables.declared(graph)
        every = sorted(declared)
        tables = [declared[t] for t in every]
        floors, fulls, rows = [], [], 0
        for _ in range(args.repeats):
            seconds, rows = bare_copy(state_url, reader, tables, args.school_year)
            floors.append(seconds)
            empty_landing(state_url)
            [outcome] = pulls.pull(state_url, [district], every, args.school_year)
            assert outcome.ok, outcome.error
            fulls.append(outcome.seconds)
        repulls = []
        for _ in range(args.repeats):
            [again] = pulls.pull(state_url, [district], every, args.school_year)
            assert again.ok and again.written == 0, (again.error, again.written)
            repulls.append(again.seconds)
        changed_only = []
        for _ in range(args.repeats):
            [again] = pulls.pull(state_url, [district], every, args.school_year, changed_only=True)
            assert again.ok and again.written == 0, (again.error, again.written)
            assert all(t.changed_only for t in again.tables), [t.full_because for t in again.tables]
            changed_only.append(again.seconds)
        small = pulls.tables_for_objects(["AttendanceExcuse"])
        smalls = []
        for _ in range(max(args.repeats, 5)):
            [one] = pulls.pull(state_url, [district], small, args.school_year)
            assert one.ok
            smalls.append(one.seconds)

    floor, full = statistics.median(floors), statistics.median(fulls)
    print(f"\n{args.students:,} students, {rows:,} rows in {len(every)} tables; median of {args.repeats}\n")
    print("| run | rows written | seconds | throughput vs bare COPY |")
    print("|---|---:|---:|---:|")
    print(f"| bare `COPY TO STDOUT` piped into `COPY FROM STDIN` | {rows:,} | {floor:.2f} | 1.00x |")
    print(f"| full pull into an empty landing | {rows:,} | {full:.2f} | {floor / full:.2f}x |")
    print(f"| re-pull, no change at the site | 0 | {statistics.median(repulls):.2f} |"
          f" {statistics.median(repulls) / full:.0%} of the full pull |")
    print(f"| changed-only re-pull, no change at the site (reads the keys) | 0 | {statistics.median(changed_only):.2f} |"
          f" {statistics.median(changed_only) / full:.0%} of the full pull |")
    print(f"| pull of AttendanceExcuse ({', '.join(small)}) | 0 | {statistics.median(smalls):.2f} | |")


if __name__ == "__main__":
    main()
