"""Two row sets compared in tiers, so that equal ones cost little.

    shape = Shape(key=("excuse_id",), columns=(("excuse_id", "integer"), ...), segments=...)
    comparison = compare("attendance_excuse", "site", shape, district_side, state_side, state_cursor)

1. Row counts and 2. a checksum per segment, computed where the rows are (one aggregate query per
   side: only one row per segment crosses, never the rows). A segment is a calendar, split by
   month for tables with a `date`; tables without a calendar are split by ranges of their key.
3. Only the segments whose count or checksum differ are read row by row: the district side's
   rows of those segments are copied into a temporary table next to the state's and joined on
   the key, giving the keys only at the district, only at the state, and in both but different
   (with the columns that differ).

Both sides print every value in the same type (each column cast to the type the state keeps it
in) and date style, and hash its UTF-8 bytes, so a district server in another encoding or type
still checksums equal. A segment's checksum is the sum of a 60-bit slice of each row's md5: order
does not matter, so neither side sorts (the sum-of-hashes checksum data-diff tools use).
Hand-written rather than a data-diff library: those compare two tables over two connections,
while the sides here are a district's snapshot with its year joins, a recomputation by dbt's
compiled SQL, and tables in one transaction with the state's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

#: Keys per segment for tables that have no calendar (their key, divided by this, is the segment).
KEY_RANGE = 1000
#: Keys listed per set in a result (the counts are always exact).
LISTED_KEYS = 200
#: Every side prints dates the same way.
DATESTYLE = "ISO, MDY"
_INTEGER_TYPES = ("integer", "bigint", "smallint")


@dataclass(frozen=True)
class Shape:
    """What both sides of a comparison give: key, compared columns (with the state's type) and segments."""

    key: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]  # (name, SQL type), key columns included
    segments: tuple[str, ...]  # "calendar", "month" or "range" (of the key), in this order
    nullable_key: bool = False  # a key column may be NULL (and NULL matches NULL)

    @classmethod
    def of(cls, key: tuple[str, ...], columns: list[tuple[str, str]], nullable_key: bool = False) -> "Shape":
        """Segments by calendar (and month where there is a date); by key range otherwise."""
        types = dict(columns)
        if "calendar_id" in types:
            segments = ("calendar", "month") if types.get("date") == "date" else ("calendar",)
        elif len(key) == 1 and types.get(key[0]) in _INTEGER_TYPES:
            segments = ("range",)
        else:
            segments = ()
        return cls(tuple(key), tuple(columns), segments, nullable_key)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]


@dataclass(frozen=True)
class Side:
    """One side's rows: `rows` is FROM ... [WHERE ...] with the rows aliased "row", read on `cursor`."""

    rows: sql.Composable
    cursor: Any  # a psycopg cursor: the site's, or the state's


@dataclass
class Comparison:
    """One table (or state table) of one district: the outcome of the tiers it needed."""

    name: str
    level: str  # "site": the district's table against the landing; "state": the state table
    #             against its recomputation from the landing
    rows_district: int = 0
    rows_state: int = 0
    segments: int = 0  # segments compared by checksum
    segments_differing: int = 0
    rows_read: int = 0  # rows read row by row (both sides), in the segments that differ
    only_district: list[dict] = field(default_factory=list)  # keys, up to LISTED_KEYS
    only_state: list[dict] = field(default_factory=list)
    different: list[dict] = field(default_factory=list)  # {"key": {...}, "columns": [...]}
    counts: dict[str, int] = field(default_factory=lambda: {"only_district": 0, "only_state": 0, "different": 0})
    seconds: float = 0.0
    note: str | None = None  # why a comparison could not be made as usual (no state table yet)
    certified: bool = False  # equal by its certificate: nothing recomputed (state_view.certificates)
    state_checksums: dict | None = field(default=None, repr=False)  # segment -> (rows, checksum)

    @property
    def differences(self) -> int:
        return sum(self.counts.values())

    @property
    def equal(self) -> bool:
        return self.differences == 0 and self.rows_district == self.rows_state and self.note is None

    def as_dict(self) -> dict:
        return {"name": self.name, "level": self.level, "equal": self.equal, "rows_district": self.rows_district,
                "rows_state": self.rows_state, "segments": self.segments,
                "segments_differing": self.segments_differing, "rows_read": self.rows_read,
                "counts": dict(self.counts), "only_district": self.only_district, "only_state": self.only_state,
                "different": self.different, "seconds": self.seconds, "note": self.note,
                "certified": self.certified}


def set_datestyle(cursor) -> None:
    cursor.execute(sql.SQL("set local datestyle = {}").format(sql.Literal(DATESTYLE)))


