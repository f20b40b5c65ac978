"""Pulls: copy what changed at a district into its landing partitions, in one state transaction.

    outcome = pull_district(state_url, district, ["attendance", "day"], school_year=2025)
    outcomes = pull_districts(state_url, districts, tables, school_year)   # side by side

For each table the pull streams the district's rows with COPY (text: only rows cross, nothing of
the district runs here), into a temporary table, checks their keys, then applies the differences
to the landing: vanished keys deleted, changed rows updated, new keys inserted. A row whose values
did not change is not written, so a pull of an unchanged district writes nothing. The landing's
own triggers stamp modified_date and log deletes and moves with the state's clock. The first pull
of a district copies straight into the landing.

A changed-only pull (`changed_only=True`, the nightly aggregation's) streams only the rows written
at the site since the snapshot the table's last pull read (pull_snapshots; reader.ChangedSince says
why that never misses a change committed late) and applies them the same way; a key gone from
the site is a delete, found by counting keys per range at both ends and reading the keys of the
ranges that differ (_apply_vanished). Where that is not safe (no snapshot
recorded, another source, other columns, a restored site, a view) the table is pulled in full and
the outcome says why (TablePull.full_because). Every pull records the snapshot it read.

All tables come from one snapshot of the district (SourceReader) and are applied in one state
transaction: a failed or killed pull leaves the landing as it was. Pulls of one district take one
advisory lock first, so they serialize; different districts run side by side.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields

import psycopg
from psycopg import sql

from .. import database, settings
from ..errors import ResyncError
from ..registry import District
from ..segments import checksums, in_segments, set_datestyle
from . import landing_key_counts, landing_sides, pull_snapshots
from .landing_key_counts import KEY_BITS
from .landing_tables import YEAR_COLUMN, LandingTable, source_columns, typed_source_columns
from .reader import PULL_WORK_MEM, ChangedSince, SourceReader

#: Districts pulled at once by pull_districts: the work is mostly waiting on two servers.
PARALLEL_PULLS = 4
#: Analyze a landing partition after a pull changed more than this share of its rows.
ANALYZE_SHARE = 0.1
_INTEGER_TYPES = ("integer", "bigint", "smallint")


@dataclass
class TablePull:
    table: str
    end_year: int | None  # the school year pulled; None: the whole table
    rows_read: int
    inserted: int
    updated: int
    deleted: int
    seconds: float
    analyzed: bool = field(default=False, compare=False)  # its partition's statistics refreshed
    changed_only: bool = False  # only rows changed since the last pull were read (and every key)
    keys_read: int = 0  # keys read to find deletes (changed-only)
    full_because: str | None = None  # why a changed-only pull was asked for and a full one done
    # A full re-pull: segments compared by count and checksum, and those read row by row (None
    # for a first or a changed-only pull).
    segments_compared: int | None = None
    segments_read: int | None = None
    # Changed-only: whether the landing's keys were counted (not known from the last pull).
    landing_counted: bool | None = None
    # The landing's keys per range after the pull, when known (kept for the next: landing_key_counts).
    key_counts: dict[int, int] | None = field(default=None, compare=False, repr=False)

    @property
    def written(self) -> int:
        return self.inserted + self.updated + self.deleted

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("analyzed", "key_counts")}


@dataclass
class DistrictPull:
    district: str
    district_name: str
    tables: list[TablePull] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def written(self) -> int:
        return sum(t.written for t in self.tables)

    def as_dict(self) -> dict:
        return {"district": self.district, "district_name": self.district_name, "ok": self.ok,
                "error": self.error, "seconds": self.seconds, "rows_written": self.written,
                "tables": [t.as_dict() for t in self.tables]}


def pull_districts(state_url: str, districts: list[District], tables: list[LandingTable],
                   school_year: int, changed_only: bool = False) -> list[DistrictPull]:
    """pull_district for each district, several at once; one outcome per district, in order."""
    def one(district: District) -> DistrictPull:
        return pull_district(state_url, district, tables, school_year, changed_only)

    if len(districts) <= 1:
        outcomes = [one(d) for d in districts]
    else:
        with ThreadPoolExecutor(max_workers=min(PARALLEL_PULLS, len(districts))) as pool:
            outcomes = list(pool.map(one, districts))
    _analyze_parents(state_url, sorted({t.table for o in outcomes for t in o.tables if t.analyzed}))
    return outcomes


def _analyze_parents(state_url: str, names: list[str]) -> None:
    """Statistics of the partitioned landing tables whose partitions a pull analyzed.

    A model reads a landing table through its parent (staging: `where district_id in (...)`);
    even pruned to one partition, PostgreSQL estimates joins from the parent's own statistics,
    which autovacuum never gathers for a partitioned table. Without them every join key looks
    like 200 distinct values: the attendance aggregation of a 50,000-student district was
    estimated at 10^11 rows and ran for over 18 minutes instead of about a minute. In PostgreSQL
    16 analyzing the parent samples each partition again, a few seconds for a large state. After
    the pulls' commits and in its own transactions, so that pulls of different districts never
    wait on one another's ANALYZE. Statistics only speed the models up: a failure here (say, a
    district removed meanwhile) leaves the previous ones and fails nothing.
    """
    if not names:
        return
    try:
        with database.connect(state_url, autocommit=True) as state:
            for name in names:
                state.execute(sql.SQL("analyze {}").format(sql.Identifier("landing", name)))
    except (psycopg.Error, ResyncError):
        pass


def pull_district(state_url: str, district: District, tables: list[LandingTable],
                  school_year: int, changed_only: bool = False) -> DistrictPull:
    """Pull `tables` of one district (year-scoped ones for `school_year` only); with
    `changed_only`, only what changed since each table's last pull where that is safe.

    Never raises for a problem of the district's (unreachable, a missing table or column, a
    NULL or duplicate key): the outcome's error says it in one sentence and nothing was applied.
    """
    started = time.perf_counter()
    outcome = DistrictPull(district.code, district.name)
    current = {"table": None}
    try:
        with database.connect(state_url) as state, state.cursor() as cursor:
            # The lock before the district's snapshot: a pull that waited reads a newer snapshot
            # than the one it waited for, never an older one.
            cursor.execute("select pg_advisory_xact_lock(hashtext('resync_pull'), hashtext(%s))",
                           (district.code,))
            cursor.execute("select set_config('work_mem', %s, true)", (PULL_WORK_MEM,))  # as at the district (reader)
            # Still registered, and kept so until the pull commits (its partitions go with it).
            cursor.execute(f'select 1 from "{settings.TOOL_SCHEMA}".district where code = %s for share',
                           (district.code,))
            if cursor.fetchone() is None:
                raise ResyncError(f"District {district.code} ({district.name}) is no longer registered,"
                                  " so it was not pulled.")
            with SourceReader(district, state_url) as source:
                columns = {t.name: source_columns(cursor, t) for t in tables}
                relations = source.check_readable(tables, columns)
                snapshot = source.snapshot()
                kept = pull_snapshots.recorded(cursor, district, [t.name for t in tables], school_year) \
                    if changed_only else {}
                for table in tables:
                    current["table"] = table.name
                    changed, full_because, counts = None, None, None
                    if changed_only:
                        changed, full_because = pull_snapshots.since(
                            kept.get(table.name), snapshot, pull_snapshots.source_of(district), columns[table.name],
                            [relations[n] for n in (table.name, *(table.year_path or ()))])
                        counts = kept[table.name].key_counts if changed is not None else None
                    outcome.tables.append(_pull_table(source, cursor, district, table, columns[table.name],
                                                      school_year, changed, full_because, counts))
                current["table"] = None
            _log(cursor, district, outcome.tables)
            pull_snapshots.record(cursor, district, snapshot,
                                  [(t.table, t.end_year, columns[t.table], t.key_counts) for t in outcome.tables])
            for pulled in outcome.tables:  # kept in the database now, not in the outcome
                pulled.key_counts = None
            state.commit()
    except ResyncError as exc:
        outcome.tables, outcome.error = [], str(exc)
    except psycopg.Error as exc:
        outcome.tables, outcome.error = [], _sentence(district, current["table"], exc)
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome


def _select(source: SourceReader, district: District, table: LandingTable, columns: list[str],
            school_year: int, changed: ChangedSince | None = None,
            within: sql.Composable | None = None) -> sql.Composable:
    """SELECT of the district's rows as the landing stores them: district_id first, end_year last
    where the pull derives it. Year-scoped tables are joined along their path to the calendar.
    With `changed`, only the rows changed since; with `within`, only the rows it holds for
    (a condition on the table aliased "row")."""
    row = sql.Identifier("row")
    fields = [sql.Literal(district.code)] + [sql.SQL("{}.{}").format(row, sql.Identifier(c)) for c in columns]
    scoped = source.scoped(table, school_year, changed)
    if table.derives_year:
        fields.append(scoped.year)
    return sql.SQL("select {} from {}{}").format(
        sql.SQL(", ").join(fields), scoped.rows,
        sql.SQL(" and ({})").format(within) if within is not None else sql.SQL(""))


def _pull_table(source: SourceReader, cursor, district: District, table: LandingTable, columns: list[str],
                school_year: int, changed: ChangedSince | None = None, full_because: str | None = None,
                kept_counts: dict[int, int] | None = None) -> TablePull:
    """Pull one table: in full, or with `changed` only the rows changed since (and keys, for
    deletes). `kept_counts`: the landing's keys per range as the last pull left them, if known."""
    started = time.perf_counter()
    landing = sql.Identifier("landing", table.name)
    stored = ["district_id", *columns, *([YEAR_COLUMN] if table.derives_year else [])]
    stored_sql = sql.SQL(", ").join(map(sql.Identifier, stored))
    year = int(school_year) if table.year_scoped else None

    cursor.execute(sql.SQL("select not exists (select from {} where district_id = %s)").format(landing),
                   (district.code,))
    first_pull = cursor.fetchone()[0]
    if first_pull and changed is not None:
        changed, full_because = None, "the landing holds none of its rows"
    keys_read, rows = 0, 0  # rows: how many the district has (a full pull read them all)
    counts, landing_counted = None, None  # the landing's keys per range after the pull
    segments = None  # a full re-pull: (segments compared, segments read)
    if first_pull:
        # Nothing of this district is here yet: straight into the landing. Its key constraints
        # refuse a NULL or duplicate key, which rolls the whole pull back.
        select = _select(source, district, table, columns, school_year, changed)
        read = _copy(source, cursor, select, sql.SQL("copy {} ({}) from stdin").format(landing, stored_sql))
        inserted, updated, deleted = read, 0, 0
        rows = read
    elif changed is None:
        read, inserted, updated, deleted, rows, segments = _pull_differing_segments(
            source, cursor, district, table, columns, school_year, landing, stored_sql)
    else:
        by_range = len(table.key) == 1 and \
            _column_type(cursor, f"landing.{table.name}", table.key[0]) in _INTEGER_TYPES
        # The district's keys per range counted meanwhile, on a second connection in the same
        # snapshot: they do not depend on the landing, and in the largest district the count
        # (a scan of 23 million rows) took as long as the changed rows' read and apply together.
        with source.twin() as twin, ThreadPoolExecutor(max_workers=1) as site_side:
            counted = site_side.submit(_count_at_site, twin, source, table, school_year) \
                if by_range and twin is not None else None
            incoming = _temporary(cursor, f"incoming_{table.name}", stored_sql, landing)
            select = _select(source, district, table, columns, school_year, changed)
            read = _copy(source, cursor, select, sql.SQL("copy {} ({}) from stdin").format(incoming, stored_sql))
            _check_keys(cursor, district, table, incoming)
            cursor.execute(sql.SQL("analyze {}").format(incoming))
            held = None
            if by_range and kept_counts is not None:
                held = landing_key_counts.with_entering(kept_counts, landing_key_counts.entering(
                    cursor, district.code, table.key[0], landing, incoming, _in_landing_year(year)))
            updated = _apply_updates(cursor, district, table, landing, incoming, columns)
            inserted = _apply_inserts(cursor, district, table, landing, incoming, stored_sql)
            deleted, keys_read, rows, counts = _apply_vanished(source, cursor, district, table, landing, year,
                                                               school_year, by_range, counted, held)
            landing_counted = by_range and held is None
        cursor.execute(sql.SQL("drop table {}").format(incoming))
    written = inserted + updated + deleted
    analyzed = bool(written and (first_pull or written > ANALYZE_SHARE * max(rows, 1)))
    if analyzed:
        # Fresh statistics for the models that read this district next (autovacuum is later).
        cursor.execute(sql.SQL("analyze {}").format(sql.Identifier("landing", f"{table.name}__{district.code}")))
    return TablePull(table.name, year, read, inserted, updated, deleted, round(time.perf_counter() - started, 3),
                     analyzed, changed is not None, keys_read, full_because,
                     *(segments or (None, None)), landing_counted, counts)


