"""Running dbt from tests: in-process through orchestrator.dbt_invoker (one parsed manifest per
process, reused across databases and vars), plus what the state-table tests compare.

dbt is not safe to run twice at once in one process: tests that need overlapping runs start
separate processes with `dbt_subprocess`.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from orchestrator import catalog, database, dbt_invoker, lineage, registry, settings
from orchestrator.school_year import current_school_year
from orchestrator.sites import pulls


def pull(url: str, districts: list[str] | None = None, school_year: int | None = None) -> None:
    """Pull every landing table of the districts (default: all registered) for the school year,
    as a resync does before it runs dbt; fails the test when a pull fails."""
    with database.transaction(url) as conn:
        chosen = registry.resolve(conn, districts or [], none_registered="") if districts or registry.list_all(conn) else []
    year = school_year or current_school_year()
    for outcome in pulls.pull(url, chosen, pulls.tables_for_objects([]), year):
        assert outcome.ok, outcome.error


def dbt(url: str, command: str, *args: str, districts: list[str] | None = None,
        school_year: int | None = None, expect_success: bool = True,
        pull_first: bool = True) -> dbt_invoker.Invocation:
    """`dbt <command> <args> --vars {...}` against `url`; fails the test when dbt fails (unless told).

    `run` and `build` pull the districts in scope first (pull_first), as every resync does: dbt
    itself reads only the landing."""
    if pull_first and command in ("run", "build"):
        pull(url, districts, school_year)
    variables = {"districts": districts or [], "school_year": school_year}
    result = dbt_invoker.invoke([command, *args, "--vars", dbt_invoker.vars_argument(variables)], url)
    if expect_success:
        assert result.success, f"dbt {command} {' '.join(args)} failed: {result.error}"
    return result


def dbt_subprocess(url: str, command: str, *args: str, districts: list[str] | None = None,
                   school_year: int | None = None, work_dir: Path) -> subprocess.Popen:
    """The same as `dbt`, in a separate Python process with its own target and log folders."""
    variables = {"districts": districts or [], "school_year": school_year}
    dbt_args = [command, *args, "--vars", dbt_invoker.vars_argument(variables)]
    code = (
        "import sys; from orchestrator import dbt_invoker; "
        f"r = dbt_invoker.invoke({dbt_args!r}, {url!r}); "
        "print(r.error or 'ok'); sys.exit(0 if r.success else 1)"
    )
    environment = dict(os.environ, DBT_TARGET_PATH=str(work_dir / "target"),
                       DBT_LOG_PATH=str(work_dir / "logs"))
    return subprocess.Popen([sys.executable, "-c", code], env=environment, cwd=settings.project_dir(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@functools.lru_cache(maxsize=1)
def parsed_manifest() -> dict:
    """The manifest.json that `dbt parse` writes (parsing needs no database), once per session."""
    from dbt.cli.main import dbtRunner

    target = Path(os.environ["DBT_TARGET_PATH"]) / "parsed"
    project = str(settings.dbt_project_dir())
    result = dbtRunner().invoke(["parse", "--project-dir", project, "--profiles-dir", project,
                                 "--target-path", str(target), "--log-level", "none"])
    assert result.success, f"dbt parse failed: {result.exception}"
    return json.loads((target / "manifest.json").read_text())


def project_models(manifest: dict, folder: str) -> dict[str, dict]:
    """name -> manifest node of every model in models/<folder>."""
    return {node["name"]: node for node in lineage.folder_nodes(manifest, folder).values()}


def state_models() -> list[str]:
    return [o.model_name for o in catalog.load()]


def checksums(url: str, district: str | None = None,
              models: list[str] | None = None) -> dict[str, tuple[int, str]]:
    """(row count, md5 of the sorted rows) of every state table (or those named), for one district or all."""
    result = {}
    with database.transaction(url) as conn:
        for model in models or state_models():
            table = f'"{settings.STATE_SCHEMA}"."{model}"'
            where = "where t.district_id = :d" if district else ""
            row = conn.execute(sa.text(
                f"select count(*), coalesce(md5(string_agg(t::text, '|' order by t::text)), '')"
                f" from {table} as t {where}"), {"d": district}).one()
            result[model] = (row[0], row[1])
    return result


def count_rows(url: str, model: str, where: str = "true", **params) -> int:
    with database.transaction(url) as conn:
        return conn.execute(sa.text(
            f'select count(*) from "{settings.STATE_SCHEMA}"."{model}" where {where}'), params).scalar()


def empty_sources(conn, schema: str) -> None:
    """Delete every row of a district's sources: the district stays registered, with no data."""
    from orchestrator.sources import SOURCE_TABLES

    tables = ", ".join(f'"{schema}"."{t}"' for t in (*SOURCE_TABLES, "delete_log"))
    conn.execute(sa.text(f"truncate {tables}"))
