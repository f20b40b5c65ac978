"""What a resync pulls, and pulling it: the API that resync, aggregate and `resync pull` share.

Which landing tables an object reads is dbt's graph (state model -> staging -> source), never a
hand-kept list: lineage.source_tables walks it.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from .. import dbt_invoker, lineage
from ..errors import ResyncError
from ..registry import District
from . import landing_tables
from .pull import DistrictPull, pull_districts
from .reader import SourceReader


def tables_read(model_names: list[str]) -> list[str]:
    """The landing tables the models read, in the order the pull applies them (sorted)."""
    graph = dbt_invoker.project_graph()
    declared = landing_tables.declared(graph)
    return [t for t in lineage.source_tables(graph, model_names) if t in declared]


def pull(state_url: str, districts: list[District], table_names: list[str], school_year: int,
         changed_only: bool = False) -> list[DistrictPull]:
    """Pull the named landing tables of each district (side by side); one outcome per district.
    `changed_only`: read only what changed at the site since each table's last pull, where safe."""
    declared = landing_tables.declared(dbt_invoker.project_graph(state_url))
    unknown = [t for t in table_names if t not in declared]
    if unknown:
        raise ResyncError(f"No landing table {', '.join(unknown)}.")
    return pull_districts(state_url, districts, [declared[t] for t in table_names], school_year, changed_only)


def has_calendar(state_url: str, district: District, school_year: int) -> bool | None:
    """Whether the district's source has a calendar of the school year; None when it cannot be
    asked now (unreachable, or no readable calendar table): its pull will say why."""
    try:
        with SourceReader(district, state_url) as source, source.conn.cursor() as cursor:
            cursor.execute(sql.SQL("select exists (select from {} where end_year = %s)").format(
                source.relation("calendar")), (int(school_year),))
            return bool(cursor.fetchone()[0])
    except (ResyncError, psycopg.Error):
        return None


def tables_for_objects(objects: list[str], check_dependencies: bool = False) -> list[str]:
    """The landing tables the named objects read (with their parents' too when asked); every
    landing table when no object is named."""
    from .. import catalog

    if not objects:
        return sorted(landing_tables.declared(dbt_invoker.project_graph()))
    chosen = [catalog.resolve(name) for name in objects]
    if check_dependencies:
        chosen = catalog.with_dependencies(chosen)
    return tables_read([o.model_name for o in chosen])