def _pull_differing_segments(source: SourceReader, cursor, district: District, table: LandingTable,
                             columns: list[str], school_year: int, landing: sql.Composable,
                             stored_sql: sql.Composable) -> tuple[int, int, int, int, int, tuple[int, int]]:
    """A full re-pull that reads only the segments in which the district and the landing differ:
    (rows read, inserted, updated, deleted, rows the district has, (segments compared, read)).

    Every row is still compared, by a count and a checksum per segment computed where the rows
    are (orchestrator.segments, as `resync verify` does; only one row per segment crosses), so
    this is the backstop a full pull is (a landing written by other means, a district restored to
    an earlier point in time), at the cost of reading both sides where a changed-only pull reads
    the changed rows. In the segments that differ, the rows are applied as a full pull applies
    them: vanished keys deleted, changed rows updated, new keys inserted.

    A key the district holds twice shows as a segment that differs, and is refused when both rows
    are in segments read; when the other one sits in an equal segment, the landing ends with fewer
    rows than the district has, and the table is then read and checked in full.
    """
    year = int(school_year) if table.year_scoped else None
    with source.conn.cursor() as site_cursor:  # the reader prints dates in DATESTYLE already
        set_datestyle(cursor)
        shape, at_site, in_landing = landing_sides.of(source, site_cursor, cursor, table,
                                                      typed_source_columns(cursor, table), school_year)
        # Both ends at once: they are two servers (or two sessions of one), and the largest
        # district's pull is what a sync of every district waits for last.
        with ThreadPoolExecutor(max_workers=1) as site_side:
            at_site_checksums = site_side.submit(checksums, shape, at_site)
            held = checksums(shape, in_landing)
            at_district = at_site_checksums.result()
    compared = sorted(at_district.keys() | held.keys())
    differing = [s for s in compared if at_district.get(s) != held.get(s)]
    rows = sum(count for count, _ in at_district.values())
    if not differing:
        return 0, 0, 0, 0, rows, (len(compared), 0)
    read, inserted, updated, deleted = _pull_rows(
        source, cursor, district, table, columns, school_year, landing, stored_sql,
        _select(source, district, table, columns, school_year, within=in_segments(shape, differing, "row")),
        sql.SQL(" and {}").format(in_segments(shape, differing, "landing")))
    in_scope = _in_landing_year(year)
    cursor.execute(sql.SQL("select count(*) from {} as landing where landing.district_id = %s{}").format(
        landing, in_scope), (district.code,))
    if cursor.fetchone()[0] != rows:  # a key held twice at the district, one copy not read
        again = _pull_rows(source, cursor, district, table, columns, school_year, landing, stored_sql,
                           _select(source, district, table, columns, school_year), sql.SQL(""))
        read, inserted, updated, deleted = (read + again[0], inserted + again[1], updated + again[2],
                                            deleted + again[3])
        differing = compared
    return read, inserted, updated, deleted, rows, (len(compared), len(differing))


