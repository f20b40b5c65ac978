"""How long one day's incremental attendance aggregation takes next to a full refresh.

Generates one district of N students (default 10,000) for a school year recorded up to May into a
throwaway database on the configured server (RESYNC_DATABASE_URL, else the embedded one), runs
the Attendance Aggregation Refresh, then for each of a few days applies `resync demo change` (new
attendance, backdated corrections and inserts, deletes, a withdrawal, a roster change, an excuse
code edit, now and then a day flag) and runs the incremental aggregation. Prints a results table
and drops the database. Target: an incremental day under 5% of the refresh. Each run pulls the
district first, as `resync aggregate` does (the incremental runs read only what changed, the
refresh everything); the model's own seconds and the pull's (with the rows it read) are shown
beside the run's. After each day's run, a full re-pull of the same tables (what the nightly pull
read before changed-only pulls; it finds nothing left to write) is timed for comparison.

    .venv/bin/python benchmarks/aggregation.py
    .venv/bin/python benchmarks/aggregation.py --students 20000 --days 5
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import sqlalchemy as sa

from orchestrator import aggregation, database, dbt_invoker, migrations, registry
from orchestrator.demo_data import apply_changes, generate
from orchestrator.sites import pulls

SCHOOL_YEAR = 2024
AS_OF = date(2024, 5, 1)  # attendance recorded for most of the year, school days left to change


def _timed(url: str, refresh: bool) -> tuple[float, aggregation.DistrictAggregation]:
    started = time.perf_counter()
    result = aggregation.aggregate(["01"], refresh=refresh, school_year=SCHOOL_YEAR, url=url)
    seconds = time.perf_counter() - started
    if not result.ok:
        raise SystemExit(f"The aggregation failed: {result.error}")
    return seconds, result.districts[0]


def _last_pull(url: str) -> tuple[float, int]:
    """Seconds and rows read of the latest pull (its tables' rows in the pull log)."""
    with database.transaction(url) as conn:
        seconds, read = conn.execute(sa.text(
            "select sum(seconds), sum(rows_read) from resync.pull_log"
            " where pulled_at = (select max(pulled_at) from resync.pull_log)")).one()
    return float(seconds), int(read)


def _full_pull(url: str, district: registry.District) -> float:
    started = time.perf_counter()
    [outcome] = pulls.pull(url, [district], pulls.tables_read([aggregation.MODEL]), SCHOOL_YEAR)
    if not outcome.ok:
        raise SystemExit(f"The pull failed: {outcome.error}")
    return time.perf_counter() - started


def run(students: int, days: int, seed: int) -> list[dict]:
    server_url = database.database_url()
    url = database.create_database(server_url, prefix="resync_bench")
    try:
        with database.transaction(url) as conn:
            migrations.ensure_tool_schema(conn)
            district = registry.add(conn, "01", "Benchmark")
        generate(url, [district], schools=max(3, students // 700), students=students,
                 school_year=SCHOOL_YEAR, seed=seed, as_of=AS_OF)
        with database.transaction(url) as conn:
            # A live district's tables have statistics; freshly loaded ones get them from autovacuum
            # at some point. Analyze now so that every run below plans on the same footing.
            conn.execute(sa.text("analyze"))
        dbt_invoker.warm(url)  # parse once, outside the timings

        rows = []
        seconds, first = _timed(url, refresh=True)  # builds the table (and its indexes)
        rows.append({"run": "first build", "mode": first.mode, "rows": first.rows_written, "seconds": seconds,
                     "model": first.seconds, "pull": _last_pull(url), "full_pull": None})
        refresh_seconds, refreshed = _timed(url, refresh=True)
        rows.append({"run": "refresh", "mode": refreshed.mode, "rows": refreshed.rows_written,
                     "seconds": refresh_seconds, "model": refreshed.seconds, "pull": _last_pull(url),
                     "full_pull": None})
        for day in range(1, days + 1):
            changes = apply_changes(url, [district], days=1, seed=seed + day)["totals"]
            seconds, outcome = _timed(url, refresh=False)
            pulled = _last_pull(url)
            rows.append({"run": f"day {day} ({changes['new_attendance_rows']} new, "
                                f"{changes['backdated_updates'] + changes['backdated_inserts']} backdated, "
                                f"{changes['attendance_deletes']} deleted, {changes['day_flag_changes']} day flags)",
                         "mode": outcome.mode, "rows": outcome.rows_written, "seconds": seconds,
                         "model": outcome.seconds, "pull": pulled, "full_pull": _full_pull(url, district)})
        for row in rows:
            row["of_refresh"] = row["seconds"] / refresh_seconds
            row["model_of_refresh"] = row["model"] / refreshed.seconds
        return rows
    finally:
        database.drop_database(server_url, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=3, help="days of changes, one incremental run each")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rows = run(args.students, args.days, args.seed)

    print(f"Attendance aggregation, one district of {args.students:,} students, school year "
          f"{SCHOOL_YEAR - 1}-{SCHOOL_YEAR} recorded up to {AS_OF}:")
    # A run pulls the district's tables first; "the model" is the aggregation's own dbt statement.
    header = ("run", "mode", "rows written", "seconds", "of refresh", "the model s", "of the model's refresh",
              "pull s", "rows pulled", "full re-pull s")
    lines = [header] + [(r["run"], r["mode"], f"{r['rows']:,}", f"{r['seconds']:.2f}", f"{r['of_refresh']:.1%}",
                         f"{r['model']:.2f}", f"{r['model_of_refresh']:.1%}", f"{r['pull'][0]:.2f}",
                         f"{r['pull'][1]:,}", "" if r["full_pull"] is None else f"{r['full_pull']:.2f}")
                        for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join([line[0].ljust(widths[0]), line[1].ljust(widths[1])]
                        + [cell.rjust(width) for cell, width in zip(line[2:], widths[2:])]))


if __name__ == "__main__":
    main()
