"""The landing's tables as the pull needs them: key, year scoping and columns.

Key and year scoping are declared once, as meta of the dbt sources in
models/staging/_landing__sources.yml; the columns are the landing tables' own (the DDL in
orchestrator/sql/tool), read from the state database, so a column added to a landing table is
pulled from then on without a second list to keep.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import lineage

#: Columns of a landing table that the pull does not read from the district.
DISTRICT_COLUMN, YEAR_COLUMN, STAMP_COLUMN = "district_id", "end_year", "modified_date"


@dataclass(frozen=True)
class LandingTable:
    name: str
    key: tuple[str, ...]  # the source key (the landing's key is district_id and these)
    year_path: tuple[str, ...] | None  # parents leading to the calendar; None: not year-scoped
    path_keys: tuple[str, ...] = ()  # the key column of each parent on year_path (the join column)

    @property
    def year_scoped(self) -> bool:
        return self.year_path is not None

    @property
    def derives_year(self) -> bool:
        """The pull adds end_year (from the calendar at the end of year_path)."""
        return bool(self.year_path)


def declared(graph) -> dict[str, LandingTable]:
    """Every landing table but the delete log (which pulls write, not read), by name."""
    metas = {table: meta for source_name, table, meta in graph.sources.values()
             if source_name == lineage.LANDING and table != "delete_log"}
    tables = {}
    for table, meta in metas.items():
        path = meta.get("year_path")
        path = None if path is None else tuple(path)
        # A single-column key per parent: the child joins on the column of that name.
        keys = tuple(metas[parent]["key"][0] for parent in path or ())
        tables[table] = LandingTable(table, tuple(meta["key"]), path, keys)
    return tables


def source_columns(cursor, table: LandingTable) -> list[str]:
    """The landing table's columns that come from the district, in table order."""
    cursor.execute(
        "select attname from pg_attribute where attrelid = %s::regclass and attnum > 0"
        " and not attisdropped order by attnum", (f"landing.{table.name}",))
    skip = {DISTRICT_COLUMN, STAMP_COLUMN} | ({YEAR_COLUMN} if table.derives_year else set())
    return [name for (name,) in cursor.fetchall() if name not in skip]


def typed_source_columns(cursor, table: LandingTable) -> list[tuple[str, str]]:
    """(name, type) of the landing table's columns that come from the district, in table order."""
    wanted = source_columns(cursor, table)
    cursor.execute("select attname, format_type(atttypid, atttypmod) from pg_attribute"
                   " where attrelid = %s::regclass and attnum > 0 and not attisdropped", (f"landing.{table.name}",))
    types = dict(cursor.fetchall())
    return [(name, types[name]) for name in wanted]