def _pull_rows(source: SourceReader, cursor, district: District, table: LandingTable, columns: list[str],
               school_year: int, landing: sql.Composable, stored_sql: sql.Composable, select: sql.Composable,
               deletable: sql.Composable) -> tuple[int, int, int, int]:
    """The rows `select` reads at the district applied to the landing, where the landing rows
    of the school year (and `deletable`, a condition on them aliased "landing") whose key was not
    read are deleted: (rows read, inserted, updated, deleted)."""
    year = int(school_year) if table.year_scoped else None
    incoming = _temporary(cursor, f"incoming_{table.name}", stored_sql, landing)
    read = _copy(source, cursor, select, sql.SQL("copy {} ({}) from stdin").format(incoming, stored_sql))
    _check_keys(cursor, district, table, incoming)
    cursor.execute(sql.SQL("analyze {}").format(incoming))
    deleted = _apply_deletes(cursor, district, table, landing, incoming, year, deletable)
    updated = _apply_updates(cursor, district, table, landing, incoming, columns)
    inserted = _apply_inserts(cursor, district, table, landing, incoming, stored_sql)
    cursor.execute(sql.SQL("drop table {}").format(incoming))
    return read, inserted, updated, deleted


def _temporary(cursor, name: str, columns: sql.Composable, landing: sql.Composable) -> sql.Identifier:
    """An empty temporary table with these columns of the landing table (their types)."""
    temporary = sql.Identifier(name)
    cursor.execute(sql.SQL("create temporary table {} on commit drop as select {} from {} limit 0").format(
        temporary, columns, landing))
    return temporary


