"""The site snapshot each pull read, kept so that the next one can read only what changed since.

    kept = recorded(cursor, district, tables, school_year)   # table name -> Recorded
    changed, why_full = since(kept.get("attendance"), current, source_of(district), columns, kinds)
    record(cursor, district, current, [(table, year, columns, key_counts), ...])

Written in the pull's own state transaction (resync.pull_snapshot, sql/tool/074_pull_snapshot.sql),
so a snapshot is recorded exactly when the landing holds its rows. A changed-only pull is safe
only while the landing holds what the recorded snapshot saw and the recorded snapshot belongs to
the site being read; `since` says why not otherwise, and the pull is a full one.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import settings
from ..registry import District
from .landing_key_counts import as_arrays, from_arrays
from .reader import VERSIONED_KINDS, XID_HORIZON, XID_WRAP, ChangedSince, Relation, SiteSnapshot

_TABLE = f'"{settings.TOOL_SCHEMA}".pull_snapshot'


@dataclass(frozen=True)
class Recorded:
    xmin: int
    xmax: int
    source: str
    columns: tuple[str, ...]
    key_counts: dict[int, int] | None = None  # the landing's keys per range then (landing_key_counts)


def source_of(district: District) -> str:
    """What a snapshot is of: the site's URL (kept without its password) or the schema."""
    return district.site_url if district.site_url is not None else f"schema {district.schema_name}"


def recorded(cursor, district: District, tables: list[str], school_year: int) -> dict[str, Recorded]:
    """The snapshot of each table's last pull of `school_year` (the whole table if not year-scoped)."""
    cursor.execute(
        "select table_name, pg_snapshot_xmin(snapshot)::text::bigint, pg_snapshot_xmax(snapshot)::text::bigint,"
        f" source, columns, key_range_bits, key_ranges, key_counts from {_TABLE}"
        " where district_id = %s and table_name = any(%s)"
        " and (end_year is null or end_year = %s)", (district.code, tables, int(school_year)))
    return {name: Recorded(xmin, xmax, source, tuple(columns), from_arrays(bits, ranges, counts))
            for name, xmin, xmax, source, columns, bits, ranges, counts in cursor}


def since(kept: Recorded | None, current: SiteSnapshot, source: str, columns: list[str],
          relations: list[Relation | None]) -> tuple[ChangedSince | None, str | None]:
    """What a changed-only pull reads, or None and why it must be a full pull. `relations`: the
    table and its parents on the year path, at the source."""
    if kept is None:
        return None, "no earlier pull recorded"
    if kept.source != source:
        return None, "the district's source changed since its last pull"
    if kept.columns != tuple(columns):
        return None, "the columns pulled changed since its last pull"
    if current.xmax < kept.xmax:
        return None, "the site's transaction counter is behind its last pull (a restored or replaced database)"
    if current.xmax - kept.xmin >= XID_HORIZON:
        return None, "too many transactions at the site since its last pull"
    if any(r is None or r.kind not in VERSIONED_KINDS for r in relations):
        return None, "a view at the site keeps no row versions"
    return ChangedSince(kept.xmin % XID_WRAP), None


def record(cursor, district: District, current: SiteSnapshot,
           pulled: list[tuple[str, int | None, list[str], dict[int, int] | None]]) -> None:
    """Keep `current` as the snapshot of each (table, end_year, columns) pulled, with the
    landing's key counts the pull left (None: not known), in the pull's transaction. A table's
    counts of its other school years are forgotten: a pull may move rows between years."""
    cursor.executemany(
        f"insert into {_TABLE} (district_id, table_name, end_year, snapshot, source, columns,"
        " key_range_bits, key_ranges, key_counts) values (%s, %s, %s, %s::pg_snapshot, %s, %s, %s, %s, %s)"
        " on conflict (district_id, table_name, end_year) do update set snapshot = excluded.snapshot,"
        " source = excluded.source, columns = excluded.columns, pulled_at = excluded.pulled_at,"
        " key_range_bits = excluded.key_range_bits, key_ranges = excluded.key_ranges,"
        " key_counts = excluded.key_counts",
        [(district.code, table, year, current.text, source_of(district), columns, *as_arrays(counts))
         for table, year, columns, counts in pulled])
    cursor.execute(
        f"update {_TABLE} as kept set key_range_bits = null, key_ranges = null, key_counts = null"
        " from unnest(%s::text[], %s::smallint[]) as pulled (table_name, end_year)"
        " where kept.district_id = %s and kept.table_name = pulled.table_name"
        " and kept.end_year is distinct from pulled.end_year and kept.key_counts is not null",
        ([table for table, *_ in pulled], [year for _, year, *_ in pulled], district.code))
