"""`resync verify`: does the state hold what each district's site holds?

    verification = verify(url, ["01"], ["AttendanceExcuse"], school_year=2025)
    verification.equal, verification.as_dict(), verification.id   # stored in resync.verification

The state's copy of a district is made in two steps, and each is compared on its own:

1. **site -> landing** (level "site"): every source table the objects read (dbt's graph, as
   the pull derives it), the district's rows of the school year read in one snapshot of its site
   with the pull's own reader and year joins, against the district's landing partition.
2. **landing -> state** (level "state"): each object's state table against its recomputation
   from the landing: the model's SQL compiled by dbt for this district and year, run in the same
   state transaction. AttDayAggregation is recomputed through the date its last aggregation
   counted, so a day counted since is no difference.

Where both steps are equal, the state table equals what the model computes from the site's
rows now: that is how AttDayAggregation is verified against a recomputation from the site's rows,
without copying the site's attendance anywhere. Comparing per source table, rather than the site's
rows mapped to each state table, keeps every step's differences in the terms a repair needs: a
table that differs must be pulled, a state table that differs must be rebuilt. Each step is tiered
(orchestrator.state_view.segments): an equal district costs a few aggregate queries per table.
"""

from __future__ import annotations

import datetime
import json
import time
from dataclasses import dataclass, field

import psycopg
import sqlalchemy as sa
from psycopg import sql

from .. import database, dbt_invoker, migrations, registry, rights, settings
from ..catalog import CampusObject
from ..errors import ResyncError
from ..school_year import school_year_label
from ..sites import landing_sides, landing_tables, pulls
from ..sites.reader import SourceReader
from . import certificates, selection
from ..segments import Comparison, Shape, Side, compare, set_datestyle

_T = f'"{settings.TOOL_SCHEMA}"'
AGGREGATION = "att_day_aggregation"
#: Columns that are the state's bookkeeping, not district data: stamped with the state's clock.
_NOT_COMPARED = ("district_id", landing_tables.STAMP_COLUMN)


@dataclass
class ObjectCheck:
    object: str
    model: str
    tables: list[str]  # the source tables it reads (their comparisons are the district's)
    state: Comparison | None = None


@dataclass
class DistrictCheck:
    district: str
    district_name: str
    tables: dict[str, Comparison] = field(default_factory=dict)
    objects: list[ObjectCheck] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    def object_equal(self, check: ObjectCheck) -> bool:
        """Its tables at the site equal the landing, and its state table (when compared) equals
        its recomputation."""
        return (self.error is None and all(self.tables[t].equal for t in check.tables)
                and (check.state is None or check.state.equal))

    @property
    def equal(self) -> bool:
        return self.error is None and all(self.object_equal(o) for o in self.objects)

    @property
    def differing_tables(self) -> list[str]:
        return [name for name, c in self.tables.items() if not c.equal]

    @property
    def differing_objects(self) -> list[str]:
        return [o.object for o in self.objects if not self.object_equal(o)]

    @property
    def differences(self) -> int:
        states = [o.state for o in self.objects if o.state is not None]
        return sum(c.differences for c in [*self.tables.values(), *states])

    def as_dict(self) -> dict:
        return {
            "district": self.district, "district_name": self.district_name, "equal": self.equal,
            "error": self.error, "seconds": self.seconds, "differences": self.differences,
            "tables": {name: c.as_dict() for name, c in self.tables.items()},
            "objects": [{"object": o.object, "model": o.model, "equal": self.object_equal(o), "tables": o.tables,
                         "state": o.state.as_dict() if o.state else None} for o in self.objects],
        }


@dataclass
class Verification:
    school_year: int
    objects: list[str]
    districts: list[DistrictCheck]
    requested_by: str
    started_at: datetime.datetime
    seconds: float = 0.0
    id: int | None = None
    repair_requests: list[int] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return all(d.equal for d in self.districts)

    @property
    def differences(self) -> int:
        return sum(d.differences for d in self.districts)

    def summary(self) -> str:
        """One sentence for a person."""
        where = ", ".join(d.district for d in self.districts)
        failed = [d for d in self.districts if d.error]
        if self.equal:
            return (f"The state equals the site{'s' if len(self.districts) != 1 else ''} of {where} for"
                    f" {len(self.objects)} object{'s' if len(self.objects) != 1 else ''}, school year"
                    f" {school_year_label(self.school_year)}.")
        parts = []
        differing = [d for d in self.districts if not d.error and not d.equal]
        for d in differing:
            parts.append(f"district {d.district}: {d.differences:,} row difference{'s' if d.differences != 1 else ''}"
                         f" in {', '.join(d.differing_objects)}")
        for d in failed:
            parts.append(f"district {d.district} could not be verified")
        return "Differences found: " + "; ".join(parts) + "."

    def as_dict(self) -> dict:
        return {"id": self.id, "equal": self.equal, "summary": self.summary(), "school_year": self.school_year,
                "objects": self.objects, "requested_by": self.requested_by, "started_at": self.started_at,
                "seconds": self.seconds, "differences": self.differences, "repair_requests": self.repair_requests,
                "districts": [d.as_dict() for d in self.districts]}