def _site_range(table: LandingTable) -> sql.Composable:
    """A row's key range at the district (`row`.key >> KEY_BITS), whatever type it keeps the key in."""
    return sql.SQL("{}.{}::bigint >> {}").format(sql.Identifier("row"), sql.Identifier(table.key[0]),
                                                 sql.Literal(KEY_BITS))


def _count_at_site(conn, source: SourceReader, table: LandingTable, school_year: int) -> dict[int, int]:
    """The district's keys of the school year per range (key >> KEY_BITS), read on `conn`."""
    with conn.cursor() as site_cursor:
        site_cursor.execute(sql.SQL("select {}, count(*) from {} group by 1").format(
            _site_range(table), source.scoped(table, school_year).rows))
        return dict(site_cursor.fetchall())


def _apply_vanished(source: SourceReader, cursor, district: District, table: LandingTable, landing: sql.Composable,
                    year: int | None, school_year: int, by_range: bool, counted_ahead: Future | None = None,
                    held_ahead: dict[int, int] | None = None) -> tuple[int, int, int, dict[int, int] | None]:
    """Delete the landing rows (of the year) whose key is no longer at the district, after the
    changed rows were applied; (rows deleted, keys read, rows the district has, the landing's
    keys per range now: the district's, or None when not counted by range).

    The landing then holds every key the district has (the unchanged rows since the last pull,
    the changed ones just now), so in a range of keys (2^KEY_BITS wide) where the district counts
    as many rows as the landing, the landing holds the same keys, and only the ranges that count
    differently need their keys read. A duplicate key at the district counts differently too,
    and is found among those keys. Keys that are not one integer column (`by_range` false) are
    all read. `counted_ahead`: the district's counts (_count_at_site), already under way;
    `held_ahead`: the landing's counts, known without counting it (landing_key_counts).
    """
    key = sql.Identifier(table.key[0])
    scoped = source.scoped(table, school_year)
    in_year = _in_landing_year(year)
    ranges, in_ranges = sql.SQL(""), sql.SQL("")
    site_rows = scoped.rows
    if by_range:
        landing_range = sql.SQL("landing.{} >> {}").format(key, sql.Literal(KEY_BITS))
        # Both ends at once, as a full pull's checksums: each is a scan of the district's table.
        with ThreadPoolExecutor(max_workers=1) as site_side:
            at_site_counts = counted_ahead or site_side.submit(_count_at_site, source.conn, source, table, school_year)
            held = held_ahead
            if held is None:
                cursor.execute(sql.SQL("select {}, count(*) from {} as landing where landing.district_id = %s{}"
                                       " group by 1").format(landing_range, landing, in_year), (district.code,))
                held = dict(cursor.fetchall())
            counted = at_site_counts.result()
        differing = sorted(r for r in counted.keys() | held.keys() if counted.get(r) != held.get(r))
        if not differing:
            return 0, 0, sum(counted.values()), counted
        # Each range as bounds of the key's index at both ends, not an expression of every row:
        # a day's deletes at a district of 350,000 students touch some 2,500 ranges, and testing
        # every row's range against them took 88 s at the site where the bounds take under one.
        bounds = sql.SQL(" between range.start << {} and (range.start << {}) + {}").format(
            sql.Literal(KEY_BITS), sql.Literal(KEY_BITS), sql.Literal(2**KEY_BITS - 1))
        with source.conn.cursor() as site_cursor:
            site_key_type = _column_type(site_cursor, source.relation(table.name).as_string(source.conn), table.key[0])
        if site_key_type in _INTEGER_TYPES:
            site_rows = sql.SQL("unnest({}::bigint[]) as range (start) cross join {} and {}.{}{}").format(
                sql.Literal(differing), scoped.rows, sql.Identifier("row"), key, bounds)
        else:  # a site keeping the key in another type (text, say): compared as the counts were
            site_rows = sql.SQL("{} and {} = any({}::bigint[])").format(scoped.rows, _site_range(table),
                                                                       sql.Literal(differing))
        ranges = sql.SQL(" using unnest({}::bigint[]) as range (start)").format(sql.Literal(differing))
        in_ranges = sql.SQL(" and landing.{}{}").format(key, bounds)
    key_sql = sql.SQL(", ").join(map(sql.Identifier, table.key))
    present = _temporary(cursor, f"present_{table.name}", key_sql, landing)
    fields = sql.SQL(", ").join(sql.SQL("{}.{}").format(sql.Identifier("row"), sql.Identifier(k)) for k in table.key)
    read = _copy(source, cursor, sql.SQL("select {} from {}").format(fields, site_rows),
                 sql.SQL("copy {} ({}) from stdin").format(present, key_sql))
    _check_keys(cursor, district, table, present)
    cursor.execute(sql.SQL("analyze {}").format(present))
    cursor.execute(sql.SQL(
        "delete from {} as landing{} where landing.district_id = %s{}{}"
        " and not exists (select from {} as present where {})").format(
        landing, ranges, in_year, in_ranges, present, _key_match("present", "landing", table.key)), (district.code,))
    deleted = cursor.rowcount
    cursor.execute(sql.SQL("drop table {}").format(present))
    # The landing now holds, in every range, the keys the district counted.
    return deleted, read, *((sum(counted.values()), counted) if by_range else (read, None))


