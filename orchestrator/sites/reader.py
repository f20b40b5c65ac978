"""One consistent, read-only snapshot of a district's source: its site, or its schema here.

Every table a pull reads comes from one REPEATABLE READ READ ONLY transaction, so the rows of all
tables belong to the same moment at the district. A schema in the state database is read the
same way, with two more guards because the reading session is the state's: only tables (no
views, whose code would run here with the state's rights), and row security off (a policy's
expression is code too: a table that has one fails instead of running it).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import psycopg
from psycopg import sql

from .. import database
from ..errors import ResyncError
from ..segments import set_datestyle
from ..registry import District
from .landing_tables import YEAR_COLUMN, LandingTable

#: Relation kinds a schema source may hold: tables, partitioned tables and foreign tables.
_SCHEMA_KINDS = ("r", "p", "f")
#: A site may also expose views: they run at the district, under its read-only role.
_SITE_KINDS = (*_SCHEMA_KINDS, "v", "m")
#: Seconds to wait for a site that does not answer, unless its URL says otherwise.
CONNECT_TIMEOUT = 15
#: work_mem of a pull's statements, at the district and in the state (set locally in each
#: transaction): enough for the hash aggregate of a district's key ranges.
PULL_WORK_MEM = "64MB"
#: Relation kinds whose rows carry xmin, so that a pull can read only the rows changed since.
VERSIONED_KINDS = ("r", "p", "m")
#: xmin is a 32-bit transaction id that wraps around; age() compares two within 2^31 of each
#: other, and a changed-only pull wants a margin for the transactions since its snapshot.
XID_WRAP, XID_HORIZON = 2**32, 2**30


@dataclass
class Relation:
    kind: str
    columns: tuple[str, ...]
    types: tuple[str, ...] = ()  # each column's type as format_type prints it

    def type_of(self, column: str) -> str | None:
        return dict(zip(self.columns, self.types)).get(column)


@dataclass(frozen=True)
class SiteSnapshot:
    """pg_current_snapshot() of the reader's transaction: as text, and its xmin and xmax (xid8)."""

    text: str
    xmin: int
    xmax: int


@dataclass(frozen=True)
class ChangedSince:
    """Rows written (inserted or updated) by a transaction not older than a recorded snapshot's
    xmin, read in a snapshot less than XID_HORIZON transactions later.

    Every transaction before the recorded xmin had ended when that snapshot was taken; anything
    at or after it may have committed later (in flight then, or started since). Testing xmin
    against the whole recorded snapshot (pg_visible_in_snapshot) would skip fewer rows but gets
    rows of subtransactions wrong (a snapshot lists only top-level transactions, and a PL/pgSQL
    exception block is a subtransaction), which could miss a change committed after the pull:
    the xmin bound cannot. xmin is 32 bits and wraps around; age() counts back from the reading
    transaction modulo 2^32, so "no older than the recorded xmin" is age(xmin) <= age(recorded),
    exact while the two are less than 2^31 apart (the pull checks it). Frozen and bootstrap ids
    have the largest age: old. A row frozen long ago whose raw xmin happens to fall in the window
    is read again: harmless, the pull writes only what differs.
    """

    low: int  # the recorded xmin, modulo 2^32: the 32-bit id rows carry

    def condition(self, alias: sql.Identifier) -> sql.Composable:
        # The bound in a sub-select: computed once per statement, not per row.
        return sql.SQL("age({}.xmin) <= (select age({}::xid))").format(alias, sql.Literal(str(self.low)))


@dataclass(frozen=True)
class ScopedRows:
    """`rows`: FROM ... WHERE ... of a table's rows of one school year at the source, the table
    aliased "row"; `year`: the expression of the row's school year (None: not year-scoped)."""

    rows: sql.Composable
    year: sql.Composable | None