def _segment_expressions(shape: Shape, alias: str = "row") -> list[sql.Composable]:
    row = sql.Identifier(alias)
    found = []
    for segment in shape.segments:
        if segment == "calendar":
            found.append(sql.SQL("coalesce({}.calendar_id::bigint, -1)").format(row))
        elif segment == "month":
            found.append(sql.SQL("coalesce(extract(year from {0}.date)::int * 100 + extract(month from {0}.date)::int, 0)")
                         .format(row))
        else:
            found.append(sql.SQL("{}.{}::bigint / {}").format(row, sql.Identifier(shape.key[0]), sql.Literal(KEY_RANGE)))
    return found or [sql.SQL("0")]


def _normalized(shape: Shape, side: Side) -> sql.Composable:
    """The side's rows as both sides give them: segment columns s0, s1, ..., then every compared
    column cast to its type."""
    row = sql.Identifier("row")
    segments = [sql.SQL("{} as {}").format(e, sql.Identifier(f"s{i}")) for i, e in enumerate(_segment_expressions(shape))]
    columns = [sql.SQL("cast({}.{} as {}) as {}").format(row, sql.Identifier(n), sql.SQL(t), sql.Identifier(n))
               for n, t in shape.columns]
    return sql.SQL("select {} from {}").format(sql.SQL(", ").join(segments + columns), side.rows)


def _segment_names(shape: Shape) -> list[sql.Identifier]:
    return [sql.Identifier(f"s{i}") for i in range(max(len(shape.segments), 1))]


def checksums(shape: Shape, side: Side) -> dict[tuple, tuple[int, int]]:
    """segment -> (rows, checksum) on one side: one aggregate query where the rows are."""
    names = _segment_names(shape)
    record = sql.SQL("row({})").format(sql.SQL(", ").join(sql.SQL("n.{}").format(sql.Identifier(c)) for c in shape.names))
    side.cursor.execute(sql.SQL(
        "select {segments}, count(*), sum(('x' || left(md5(convert_to({record}::text, 'UTF8')), 15))::bit(60)::bigint)"
        " from ({rows}) as n group by {segments}").format(
        segments=sql.SQL(", ").join(sql.SQL("n.{}").format(n) for n in names), record=record,
        rows=_normalized(shape, side)))
    width = len(names)
    return {tuple(r[:width]): (int(r[width]), int(r[width + 1] or 0)) for r in side.cursor.fetchall()}


def in_segments(shape: Shape, segments: list[tuple], alias: str) -> sql.Composable:
    """A condition that holds for the rows of table alias `alias` (its own columns, as stored) in
    these segments."""
    if not shape.segments:  # one segment, the whole table
        return sql.SQL("true") if segments else sql.SQL("false")
    if not segments:
        return sql.SQL("false")
    # IN a sub-select of VALUES, which PostgreSQL hashes: a list of thousands of segments costs a
    # hash probe per row, not a comparison with each.
    values = sql.SQL(", ").join(sql.SQL("({})").format(sql.SQL(", ").join(map(sql.Literal, s))) for s in segments)
    return sql.SQL("({}) in (select * from (values {}) as segment)").format(
        sql.SQL(", ").join(_segment_expressions(shape, alias)), values)


def _in_segments(shape: Shape, segments: list[tuple]) -> sql.Composable:
    names = sql.SQL(", ").join(sql.SQL("n.{}").format(n) for n in _segment_names(shape))
    values = sql.SQL(", ").join(sql.SQL("({})").format(sql.SQL(", ").join(map(sql.Literal, s))) for s in segments)
    return sql.SQL("({}) in ({})").format(names, values)


def _rows_of(shape: Shape, side: Side, segments: list[tuple] | None, state_cursor, name: str) -> sql.Composable:
    """A relation at the state holding the side's rows of these segments (every row for None):
    the side's own query when it is read at the state, else a temporary table the rows are copied
    (or, all of them, stored) into."""
    columns = sql.SQL(", ").join(sql.SQL("n.{}").format(sql.Identifier(c)) for c in shape.names)
    select = sql.SQL("select {} from ({}) as n where {}").format(
        columns, _normalized(shape, side), sql.SQL("true") if segments is None else _in_segments(shape, segments))
    table = sql.Identifier(name)
    if side.cursor is state_cursor:
        if segments is not None:
            return sql.SQL("({})").format(select)
        # Every row (row by row): kept once, so that a recomputation is not run twice.
        state_cursor.execute(sql.SQL("create temporary table {} on commit drop as {}").format(table, select))
        return table
    state_cursor.execute(sql.SQL("create temporary table {} ({}) on commit drop").format(
        table, sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in shape.columns)))
    with side.cursor.copy(sql.SQL("copy ({}) to stdout").format(select)) as outgoing, \
            state_cursor.copy(sql.SQL("copy {} from stdin").format(table)) as incoming:
        for block in outgoing:
            incoming.write(block)
    return table