# --- verifying -----------------------------------------------------------------------------

def verify(url: str, district_codes: list[str] | None, object_names: list[str], school_year: int | None = None,
           *, store: bool = True, recompute: bool = False,
           row_by_row: bool = False, state_tables: bool = True) -> Verification:
    """Compare the districts' sites with the state for the objects (every subscribed one by
    default) and store the outcome; a district that cannot be read is reported, the others
    still verified. Raises ResyncError only for bad input. `recompute` recomputes every state
    table, certified or not; `row_by_row` reads every row instead of the tiers (to measure and
    check them); without `state_tables` only the sites are compared with the landing (for
    measuring that step alone)."""
    year = selection.school_year(school_year)
    objects = selection.chosen_objects(object_names)
    with database.transaction(url) as conn:
        migrations.ensure_tool_schema(conn)
        districts = registry.resolve(conn, district_codes)
        through = _aggregated_through(conn, [d.code for d in districts], year)
        requested_by = rights.whoami(conn).name
    declared = landing_tables.declared(dbt_invoker.project_graph(url))
    reads = {o.model_name: pulls.tables_read([o.model_name]) for o in objects}

    started_at = datetime.datetime.now(datetime.timezone.utc)
    started = time.perf_counter()
    verification = Verification(year, [o.campus_name for o in objects], [], requested_by, started_at)
    for district in districts:
        verification.districts.append(_verify_district(url, district, objects, reads, declared, year,
                                                       through.get(district.code), recompute, row_by_row,
                                                       state_tables))
    verification.seconds = round(time.perf_counter() - started, 3)
    if store:
        with database.transaction(url) as conn:
            verification.id = _store(conn, verification)
    return verification


def _aggregated_through(conn, codes: list[str], year: int) -> dict[str, datetime.date]:
    """The date each district's AttDayAggregation last counted through (its watermark's)."""
    rows = conn.execute(sa.text(
        f"select district_id, through_date from {_T}.aggregation_watermark"
        " where end_year = :y and district_id = any(:c) and through_date is not null"), {"y": year, "c": codes})
    return dict(rows.all())


def _verify_district(url: str, district: registry.District, objects: list[CampusObject], reads: dict,
                     declared: dict, year: int, through: datetime.date | None, recompute: bool,
                     row_by_row: bool, state_tables: bool) -> DistrictCheck:
    started = time.perf_counter()
    check = DistrictCheck(district.code, district.name)
    tables = sorted({t for o in objects for t in reads[o.model_name]})
    try:
        # Before the state's snapshot is taken, as certificates.landing_as_of says.
        as_of = certificates.landing_as_of(url)
        with database.connect(url) as state, state.cursor() as cursor:
            # One moment of the state: the landing and the state tables as they were together.
            state.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            set_datestyle(cursor)
            # The planner setting every state model runs with (macros/resync_planner_settings.sql):
            # a recomputation is a whole-district rebuild, hash-join work.
            cursor.execute("set local enable_nestloop = off")
            with SourceReader(district, url) as source, source.conn.cursor() as site:  # in DATESTYLE already
                columns = {t: landing_tables.typed_source_columns(cursor, declared[t]) for t in tables}
                source.check_readable([declared[t] for t in tables], {t: [n for n, _ in c] for t, c in columns.items()})
                for name in tables:
                    check.tables[name] = _compare_table(source, site, cursor, district, declared[name],
                                                        columns[name], year, row_by_row)
            how = _Recomputation(year, through, dbt_invoker.project_fingerprint(), as_of,
                                 not (recompute or row_by_row), row_by_row)
            tables_of = [_state_table(cursor, district, o, reads[o.model_name], how) for o in objects
                         if state_tables]
            found = {t.obj.model_name: _certified(cursor, district, t, how) for t in tables_of}
            pending = [t for t in tables_of if found[t.obj.model_name] is None]
            if pending:  # one dbt compile for the tables to recompute, for this district and year
                compiled = dbt_invoker.compiled_sql([t.obj.model_name for t in pending], {
                    "districts": [district.code], "school_year": year, "aggregation_mode": "refresh",
                    "attendance_through": through.isoformat() if through else None}, url)
                for table in pending:
                    found[table.obj.model_name] = _recomputed(cursor, district, table,
                                                              compiled[table.obj.model_name], how)
            check.objects = [ObjectCheck(o.campus_name, o.model_name, reads[o.model_name], found.get(o.model_name))
                             for o in objects]
            state.commit()  # the certificates of state tables found equal
    except ResyncError as exc:
        check.error = str(exc)
    except psycopg.Error as exc:
        check.error = (f"District {district.code} ({district.name}) could not be verified:"
                       f" {database.error_reason(exc)}.")
    check.seconds = round(time.perf_counter() - started, 3)
    return check


