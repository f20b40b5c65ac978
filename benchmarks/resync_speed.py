"""How long `resync run -d 01 -o AttendanceExcuse --yes` takes, next to the plain dbt command.

Run on the demo data (`make demo` first):

    .venv/bin/python benchmarks/resync_speed.py [--repeats 3]

It times, each as the median of --repeats runs after one untimed warm-up:
- the plain `dbt run ...` command that `resync run --dry-run` prints, in a fresh process each time
  (with dbt's partial parsing warm in its own target folder, as for a person who runs it often);
- the `resync run` command in a fresh process, without and with the manifest cached on disk;
- the second of two runs inside one process (the warm in-process path the worker uses).
Every run replaces the same rows, so the database ends as it started.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from orchestrator import database, dbt_invoker, resync, settings
from orchestrator.cli import main as resync_cli
from orchestrator.cli.common import tool_transaction

DISTRICT, OBJECT = "01", "AttendanceExcuse"
RESYNC_ARGS = ["run", "-d", DISTRICT, "-o", OBJECT, "--yes"]


def _timed(action, repeats: int) -> float:
    action()  # warm-up, untimed
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def _check(completed: subprocess.CompletedProcess, what: str) -> None:
    if completed.returncode != 0:
        sys.exit(f"{what} failed:\n{completed.stdout}\n{completed.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()

    url = database.database_url()
    with tool_transaction() as conn:
        plan = resync.build_plan(conn, [DISTRICT], [OBJECT], check_dependencies=False, school_year=None)
    dbt_command = plan.dbt_command()
    resync_bin = str(Path(sys.executable).with_name("resync"))
    scratch = Path(tempfile.mkdtemp(prefix="resync-bench-"))
    base_env = os.environ | database.dbt_environment(url) | {"RESYNC_DATABASE_URL": url}
    plain_env = base_env | {"DBT_TARGET_PATH": str(scratch / "plain-target"),
                            "DBT_LOG_PATH": str(scratch / "plain-logs")}
    dbt_bin = str(Path(sys.executable).with_name("dbt"))
    plain_args = [dbt_bin, *shlex.split(dbt_command)[1:]]

    def plain_dbt() -> None:
        _check(subprocess.run(plain_args, cwd=settings.project_dir(), env=plain_env,
                              capture_output=True, text=True), "The plain dbt command")

    # A fresh process with nothing cached: its own resync home, so the manifest is parsed.
    def resync_fresh_no_cache() -> None:
        home = scratch / "cold-home"
        shutil.rmtree(home, ignore_errors=True)
        _check(subprocess.run([resync_bin, *RESYNC_ARGS], env=base_env | {"RESYNC_HOME": str(home)},
                              capture_output=True, text=True), "resync run (no cache)")

    def resync_fresh_disk_cache() -> None:
        _check(subprocess.run([resync_bin, *RESYNC_ARGS], env=base_env | {"RESYNC_HOME": str(scratch / "home")},
                              capture_output=True, text=True), "resync run (disk cache)")

    runner = CliRunner()

    def resync_in_process() -> None:
        result = runner.invoke(resync_cli, RESYNC_ARGS, catch_exceptions=False)
        if result.exit_code != 0:
            sys.exit(f"resync run in-process failed:\n{result.output}")

    rows = [
        ("plain dbt command (fresh process, partial parsing)", _timed(plain_dbt, options.repeats)),
        ("resync run, fresh process, no cached manifest", _timed(resync_fresh_no_cache, options.repeats)),
        ("resync run, fresh process, manifest cached on disk", _timed(resync_fresh_disk_cache, options.repeats)),
        ("resync run, second run in one process", _timed(resync_in_process, options.repeats)),
    ]
    shutil.rmtree(scratch, ignore_errors=True)

    plain = rows[0][1]
    print(f"Demo data, district {DISTRICT}, object {OBJECT}; median of {options.repeats} runs after a warm-up.")
    print(f"Plain command: {dbt_command}\n")
    width = max(len(name) for name, _ in rows)
    print(f"{'run':<{width}}  {'seconds':>7}  {'vs plain dbt':>12}")
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds:7.2f}  {plain / seconds:11.1f}x")
    warm = rows[-1][1]
    verdict = "met" if plain / warm >= 5 else "NOT met"
    print(f"\nTarget (warm in-process at least 5x faster than plain dbt): {verdict}.")
    dbt_invoker.forget_manifest()


if __name__ == "__main__":
    main()