class SourceReader:
    """`with SourceReader(district, state_url) as source:` a snapshot of the district's source."""

    def __init__(self, district: District, state_url: str):
        self.district = district
        self.state_url = state_url
        self.conn: psycopg.Connection | None = None
        self.relations: dict[str, Relation] = {}  # what describe() found, for scoped()'s joins

    @property
    def is_site(self) -> bool:
        return self.district.site_url is not None

    def where(self) -> str:
        return "its site" if self.is_site else f"schema {self.district.schema_name}"

    def __enter__(self) -> "SourceReader":
        self.conn = self._connect()
        return self

    def _connect(self, snapshot: str | None = None) -> psycopg.Connection:
        """A read-only REPEATABLE READ transaction at the source, set up for pulling; in the
        exported `snapshot` when given."""
        url = self.district.site_url or self.state_url
        options = {"application_name": "state_resync_pull"}
        if "connect_timeout" not in url:
            options["connect_timeout"] = CONNECT_TIMEOUT
        try:
            conn = psycopg.connect(database.libpq_url(url), **options)
        except psycopg.Error as exc:
            raise ResyncError(
                f"District {self.district.code} ({self.district.name}): {self.where()} cannot be"
                f" reached: {database.error_reason(exc)}.") from exc
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.cursor() as cursor:
            if snapshot is not None:  # the transaction's first statement, as PostgreSQL requires
                cursor.execute(sql.SQL("set transaction snapshot {}").format(sql.Literal(snapshot)))
            # Dates cross as COPY text: in the style the state reads, whatever the district's
            # server prints by default (its 'SQL, DMY' would turn 2 September into 9 February).
            set_datestyle(cursor)
            # A pull's counts per key range (some 360,000 groups for a district of 350,000
            # students) and checksums per segment are hash aggregates: at the default 4MB the
            # landing's count of that district spilled 750 MB to disk (11.6 s, 8.9 s at 64MB).
            cursor.execute("select set_config('work_mem', %s, true)", (PULL_WORK_MEM,))
            if not self.is_site:
                cursor.execute("set local row_security = off")
                cursor.execute("set local search_path = pg_catalog, pg_temp")
        return conn

    @contextlib.contextmanager
    def twin(self) -> Iterator[psycopg.Connection | None]:
        """A second connection to the source in this reader's snapshot (exported to it), so that
        two reads of one snapshot run side by side; None for a server before PostgreSQL 10 (a
        standby could not export a snapshot) or one that cannot be reached twice: the caller then
        reads on `conn`, one thing at a time."""
        if self.conn.info.server_version < 100000:
            yield None
            return
        # Not in a savepoint, which could undo a refusal: PostgreSQL exports no snapshot from a
        # subtransaction.
        with self.conn.cursor() as cursor:
            cursor.execute("select pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        try:
            conn = self._connect(snapshot)
        except ResyncError:
            yield None
            return
        try:
            yield conn
        finally:
            conn.rollback()
            conn.close()

    def __exit__(self, *exc) -> None:
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()

    def relation(self, table: str) -> sql.Composable:
        if self.is_site:  # resolved by the site's search_path (an options=-csearch_path=... in its URL)
            return sql.Identifier(table)
        return sql.Identifier(self.district.schema_name, table)

    def snapshot(self) -> SiteSnapshot:
        """The snapshot every table of this reader is read in."""
        with self.conn.cursor() as cursor:
            cursor.execute("select s::text, pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint"
                           " from pg_current_snapshot() as s")
            return SiteSnapshot(*cursor.fetchone())

    def scoped(self, table: LandingTable, school_year: int, changed: ChangedSince | None = None) -> ScopedRows:
        """The table's rows that a pull of `school_year` reads: year-scoped tables joined along
        their year path to the calendar, whose end_year must be the school year. With `changed`,
        only rows changed since, or whose parent on the year path changed (it may have moved the
        row to another school year)."""
        row = sql.Identifier("row")
        joins: list[sql.Composable] = []
        condition, year = sql.SQL("true"), None
        if table.year_scoped:
            if table.derives_year:
                previous = row
                child = table.name
                for step, (parent, key) in enumerate(zip(table.year_path, table.path_keys)):
                    alias = sql.Identifier(f"p{step}")
                    theirs, mine = self._keys(key, alias, parent, previous, child)
                    joins.append(sql.SQL("join {} as {} on {} = {}").format(self.relation(parent), alias, theirs, mine))
                    previous, child = alias, parent
                year = sql.SQL("{}.{}").format(previous, sql.Identifier(YEAR_COLUMN))
            else:
                year = sql.SQL("{}.{}").format(row, sql.Identifier(YEAR_COLUMN))
            # An untyped literal takes the column's type, whatever type the district keeps it in.
            condition = sql.SQL("{} = {}").format(year, sql.Literal(str(int(school_year))))
        if changed is not None:
            condition = sql.SQL("{} and ({})").format(condition, self._changed_or_moved(table, changed))
        return ScopedRows(sql.SQL("{} as {} {} where {}").format(
            self.relation(table.name), row, sql.SQL(" ").join(joins), condition), year)

    def _keys(self, key: str, left_alias: sql.Identifier, left_table: str, right_alias: sql.Identifier,
              right_table: str) -> tuple[sql.Composable, sql.Composable]:
        """`key` of two tables at the district, as two comparable expressions: as they are when
        describe() found them of one type, else as text (a replica may keep a key in another type
        in one table than in the other). Typed, a join hashes integers: counting a district's 23
        million attendance rows per key range took 6.2 s, and 9.0 s with every row cast to text
        (21 s where the planner merge-joined the text, sorting both sides)."""
        left_type, right_type = (self.relations[t].type_of(key) if t in self.relations else None
                                 for t in (left_table, right_table))
        cast = sql.SQL("") if left_type is not None and left_type == right_type else sql.SQL("::text")
        return tuple(sql.SQL("{}.{}{}").format(alias, sql.Identifier(key), cast)
                     for alias in (left_alias, right_alias))

    def _changed_or_moved(self, table: LandingTable, changed: ChangedSince) -> sql.Composable:
        """A condition on the row alone: it changed, or a parent on its year path did (which may
        have moved it to another school year).

        Written as `row changed or row.key in (parents changed, or whose own parent changed...)`
        rather than as changed(row) or changed(p0) or ... over the joined parents: a condition on
        the row alone filters the table's scan, where one spanning the join can only be tested
        after it, on every row of the year (a district of 350,000 students sorted its 23 million
        attendance rows for the join before keeping the 42,000 changed ones: 22 s against 5)."""
        tables = [table.name, *(table.year_path or ())]
        aliases = [sql.Identifier("row")] + [sql.Identifier(f"changed_{step}") for step in range(len(tables) - 1)]

        def changed_or_parent_changed(step: int) -> sql.Composable:
            # The row of tables[step] changed, or its parent (tables[step + 1]) did, or that one's...
            condition = changed.condition(aliases[step])
            if step + 1 < len(tables):
                mine, theirs = self._keys(table.path_keys[step], aliases[step], tables[step],
                                          aliases[step + 1], tables[step + 1])
                condition = sql.SQL("{} or {} in (select {} from {} as {} where {})").format(
                    condition, mine, theirs, self.relation(tables[step + 1]), aliases[step + 1],
                    changed_or_parent_changed(step + 1))
            return condition

        return changed_or_parent_changed(0)

    def describe(self, tables: list[str]) -> dict[str, Relation | None]:
        """Kind and columns of each table at the source; None for a table it lacks."""
        names = [self.relation(t).as_string(self.conn) for t in tables]
        with self.conn.cursor() as cursor:
            cursor.execute(
                "select wanted.name, c.relkind::text,"
                " array(select a.attname::text from pg_attribute a where a.attrelid = c.oid"
                "       and a.attnum > 0 and not a.attisdropped order by a.attnum),"
                " array(select format_type(a.atttypid, a.atttypmod) from pg_attribute a where a.attrelid = c.oid"
                "       and a.attnum > 0 and not a.attisdropped order by a.attnum)"
                " from unnest(%s::text[]) with ordinality as wanted (name, n)"
                " left join pg_class c on c.oid = to_regclass(wanted.name) order by wanted.n",
                (names,))
            found = {}
            for table, (_, kind, columns, types) in zip(tables, cursor.fetchall()):
                found[table] = None if kind is None else Relation(kind, tuple(columns), tuple(types))
        self.relations.update({t: r for t, r in found.items() if r is not None})
        return found

    def check_readable(self, tables: list[LandingTable], columns: dict[str, list[str]]) -> dict[str, Relation]:
        """ResyncError naming the district and table unless the source has every table with its
        `columns`, and the columns its year path joins on; else each of those tables by name."""
        relations = self.describe(sorted({n for t in tables for n in (t.name, *(t.year_path or ()))}))
        for table in tables:
            self.check(table.name, relations[table.name], columns[table.name])
            for parent, wanted in _path_columns(table).items():
                self.check(parent, relations[parent], wanted)
        return relations

    def check(self, table: str, relation: Relation | None, columns: list[str]) -> None:
        """ResyncError naming the district and table when the source cannot give these columns."""
        who = f"District {self.district.code} ({self.district.name})"
        if relation is None:
            raise ResyncError(f"{who} has no table {table} in {self.where()}.")
        allowed = _SITE_KINDS if self.is_site else _SCHEMA_KINDS
        if relation.kind not in allowed:
            raise ResyncError(
                f"{who}: {table} in {self.where()} is not a table (a view's code would run in the"
                " state database), so it is not read.")
        missing = [c for c in columns if c not in relation.columns]
        if missing:
            raise ResyncError(
                f"{who}: table {table} in {self.where()} lacks the column{'s' if len(missing) > 1 else ''}"
                f" {', '.join(missing)}.")


def _path_columns(table: LandingTable) -> dict[str, list[str]]:
    """Columns the year path reads of each parent: its key, the next parent's key, and end_year
    of the calendar at the end."""
    path, keys = list(table.year_path or ()), list(table.path_keys)
    wanted = {}
    for index, parent in enumerate(path):
        wanted[parent] = [keys[index]] + (keys[index + 1:index + 2] or [YEAR_COLUMN])
    return wanted