def _copy(source: SourceReader, cursor, select: sql.Composable, copy_in: sql.Composable) -> int:
    """Stream the district's rows into the state; the number of rows."""
    rows = 0
    with source.conn.cursor() as site_cursor:
        with site_cursor.copy(sql.SQL("copy ({}) to stdout").format(select)) as outgoing, \
                cursor.copy(copy_in) as incoming:
            for block in outgoing:
                incoming.write(block)
        rows = site_cursor.rowcount
    return rows if rows >= 0 else 0


def _column_type(cursor, relation: str, column: str) -> str | None:
    """The type of the relation's column as format_type prints it (None without one), asked of
    the server `cursor` is on: the landing's, or the district's."""
    cursor.execute("select format_type(atttypid, atttypmod) from pg_attribute"
                   " where attrelid = to_regclass(%s) and attname = %s and not attisdropped", (relation, column))
    found = cursor.fetchone()
    return found[0] if found else None


def _in_landing_year(year: int | None) -> sql.Composable:
    """` and landing.end_year = <year>` for a year-scoped table's pull; nothing for the others."""
    return sql.SQL(" and landing.end_year = {}").format(sql.Literal(year)) if year is not None else sql.SQL("")


def _key_match(left: str, right: str, key: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(" and ").join(
        sql.SQL("{}.{} = {}.{}").format(sql.Identifier(left), sql.Identifier(k), sql.Identifier(right), sql.Identifier(k))
        for k in key)


def _check_keys(cursor, district: District, table: LandingTable, incoming: sql.Composable) -> None:
    key = sql.SQL(", ").join(map(sql.Identifier, table.key))
    missing = sql.SQL(" or ").join(sql.SQL("{} is null").format(sql.Identifier(k)) for k in table.key)
    cursor.execute(sql.SQL("select count(*) from {} where {}").format(incoming, missing))
    nulls = cursor.fetchone()[0]
    if nulls:
        raise ResyncError(
            f"District {district.code} ({district.name}): table {table.name} has {nulls:,} row"
            f"{'s' if nulls != 1 else ''} without a {', '.join(table.key)} (a NULL key), so nothing was pulled.")
    cursor.execute(sql.SQL("select {} from {} group by {} having count(*) > 1 limit 1").format(key, incoming, key))
    duplicate = cursor.fetchone()
    if duplicate:
        raise ResyncError(
            f"District {district.code} ({district.name}): table {table.name} has more than one row with"
            f" {', '.join(table.key)} {', '.join(map(str, duplicate))}, so nothing was pulled.")


def _apply_deletes(cursor, district, table, landing, incoming, year, deletable=sql.SQL("")) -> int:
    scope = _in_landing_year(year)
    cursor.execute(sql.SQL(
        "delete from {} as landing where landing.district_id = %s{}{}"
        " and not exists (select from {} as incoming where {})").format(
        landing, scope, deletable, incoming, _key_match("incoming", "landing", table.key)), (district.code,))
    return cursor.rowcount


def _apply_updates(cursor, district, table, landing, incoming, columns) -> int:
    """Rows whose values differ; by key across the district's years (a row may change year)."""
    changing = [c for c in columns if c not in table.key] + ([YEAR_COLUMN] if table.derives_year else [])
    if not changing:
        return 0
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = incoming.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in changing)
    old = sql.SQL(", ").join(sql.SQL("landing.{}").format(sql.Identifier(c)) for c in changing)
    new = sql.SQL(", ").join(sql.SQL("incoming.{}").format(sql.Identifier(c)) for c in changing)
    cursor.execute(sql.SQL(
        "update {} as landing set {} from {} as incoming where landing.district_id = %s and {}"
        " and ({}) is distinct from ({})").format(
        landing, assignments, incoming, _key_match("incoming", "landing", table.key), old, new), (district.code,))
    return cursor.rowcount


