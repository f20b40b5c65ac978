"""A district's table at its source and in the landing, as the two sides of a comparison by
segment (orchestrator.segments): `resync verify` compares them, and a full pull reads only the
segments in which they differ.

    shape, at_site, in_landing = landing_sides.of(source, site_cursor, state_cursor, table, columns, 2025)
"""

from __future__ import annotations

from psycopg import sql

from ..segments import Shape, Side
from .landing_tables import LandingTable
from .reader import SourceReader


def of(source: SourceReader, site_cursor, state_cursor, table: LandingTable, columns: list[tuple[str, str]],
       school_year: int) -> tuple[Shape, Side, Side]:
    """The table's rows of the school year (all of them for a table not year-scoped) at the
    source, read on `site_cursor`, and in the landing, read on `state_cursor`; `columns`:
    (name, landing type) of the columns that come from the district (typed_source_columns)."""
    shape = Shape.of(table.key, columns)
    at_site = Side(source.scoped(table, school_year).rows, site_cursor)
    condition = sql.SQL('"row".district_id = {}').format(sql.Literal(source.district.code))
    if table.year_scoped:
        condition = sql.SQL('{} and "row".end_year = {}').format(condition, sql.Literal(int(school_year)))
    in_landing = Side(sql.SQL('{} as "row" where {}').format(sql.Identifier("landing", table.name), condition),
                      state_cursor)
    return shape, at_site, in_landing