def _differences(shape: Shape, district: sql.Composable, state: sql.Composable, state_cursor,
                 comparison: Comparison) -> None:
    """Fill the three sets from the rows of the differing segments, joined on the key."""
    d, s = sql.Identifier("d"), sql.Identifier("s")
    key = [sql.Identifier(k) for k in shape.key]
    other_names = [c for c in shape.names if c not in shape.key]
    others = [sql.Identifier(c) for c in other_names]
    if shape.nullable_key:  # the keys' text, where NULL is NULL's equal (and still a hash join)
        on = sql.SQL("row({})::text = row({})::text").format(
            sql.SQL(", ").join(sql.SQL("{}.{}").format(d, k) for k in key),
            sql.SQL(", ").join(sql.SQL("{}.{}").format(s, k) for k in key))
    else:
        on = sql.SQL(" and ").join(sql.SQL("{}.{} = {}.{}").format(d, k, s, k) for k in key)
    differing = sql.SQL(", ").join(
        sql.SQL("case when {d}.{c} is distinct from {s}.{c} then {name} end").format(
            d=d, s=s, c=sql.Identifier(name), name=sql.Literal(name))
        for name in other_names) if other_names else sql.SQL("null::text")
    present = sql.Identifier("verify_present")
    state_cursor.execute(sql.SQL(
        "create temporary table verify_found on commit drop as"
        " select {keys}, case when {s}.{present} is null then 'only_district' when {d}.{present} is null"
        " then 'only_state' else 'different' end as found, array_remove(array[{differing}], null) as columns"
        " from (select n.*, true as {present} from {district} as n) as {d}"
        " full join (select n.*, true as {present} from {state} as n) as {s} on {on}"
        " where {d}.{present} is null or {s}.{present} is null or ({dcols}) is distinct from ({scols})").format(
        keys=sql.SQL(", ").join(sql.SQL("coalesce({}.{}, {}.{}) as {}").format(d, k, s, k, k) for k in key),
        s=s, d=d, present=present, differing=differing, district=district, state=state, on=on,
        dcols=sql.SQL(", ").join([sql.SQL("{}.{}").format(d, c) for c in others] or [sql.SQL("null")]),
        scols=sql.SQL(", ").join([sql.SQL("{}.{}").format(s, c) for c in others] or [sql.SQL("null")])))
    state_cursor.execute("select found, count(*) from verify_found group by found")
    comparison.counts.update({found: int(count) for found, count in state_cursor.fetchall()})
    state_cursor.execute(sql.SQL(
        "select * from (select verify_found.*, row_number() over (partition by found order by {keys}) as n"
        " from verify_found) as listed where n <= {limit} order by found, {keys}").format(
        keys=sql.SQL(", ").join(key), limit=sql.Literal(LISTED_KEYS)))
    for row in state_cursor.fetchall():
        keys = dict(zip(shape.key, row[:len(key)]))
        found, columns = row[len(key)], row[len(key) + 1]
        if found == "different":
            comparison.different.append({"key": keys, "columns": list(columns)})
        else:
            getattr(comparison, found).append(keys)
    state_cursor.execute("drop table verify_found")


def compare(name: str, level: str, shape: Shape, district: Side, state: Side, state_cursor, *,
            row_by_row: bool = False) -> Comparison:
    """Compare the two sides in tiers; the rows of only the differing segments are read.

    `row_by_row` skips the checksums and reads every row of both sides: the plain comparison
    the tiers save, for measuring them (benchmarks/verify_speed.py) and for checking them."""
    started = time.perf_counter()
    comparison = Comparison(name, level)
    differing = None
    if not row_by_row:
        at_district, at_state = checksums(shape, district), checksums(shape, state)
        comparison.rows_district = sum(rows for rows, _ in at_district.values())
        comparison.rows_state = sum(rows for rows, _ in at_state.values())
        segments = sorted(at_district.keys() | at_state.keys())
        differing = [s for s in segments if at_district.get(s) != at_state.get(s)]
        comparison.state_checksums = at_state
        comparison.segments, comparison.segments_differing = len(segments), len(differing)
        comparison.rows_read = sum(at_district.get(s, (0, 0))[0] + at_state.get(s, (0, 0))[0] for s in differing)
    if differing is None or differing:
        district_rows = _rows_of(shape, district, differing, state_cursor, "verify_district")
        state_rows = _rows_of(shape, state, differing, state_cursor, "verify_state")
        if row_by_row:
            for relation, attribute in ((district_rows, "rows_district"), (state_rows, "rows_state")):
                state_cursor.execute(sql.SQL("select count(*) from {} as n").format(relation))
                setattr(comparison, attribute, state_cursor.fetchone()[0])
            comparison.rows_read = comparison.rows_district + comparison.rows_state
        _differences(shape, district_rows, state_rows, state_cursor, comparison)
        for table in ("verify_district", "verify_state"):
            state_cursor.execute(sql.SQL("drop table if exists {}").format(sql.Identifier(table)))
    comparison.seconds = round(time.perf_counter() - started, 3)
    return comparison