def _columns(cursor, schema: str, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "select attname, format_type(atttypid, atttypmod) from pg_attribute"
        " where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped order by attnum",
        (sql.Identifier(schema, table).as_string(cursor.connection),))
    return [(name, kind) for name, kind in cursor.fetchall()]


def _compare_table(source: SourceReader, site, cursor, district: registry.District,
                   table: landing_tables.LandingTable, columns: list[tuple[str, str]], year: int,
                   row_by_row: bool) -> Comparison:
    shape, at_site, in_landing = landing_sides.of(source, site, cursor, table, columns, year)
    return compare(table.name, "site", shape, at_site, in_landing, cursor, row_by_row=row_by_row)


@dataclass(frozen=True)
class _Recomputation:
    """How a district's state tables are checked against the model: its inputs, and whether a
    certificate may stand in for the recomputation."""

    year: int
    through: datetime.date | None  # what AttDayAggregation counts through
    project: str  # dbt_invoker.project_fingerprint()
    landing_as_of: datetime.datetime | None  # certificates.landing_as_of: None certifies nothing
    use_certificates: bool
    row_by_row: bool


@dataclass
class _StateTable:
    """One object's state table, ready to be compared with its recomputation."""

    obj: CampusObject
    tables: list[str]  # the landing tables the model reads
    shape: Shape | None  # None: the state has no such table yet
    stored: Side | None
    through: datetime.date | None  # AttDayAggregation only: what it counts through
    certifiable: bool


def _state_table(cursor, district: registry.District, obj: CampusObject, tables: list[str],
                 how: _Recomputation) -> _StateTable:
    every = _columns(cursor, settings.STATE_SCHEMA, obj.model_name)
    # Only AttDayAggregation depends on the date counted through; a certificate without one would
    # hold for a moving "yesterday".
    through = how.through if obj.model_name == AGGREGATION else None
    certifiable = how.landing_as_of is not None and (through is not None or obj.model_name != AGGREGATION)
    if not every:
        return _StateTable(obj, tables, None, None, through, False)
    key, nullable = _state_key(cursor, obj.model_name)
    # district_id is the same on both sides, unless it is the whole key (the district's own row).
    columns = [(n, t) for n, t in every if n not in _NOT_COMPARED or n in key]
    condition = sql.SQL('"row".district_id = {}').format(sql.Literal(district.code))
    if obj.year_scoped:
        condition = sql.SQL('{} and "row".end_year = {}').format(condition, sql.Literal(how.year))
    stored = Side(sql.SQL('{} as "row" where {}').format(sql.Identifier(settings.STATE_SCHEMA, obj.model_name),
                                                         condition), cursor)
    return _StateTable(obj, tables, Shape.of(key, columns, nullable_key=nullable), stored, through, certifiable)


def _certified(cursor, district: registry.District, table: _StateTable, how: _Recomputation) -> Comparison | None:
    """An equal comparison without recomputing, when the table's certificate still holds."""
    if not (how.use_certificates and table.certifiable):
        return None
    started = time.perf_counter()
    kept = certificates.still_equal(cursor, district.code, table.obj.model_name, how.year, table.through,
                                    how.project, table.tables, table.shape, table.stored)
    if kept is None:
        return None
    rows = sum(r for r, _ in kept.values())
    return Comparison(table.obj.model_name, "state", rows_district=rows, rows_state=rows, segments=len(kept),
                      certified=True, seconds=round(time.perf_counter() - started, 3))


