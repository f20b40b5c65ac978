"""A Nevada-sized state: the weekly sync, one district's resync and the nightly aggregation.

Generates, into a throwaway database on the configured server (RESYNC_DATABASE_URL, else the
embedded one), 17 districts sized like Nevada's (about 485,000 students, two thirds of them in
the largest district; --scale 0.1 for a tenth), each with the whole school year 2023-2024. Then,
each step a `resync` command in its own process, as a person or a schedule would run it:
- the weekly sync: `resync run` of every subscribed object for every district, with
  dependencies, --weeks times, a week of district changes (`resync demo change --days 5`)
  and a plain VACUUM (what autovacuum does during the week) before each but the first;
- one district's resync of every object, the largest district;
- the nightly aggregation (`resync aggregate`, incremental), --nights times, each after a day of
  changes (`resync demo change --days 1`); the median is compared with the weekly sync;
- the write floor: every state table's rows written once more, as a plain CREATE TABLE AS
  copy of each table, in the same run.
For each step: seconds, the peak resident memory of the resync process, and the peak private
memory of the database's processes together (shared buffers excluded). At the end: the state
tables' and indexes' sizes after the first and after the last weekly sync (bloat). Prints the
tables and the load average, and drops the database (unless --keep or --reuse).

    .venv/bin/python benchmarks/state_scale.py --scale 0.1
    .venv/bin/python benchmarks/state_scale.py --idle-below 1.5   # the full state: about 1.5 hours on 2 cores

--idle-below LOAD waits before each timed step for the machine to settle (the load at each
step's start is printed). --nights N times N nightly runs, each after its own day of changes,
and reports their median. --keep leaves the generated database in place and prints its URL;
--reuse URL runs the steps again on a database kept that way (same --scale), without generating
it (a full-size state takes minutes to generate and its first weekly sync a quarter of an hour):
every weekly sync then follows a week of changes.

    .venv/bin/python benchmarks/state_scale.py --scale 0.1 --keep
    .venv/bin/python benchmarks/state_scale.py --scale 0.1 --reuse URL --weeks 1 --nights 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from orchestrator import database, dbt_invoker, migrations, registry, state_config
from orchestrator.demo_data import generate
from orchestrator.errors import ResyncError

SCHOOL_YEAR = 2024
AS_OF = date(SCHOOL_YEAR, 7, 1)  # after the year: generated whole
STATE_STUDENTS = 485_000

#: Nevada's 17 county districts and their approximate enrollments (rounded public counts); the
#: generator scales them so that they add up to STATE_STUDENTS.
NEVADA = (
    ("CL", "Clark", 309_000), ("WA", "Washoe", 64_000), ("EL", "Elko", 10_000),
    ("LY", "Lyon", 9_000), ("CC", "Carson City", 7_600), ("NY", "Nye", 5_500),
    ("DO", "Douglas", 5_400), ("HU", "Humboldt", 3_400), ("CH", "Churchill", 3_200),
    ("WP", "White Pine", 1_200), ("LA", "Lander", 1_000), ("LI", "Lincoln", 900),
    ("PE", "Pershing", 650), ("MI", "Mineral", 500), ("ST", "Storey", 420),
    ("EU", "Eureka", 300), ("ES", "Esmeralda", 70),
)

# The `resync` command, run by this interpreter (so with the same package path).
RESYNC = [sys.executable, "-c", "from orchestrator.cli import main; main()"]


class DatabaseMemory:
    """Samples the private memory (RssAnon) of the server's processes, keeping the peak total, and
    the peak resident memory (VmHWM) of the `resync` process being watched.

    Not the child's ru_maxrss from wait4: Linux carries the resident peak of the address space a
    process had before exec into it, and a child started by fork or vfork had this benchmark's
    (at full size the generator's 850 MB showed as every command's peak). VmHWM belongs to the
    address space exec gives the child, so it is the command's own."""

    def __init__(self, url: str):
        with database.transaction(url) as conn:
            data_directory = conn.execute(sa.text("show data_directory")).scalar()
        self.postmaster = int(Path(data_directory, "postmaster.pid").read_text().split()[0])
        self.peak_kb = 0
        self.watched: int | None = None  # the resync process's pid
        self.watched_peak_kb = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _watched_kb(self) -> int:
        if self.watched is None:
            return 0
        try:
            status = Path("/proc", str(self.watched), "status").read_text()
        except OSError:  # ended meanwhile
            return 0
        return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)

    def _total_kb(self) -> int:
        total = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                status = Path(entry.path, "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            pid, ppid = int(entry.name), int(fields.get("PPid", "0").strip())
            if pid == self.postmaster or ppid == self.postmaster:
                total += int(fields.get("RssAnon", "0 kB").split()[0])
        return total

    def __enter__(self) -> "DatabaseMemory":
        self.peak_kb = self.watched_peak_kb = 0
        self.watched = None
        self._stop.clear()

        def sample() -> None:
            while not self._stop.wait(0.25):
                self.peak_kb = max(self.peak_kb, self._total_kb())
                self.watched_peak_kb = max(self.watched_peak_kb, self._watched_kb())

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


#: --idle-below: before each timed step, wait (at most this long) for the load average to fall.
IDLE_WAIT_SECONDS = 900


def _wait_for_idle(below: float | None) -> None:
    """Let the machine settle before a timed step: until the 1-minute load average is under
    `below` (the previous step's own work takes about half a minute to fade from it)."""
    if below is None:
        return
    deadline = time.monotonic() + IDLE_WAIT_SECONDS
    while os.getloadavg()[0] >= below and time.monotonic() < deadline:
        time.sleep(5)


def _resync(url: str, args: list[str], memory: DatabaseMemory, idle_below: float | None = None) -> dict:
    """Run one `resync` command in its own process: seconds, peak memory and the load average
    when it started."""
    _wait_for_idle(idle_below)
    load = os.getloadavg()[0]
    env = {**os.environ, "RESYNC_DATABASE_URL": url}
    with memory:
        started = time.perf_counter()
        process = subprocess.Popen(RESYNC + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True)
        memory.watched = process.pid
        output = process.stdout.read()
        # The last sample before the process ends: its status, read while it is a zombie, has no
        # memory lines any more.
        _, status = os.waitpid(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"`resync {' '.join(args)}` failed:\n{output}")
    return {"seconds": seconds, "resync_mb": memory.watched_peak_kb / 1024, "database_mb": memory.peak_kb / 1024,
            "load": load}


def _sizes(url: str) -> tuple[int, int, int]:
    """(rows, table bytes, index bytes) of the state schema."""
    with database.transaction(url) as conn:
        tables = conn.execute(sa.text(
            "select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'state' and c.relkind = 'r'")).scalars().all()
        rows = sum(conn.execute(sa.text(f"select count(*) from {t}")).scalar() for t in tables)
        heap, index = conn.execute(sa.text(
            "select coalesce(sum(pg_table_size(c.oid)), 0), coalesce(sum(pg_indexes_size(c.oid)), 0)"
            " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'state' and c.relkind = 'r'")).one()
    return rows, heap, index


def _write_floor(url: str) -> float:
    """Every state table's rows written once more, as CREATE TABLE AS copies (then dropped)."""
    with database.transaction(url) as conn:
        tables = conn.execute(sa.text(
            "select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'state' and c.relkind = 'r'")).scalars().all()
    seconds = 0.0
    for n, table in enumerate(tables):
        started = time.perf_counter()
        database.autocommit(url, f"create table public.floor_{n} as select * from {table}")
        seconds += time.perf_counter() - started
        database.autocommit(url, f"drop table public.floor_{n}")
    return seconds


def _check_kept(url: str, districts: list[tuple[str, str, int]]) -> None:
    """One sentence and a non-zero exit unless `url` is a state this benchmark kept (--keep)."""
    try:
        with database.transaction(url) as conn:
            registered = {d.code for d in registry.list_all(conn)} if migrations.applied_names(conn) is not None else set()
    except ResyncError as exc:
        raise SystemExit(f"--reuse: {exc}") from None
    missing = [code for code, _, _ in districts if code not in registered]
    if missing:
        raise SystemExit(f"--reuse: {url} holds no state this benchmark kept (districts {', '.join(missing)}"
                         " are not registered there).")


def _districts(scale: float) -> list[tuple[str, str, int]]:
    total = sum(students for _, _, students in NEVADA)
    return [(code, name, max(30, round(students * STATE_STUDENTS * scale / total)))
            for code, name, students in NEVADA]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="a fraction of the state's students")
    parser.add_argument("--weeks", type=int, default=4, help="weekly syncs in a row")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--idle-below", type=float, default=None, metavar="LOAD",
                        help="before each timed step, wait (up to 15 minutes) for the 1-minute load average"
                             " to fall below LOAD")
    parser.add_argument("--nights", type=int, default=3, help="nightly runs, each after a day of changes")
    parser.add_argument("--keep", action="store_true", help="leave the database in place and print its URL")
    parser.add_argument("--reuse", metavar="URL", help="run on a database an earlier --keep left (same --scale)")
    args = parser.parse_args()
    if args.weeks < 1 or args.nights < 1:
        parser.error("--weeks and --nights take at least 1.")
    districts = _districts(args.scale)
    load_before = os.getloadavg()[0]

    server_url = database.database_url()
    if args.reuse:
        _check_kept(args.reuse, districts)
    url = args.reuse or database.create_database(server_url, prefix="resync_bench")
    try:
        generated = None
        if not args.reuse:
            with database.transaction(url) as conn:
                migrations.ensure_tool_schema(conn)
                registered = [registry.add(conn, code, name) for code, name, _ in districts]
            started = time.perf_counter()
            for n, (district, (_, _, students)) in enumerate(zip(registered, districts)):
                generate(url, [district], schools=max(1, students // 700), students=students,
                         school_year=SCHOOL_YEAR, seed=args.seed + n, as_of=AS_OF)
            generated = time.perf_counter() - started
            database.autocommit(url, "analyze")
        dbt_invoker.warm(url)  # the manifest on disk, as a deployed checkout has it

        memory = DatabaseMemory(url)
        codes = [code for code, _, _ in districts]
        objects = state_config.load().as_dict()["subscribed_objects"]
        run_args = [a for o in objects for a in ("-o", o)] + [
            "--check-dependencies", "--school-year", str(SCHOOL_YEAR), "--yes"]
        steps, sizes = [], {}
        for week in range(1, args.weeks + 1):
            first = week == 1 and not args.reuse
            if not first:
                _resync(url, ["demo", "change", "--days", "5", "--seed", str(args.seed + week)], memory)
                database.autocommit(url, "vacuum")
            result = _resync(url, ["run", *[a for c in codes for a in ("-d", c)], *run_args], memory,
                             args.idle_below)
            steps.append((f"weekly sync {week}" + (" (creates the tables)" if first else ""), result))
            if week in (1, args.weeks):
                sizes[week] = _sizes(url)
        largest = max(districts, key=lambda d: d[2])
        steps.append((f"one district's resync, every object ({largest[1]}, {largest[2]:,} students)",
                      _resync(url, ["run", "-d", largest[0], *run_args], memory, args.idle_below)))
        for night in range(1, args.nights + 1):
            _resync(url, ["demo", "change", "--days", "1", "--seed", str(args.seed + 100 + night)], memory)
            steps.append((f"nightly aggregation {night}, incremental, after a day of changes",
                          _resync(url, ["aggregate", "--school-year", str(SCHOOL_YEAR)], memory, args.idle_below)))
        _wait_for_idle(args.idle_below)
        floor = _write_floor(url)
    finally:
        if args.keep or args.reuse:
            print(f"The state is kept in {url}", flush=True)
        else:
            database.drop_database(server_url, url)
    load_after = os.getloadavg()[0]

    students = sum(d[2] for d in districts)
    rows = sizes[1][0]
    print(f"{len(districts)} districts, {students:,} students (largest {largest[2]:,}), school year "
          f"{SCHOOL_YEAR - 1}-{SCHOOL_YEAR} whole, "
          + (f"generated in {generated:.0f} s; " if generated is not None else "a kept state; ")
          + f"{rows:,} state rows after the first sync.")
    header = ("run", "seconds", "of the write floor", "resync MB", "database MB", "load at start")
    lines = [("write floor: every state table copied once (CREATE TABLE AS)", f"{floor:.1f}", "1.0x", "", "", "")]
    for name, r in steps:
        lines.append((name, f"{r['seconds']:.1f}", f"{r['seconds'] / floor:.1f}x",
                      f"{r['resync_mb']:.0f}", f"{r['database_mb']:.0f}", f"{r['load']:.1f}"))
    _table(header, lines)
    weekly = [r["seconds"] for name, r in steps if name.startswith("weekly sync") and "creates" not in name]
    nightly = statistics.median(r["seconds"] for name, r in steps if name.startswith("nightly"))
    if weekly:
        median = statistics.median(weekly)
        print(f"\nThe nightly aggregation took {100 * nightly / median:.1f}% of the median weekly sync that"
              f" replaced tables ({median:.1f} s), at its median ({nightly:.1f} s).")
    print()
    _table(("state tables", "rows", "tables MB", "indexes MB"), [
        (f"after weekly sync {week}", f"{size[0]:,}", f"{size[1] / 2**20:,.0f}", f"{size[2] / 2**20:,.0f}")
        for week, size in sorted(sizes.items())])
    print(f"\nLoad average (1 min) {load_before:.1f} at the start, {load_after:.1f} at the end, "
          f"{os.cpu_count()} cores.")


def _table(header: tuple[str, ...], lines: list[tuple[str, ...]]) -> None:
    lines = [header] + lines
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join([line[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(line[1:], widths[1:])]))


if __name__ == "__main__":
    main()
