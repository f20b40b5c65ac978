"""The daily attendance aggregation: `resync aggregate` and the nightly schedule.

    result = aggregate()                      # every district, incremental: result.ok, .as_dict()
    result = aggregate(["01"], refresh=True)  # the Attendance Aggregation Refresh of district 01

The districts run in one dbt invocation per mode (the model computes each district in its own
statement); when that run fails, each of its districts runs alone, so a district that fails is
rolled back and reported, and the others still finish. A district is aggregated incrementally
(only the student-days its sources changed since its watermark, see
macros/att_day_watermark.sql) when it has a watermark for the school year; otherwise, or with
`refresh`, all of its school year is recomputed, which also sets its watermark. One school year
is aggregated per call: `school_year` (`--school-year`), else the `school_year` var of
dbt_project.yml, else the current one. Attendance counts through yesterday, or through a date
given that lies between the school year's first day (July 1) and yesterday.
"""

from __future__ import annotations

import datetime

import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import sqlalchemy as sa

from . import catalog, database, dbt_invoker, migrations, registry, settings, state_config
from .errors import ResyncError
from .sites import pulls
from .state_view import sync_log
from .school_year import current_school_year, first_day, school_year_label

MODEL = "att_day_aggregation"
INCREMENTAL, REFRESH = "incremental", "refresh"
SUCCESS, ERROR = "success", "error"


@dataclass
class DistrictAggregation:
    district: str
    district_name: str
    mode: str  # incremental or refresh
    status: str  # success or error
    # Rows (re)computed and written; None when the run failed or could record no watermark (the
    # run's counts are kept with it: see att_day_capture_watermark).
    rows_written: int | None
    seconds: float
    # Rows the run deleted, those it wrote again included; None when failed or not known (a
    # first build or a run that could record no watermark).
    rows_deleted: int | None = None
    watermark: str | None = None  # how far the district's sources are aggregated now
    error: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class AggregationResult:
    school_year: int
    districts: list[DistrictAggregation] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(d.status == SUCCESS for d in self.districts)

    @property
    def error(self) -> str | None:
        failed = [d for d in self.districts if d.status != SUCCESS]
        if not failed:
            return None
        return "; ".join(f"district {d.district}: {d.error}" for d in failed)

    def as_dict(self) -> dict:
        return {
            "school_year": self.school_year,
            "ok": self.ok,
            "error": self.error,
            "seconds": self.seconds,
            "districts": [d.as_dict() for d in self.districts],
        }


def configured_school_year() -> int:
    """The `school_year` var of dbt_project.yml, else the current school year."""
    configured = state_config.school_year()
    return current_school_year() if configured is None else configured


