"""The report views (models/reports, schema state_reports): building them and reading their rows."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import dbt_invoker, settings, state_config
from ..errors import ResyncError

REPORTS_SCHEMA = f"{settings.STATE_SCHEMA}_reports"

#: The views `resync report` reads, with the order of their rows: each district's total first,
#: then each school's, then its grades (or months).
SUMMARY = "attendance_summary"
SUMMARY_BY_MONTH = "attendance_summary_by_month"
RULES = "chronic_absence_rules"
_ORDER = {
    SUMMARY: "district_id, school_id nulls first, grade nulls first",
    SUMMARY_BY_MONTH: "district_id, school_id nulls first, month_seq, month_name",
    RULES: "rule_seq",
}


def build_views(url: str, school_year: int) -> None:
    """Create (or recreate) the report views over the state tables."""
    invocation = dbt_invoker.invoke(
        ["run", "--select", "reports", "--vars", dbt_invoker.vars_argument({"school_year": school_year})], url=url)
    if not invocation.success:
        raise ResyncError(f"The attendance report views could not be built: {invocation.error}")


def exist(conn: Connection) -> bool:
    """Whether every view the report reads exists."""
    return not conn.execute(sa.text(
        "select count(*) from unnest(cast(:names as text[])) as name"
        " where to_regclass(format('%I.%I', cast(:schema as text), name)) is null"),
        {"names": list(_ORDER), "schema": REPORTS_SCHEMA}).scalar()


def up_to_date(conn: Connection, rules: list[state_config.ChronicAbsenceRule]) -> bool:
    """Whether every view the report reads exists and applies the configured chronic absence rules
    (the views are built from dbt_project.yml, which may have changed since)."""
    if not exist(conn):
        return False
    built = rows(conn, RULES)
    return [_rule_key(r) for r in built] == [_rule_key(r.as_dict()) for r in rules]


def _rule_key(rule: dict) -> tuple:
    def number(value):
        return None if value is None else Decimal(value).normalize()
    return (rule["rule"], number(rule["threshold"]), number(rule["absent_days"]), int(rule["min_membership_days"]))


def plan_for_whole_districts(conn: Connection) -> None:
    """For the rest of the transaction: no nested loops. Right after a resync the state tables
    have no statistics yet (autovacuum analyzes them later), row estimates collapse to 1 and the
    planner nests loops over every membership day: attendance_summary_by_month took 39 s on the
    test districts (40,000 membership days) that way and 0.8 s with hash joins, which is what a
    report over whole districts needs anyway (as resync_planner_settings() says for the models)."""
    conn.execute(sa.text("set local enable_nestloop = off"))


def rows(conn: Connection, view: str, districts: list[str] | None = None, school_year: int | None = None) -> list[dict]:
    """The rows of a report view, in report order, for the districts and school year given."""
    where = []
    if districts is not None:
        where.append("district_id = any(:districts)")
    if school_year is not None:
        where.append("end_year = :year")
    found = conn.execute(sa.text(
        f'select * from "{REPORTS_SCHEMA}"."{view}"'
        f"{' where ' + ' and '.join(where) if where else ''} order by {_ORDER[view]}"),
        {"districts": districts, "year": school_year})
    return [dict(r._mapping) for r in found]