def _apply_inserts(cursor, district, table, landing, incoming, stored_sql) -> int:
    cursor.execute(sql.SQL(
        "insert into {} ({}) select {} from {} as incoming"
        " where not exists (select from {} as landing where landing.district_id = %s and {})").format(
        landing, stored_sql, stored_sql, incoming, landing, _key_match("incoming", "landing", table.key)),
        (district.code,))
    return cursor.rowcount


def _log(cursor, district: District, tables: list[TablePull]) -> None:
    cursor.executemany(
        f'insert into "{settings.TOOL_SCHEMA}".pull_log (district_id, table_name, end_year, rows_read,'
        " rows_inserted, rows_updated, rows_deleted, seconds, changed_only, full_because)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [(district.code, t.table, t.end_year, t.rows_read, t.inserted, t.updated, t.deleted, t.seconds,
          t.changed_only, t.full_because) for t in tables])


def _sentence(district: District, table: str | None, exc: psycopg.Error) -> str:
    """One sentence for a database error during a pull, naming the district and table."""
    where = f"table {table}" if table else "the pull"
    reason = database.error_reason(exc)
    if isinstance(exc, psycopg.errors.NotNullViolation):
        reason = "a row has no key (a NULL key)"
    elif isinstance(exc, psycopg.errors.UniqueViolation):
        reason = "two rows have the same key"
    return (f"District {district.code} ({district.name}): {where} could not be pulled ({reason}),"
            " so nothing was pulled.")