def aggregate(
    district_codes: list[str] | None = None,
    refresh: bool = False,
    *,
    school_year: int | None = None,
    through: datetime.date | None = None,
    url: str | None = None,
    on_district: Callable[[DistrictAggregation], None] | None = None,
    origin: sync_log.SyncOrigin | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> AggregationResult:
    """Aggregate the districts' attendance (all registered ones by default).

    Incremental unless `refresh`; a district never aggregated for the year is refreshed.
    Attendance counts through `through` (default yesterday: today's is still being taken).
    `on_district` hears each district's result as soon as it is known; `should_stop` (a cancel)
    says not to run the districts of a failed run again one by one. A district aggregated is
    recorded for `resync freshness` as asked by `origin` (default: the current user).
    """
    url = url or database.database_url()
    year = school_year or configured_school_year()
    if through is not None:
        check_through(through, year)
    with database.transaction(url) as conn:
        migrations.ensure_tool_schema(conn)
        _check_subscribed()
        districts = registry.resolve(conn, district_codes)
        watermarks = _watermarks(conn, [d.code for d in districts], year)

    started = time.perf_counter()
    result = AggregationResult(school_year=year)
    # What the aggregation reads, fresh from every district first (only what changed is written;
    # incremental runs read only what changed, the refresh reads everything: the backstop).
    pulled = {p.district: p for p in pulls.pull(url, districts, pulls.tables_read([MODEL]), year,
                                                 changed_only=not refresh)}

    def report(*outcomes: DistrictAggregation) -> None:
        # Every district of a run is heard, even when the listener stops the aggregation (raises)
        # at the first one: they were all committed together.
        stopped = None
        for outcome in outcomes:
            result.districts.append(outcome)
            if on_district:
                try:
                    on_district(outcome)
                except Exception as exc:  # re-raised below, once the run's districts are told
                    stopped = stopped or exc
        if stopped is not None:
            raise stopped

    by_mode: dict[str, list[registry.District]] = {}
    for district in districts:
        mode = REFRESH if refresh or district.code not in watermarks else INCREMENTAL
        if pulled[district.code].ok:
            by_mode.setdefault(mode, []).append(district)
        else:
            report(DistrictAggregation(
                district=district.code, district_name=district.name, mode=mode, status=ERROR,
                rows_written=None, seconds=pulled[district.code].seconds, error=pulled[district.code].error))
    for mode, group in by_mode.items():
        # Every district of a mode in one dbt run: the model computes each district in its own
        # statement, so one run costs its rows plus one start-up, where a run per district paid
        # dbt's start-up, compile and hooks again for each (most of a nightly run of a state).
        # One transaction, though: when it fails, each district runs alone, so that the broken
        # one fails alone and the others are aggregated.
        outcomes = _run(group, mode, year, through, url, origin)
        stopping = should_stop is not None and should_stop()  # a cancel ends the run: no retries
        if len(group) > 1 and any(o.status != SUCCESS for o in outcomes) and not stopping:
            outcomes = [_run([district], mode, year, through, url, origin)[0] for district in group]
        report(*outcomes)
    order = {d.code: n for n, d in enumerate(districts)}
    result.districts.sort(key=lambda d: order[d.district])
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _run(districts: list[registry.District], mode: str, year: int, through: datetime.date | None, url: str,
         origin: sync_log.SyncOrigin | None) -> list[DistrictAggregation]:
    """One dbt run of the model for these districts in one mode: an outcome per district."""
    invocation = dbt_invoker.invoke([
        "run", "--select", MODEL,
        "--vars", dbt_invoker.vars_argument(
            {"districts": [d.code for d in districts], "school_year": year, "aggregation_mode": mode,
             "attendance_through": through.isoformat() if through else None}),
    ], url=url)
    node = next((n for n in invocation.nodes if n.model == MODEL), None)
    succeeded = invocation.success and node is not None and node.status == SUCCESS
    seconds = node.seconds if node else invocation.seconds
    if not succeeded:
        error = _failure(invocation, node)
        return [DistrictAggregation(district=d.code, district_name=d.name, mode=mode, status=ERROR,
                                    rows_written=None, seconds=seconds, error=error) for d in districts]
    outcomes = []
    with database.transaction(url) as conn:
        for district in districts:
            watermark, rows_deleted, rows_written = _last_run(conn, district.code, year)
            outcomes.append(DistrictAggregation(
                district=district.code, district_name=district.name, mode=mode, status=SUCCESS,
                rows_written=rows_written, seconds=seconds, rows_deleted=rows_deleted, watermark=watermark))
        sync_log.record(conn, origin, [sync_log.Synced(o.district, "AttDayAggregation", year, o.rows_written)
                                       for o in outcomes])
    return outcomes


def check_through(through: datetime.date, year: int, today: datetime.date | None = None) -> None:
    """Refuse a count-through date after yesterday (a day to come would count as a day present)
    or before the school year starts (every day of the year would be deleted).

    macros/resync_scope.sql's resync_attendance_through() holds a plain dbt run to the same rule.
    """
    yesterday = (today or datetime.date.today()) - datetime.timedelta(days=1)
    if through > yesterday:
        raise ResyncError(f"Attendance cannot count through {through}: the last day that counts is yesterday,"
                          f" {yesterday} (today's attendance is still being taken).")
    if through < first_day(year):
        raise ResyncError(f"Attendance cannot count through {through}: school year {school_year_label(year)}"
                          f" starts on {first_day(year)}.")


def _failure(invocation: dbt_invoker.Invocation, node) -> str:
    if invocation.success and node is None:
        return f"{MODEL} was not selected"
    return dbt_invoker.short_reason(
        invocation.error or (node.message if node else None) or "dbt reported a failure without a message")


def _check_subscribed() -> None:
    config = state_config.load()
    if not config.subscribes(catalog.resolve("AttDayAggregation")):
        raise ResyncError(
            f"{config.name} does not subscribe to AttDayAggregation, so attendance is not aggregated;"
            " add it to subscribed_objects in dbt_project/dbt_project.yml.")


def _watermarks(conn, codes: list[str], year: int) -> dict[str, str]:
    rows = conn.execute(sa.text(
        f'select district_id, watermark from "{settings.TOOL_SCHEMA}".aggregation_watermark'
        " where end_year = :year and district_id = any(:codes)"), {"year": year, "codes": codes})
    return {code: watermark.isoformat() for code, watermark in rows}


def _last_run(conn, code: str, year: int) -> tuple[str | None, int | None, int | None]:
    """The district's watermark and the rows its last run deleted and wrote (Nones without a row)."""
    row = conn.execute(sa.text(
        f'select watermark, rows_deleted, rows_written from "{settings.TOOL_SCHEMA}".aggregation_watermark'
        " where end_year = :year and district_id = :code"), {"year": year, "code": code}).one_or_none()
    return (row.watermark.isoformat(), row.rows_deleted, row.rows_written) if row else (None, None, None)