def _recomputed(cursor, district: registry.District, table: _StateTable, compiled: str,
                how: _Recomputation) -> Comparison:
    """The state table against the model's rows recomputed from the landing (the compiled SQL)."""
    model = table.obj.model_name
    # A newline before the parenthesis: the compiled SQL may end in a line comment.
    recomputed = sql.SQL('({}\n) as "row" where "row".district_id = {}').format(
        sql.SQL(compiled), sql.Literal(district.code))
    if table.shape is None:  # never built: everything the model computes is missing at the state
        comparison = Comparison(model, "state", note=f"the state has no table {model} yet")
        cursor.execute(sql.SQL("select count(*) from {}").format(recomputed))
        comparison.rows_district = comparison.counts["only_district"] = cursor.fetchone()[0]
        return comparison
    comparison = compare(model, "state", table.shape, Side(recomputed, cursor), table.stored, cursor,
                         row_by_row=how.row_by_row)
    if comparison.equal and table.certifiable and comparison.state_checksums is not None:
        certificates.store(cursor, district.code, model, how.year, table.through, how.project,
                           how.landing_as_of, comparison.state_checksums)
    return comparison


def _state_key(cursor, model: str) -> tuple[tuple[str, ...], bool]:
    """The state table's key without district_id and end_year (constant in the district and school
    year a verify compares; a year-scoped table's key holds end_year because it is partitioned by
    it): the columns of its unique index (its primary key, or behavior's UNIQUE NULLS NOT DISTINCT,
    macros/state_keys.sql), else of an index on it, and whether a key column may be NULL
    (behavior's resolution_id: then NULL matches NULL)."""
    cursor.execute(
        "select array(select a.attname::text from unnest(i.indkey) with ordinality as k (attnum, n)"
        "             join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum order by k.n),"
        " exists (select from unnest(i.indkey) as k (attnum) join pg_attribute a"
        "         on a.attrelid = i.indrelid and a.attnum = k.attnum where not a.attnotnull)"
        " from pg_index i where i.indrelid = to_regclass(%s) order by i.indisunique desc, i.indnatts limit 1",
        (sql.Identifier(settings.STATE_SCHEMA, model).as_string(cursor.connection),))
    found = cursor.fetchone()
    if not found:
        raise ResyncError(f"The state table {model} has no index on its key to compare rows by.")
    return tuple(c for c in found[0] if c not in ("district_id", "end_year")) or ("district_id",), found[1]


# --- history -------------------------------------------------------------------------------

def _store(conn, verification: Verification) -> int:
    return conn.execute(sa.text(
        f"insert into {_T}.verification (requested_by, started_at, seconds, school_year, districts, objects,"
        " equal, differences, summary, result) values (:by, :at, :s, :y, :d, :o, :e, :n, :summary,"
        " cast(:result as jsonb)) returning id"), {
        "by": verification.requested_by, "at": verification.started_at, "s": verification.seconds,
        "y": verification.school_year, "d": [d.district for d in verification.districts],
        "o": verification.objects, "e": verification.equal, "n": verification.differences,
        "summary": verification.summary(),
        "result": json.dumps([d.as_dict() for d in verification.districts], default=str)}).scalar()


def record_repair(conn, verification_id: int, request_ids: list[int]) -> None:
    conn.execute(sa.text(f"update {_T}.verification set repair_requests = :r where id = :id"),
                 {"r": request_ids, "id": verification_id})


@dataclass
class PastVerification:
    id: int
    started_at: datetime.datetime
    requested_by: str
    districts: list[str]
    objects: list[str]
    school_year: int
    equal: bool
    differences: int
    seconds: float
    summary: str
    repair_requests: list[int]

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def history(conn, *, limit: int = 20) -> list[PastVerification]:
    """The latest verifications, newest first."""
    rows = conn.execute(sa.text(
        f"select id, started_at, requested_by, districts, objects, school_year, equal, differences, seconds,"
        f" summary, repair_requests from {_T}.verification order by id desc limit :n"), {"n": limit})
    return [_past(r) for r in rows]


def _past(r) -> PastVerification:
    return PastVerification(r.id, r.started_at, r.requested_by, list(r.districts), list(r.objects), r.school_year,
                            r.equal, r.differences, float(r.seconds), r.summary, list(r.repair_requests or []))


def stored(conn, verification_id: int) -> tuple[PastVerification, list[dict]]:
    """One past verification and its result per district (DistrictCheck.as_dict() each); one the
    caller may not see (row-level security) is one there is not."""
    row = conn.execute(sa.text(
        f"select id, started_at, requested_by, districts, objects, school_year, equal, differences, seconds,"
        f" summary, repair_requests, result from {_T}.verification where id = :id"), {"id": verification_id}).one_or_none()
    if row is None:
        raise ResyncError(f"There is no verification {verification_id}; `resync verify --history` lists them.")
    return _past(row), list(row.result)
