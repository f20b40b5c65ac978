"""One attendance report: the report views' rows for chosen districts and a school year, with the
chronic absence rules they apply and each district's freshness. The CLI (`resync report`) and any
other surface read reports through `load` and format what it returns."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Sequence

from .. import database, migrations, registry, rights, state_config
from ..errors import ResyncError
from ..school_year import MAX_SCHOOL_YEAR, MIN_SCHOOL_YEAR, current_school_year, school_year_label
from . import freshness as freshness_module
from . import views

#: The columns of --csv (and of every row, where they apply), before the chronic absence columns.
COLUMNS = ["level", "district_id", "district_name", "end_year", "school_id", "school_name", "grade",
           "month_seq", "month_name", "membership_days", "days_absent", "days_present", "truant_days",
           "students", "ada", "adm", "attendance_rate"]
CHRONIC_MEASURES = ("counted", "absent", "rate")


@dataclass
class Report:
    state_name: str
    school_year: int
    districts: list[registry.District]
    rules: list[dict]  # rows of chronic_absence_rules, in order
    summary: list[dict]  # rows of attendance_summary: district, school and grade levels
    by_month: list[dict]  # rows of attendance_summary_by_month: district and school levels
    freshness: list[freshness_module.DistrictFreshness] = field(default_factory=list)
    generated_at: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc))

    @property
    def rule_objects(self) -> list[state_config.ChronicAbsenceRule]:
        return [state_config.ChronicAbsenceRule(r["rule"], r["min_membership_days"], threshold=r["threshold"],
                                                absent_days=r["absent_days"]) for r in self.rules]

    def level(self, name: str, monthly: bool = False) -> list[dict]:
        """The rows of one level: district, school or grade (district or school by month)."""
        return [r for r in (self.by_month if monthly else self.summary) if r["level"] == name]

    def chronic_columns(self) -> list[str]:
        return [f"chronic_{r['rule']}_{m}" for r in self.rules for m in CHRONIC_MEASURES]

    def as_dict(self) -> dict:
        """JSON-ready: numbers as numbers, times in ISO 8601; the row lists are the views' rows."""
        return {
            "state": self.state_name,
            "school_year": self.school_year,
            "school_year_label": school_year_label(self.school_year),
            "generated_at": self.generated_at.isoformat(),
            "districts": [{"code": d.code, "name": d.name} for d in self.districts],
            views.RULES: _plain(self.rules),
            views.SUMMARY: _plain(self.summary),
            views.SUMMARY_BY_MONTH: _plain(self.by_month),
            "freshness": _plain([f.as_dict() for f in self.freshness]),
        }

    def csv_columns(self) -> list[str]:
        return COLUMNS + self.chronic_columns()

    def csv_rows(self) -> list[dict]:
        """The school year's rows, then the months', under one header (csv_columns)."""
        columns = self.csv_columns()
        return [{c: row.get(c) for c in columns} for row in (*self.summary, *self.by_month)]


def load(url: str | None = None, districts: Sequence[str] = (), school_year: int | None = None, *,
         freshness: freshness_module.Freshness = freshness_module.district_freshness) -> Report:
    """The report for the districts (default: every registered one) and school year (default: the
    current one). Builds the report views first when they are missing or apply other chronic
    absence rules than dbt_project.yml configures."""
    url = url or database.database_url()
    year = current_school_year() if school_year is None else int(school_year)
    if not MIN_SCHOOL_YEAR <= year <= MAX_SCHOOL_YEAR:
        raise ResyncError(f"School year {year} is out of range: give the end year, such as {current_school_year()}.")
    config = state_config.load()
    rules = state_config.chronic_absence_rules()
    with database.transaction(url) as conn:
        migrations.ensure_tool_schema(conn)
        caller = rights.whoami(conn)
        chosen = _readable_districts(conn, caller, list(districts))
        current, built = views.up_to_date(conn, rules), views.exist(conn)
    # The views are the worker's (macros/resync_access.sql): only it and administrators rebuild
    # them; anyone else reads them as they are, or is told who can build them.
    if not current and caller.right in (rights.ADMIN, rights.WORKER):
        views.build_views(url, year)
    elif not built:
        raise ResyncError("The attendance report views are not built yet: an administrator's"
                          " `resync report` builds them.")
    codes = [d.code for d in chosen]
    with database.transaction(url) as conn:
        views.plan_for_whole_districts(conn)
        return Report(
            state_name=config.name, school_year=year, districts=chosen,
            rules=views.rows(conn, views.RULES),
            summary=views.rows(conn, views.SUMMARY, codes, year),
            by_month=views.rows(conn, views.SUMMARY_BY_MONTH, codes, year),
            freshness=freshness(conn, chosen),
        )


def _readable_districts(conn, caller: rights.Caller, codes: list[str]) -> list[registry.District]:
    """The districts named (default: every one the caller sees). Row-level security hides other
    districts' rows from a district-level user anyway; this says so in a sentence."""
    outside = [c for c in codes if caller.districts is not None and c not in caller.districts]
    if outside:
        raise ResyncError(f"{caller.name} may read districts {', '.join(caller.districts) or 'none'} only,"
                          f" not {', '.join(outside)}.")
    return registry.resolve(conn, codes)


def district_summary(url: str, school_year: int) -> list[dict]:
    """Per district for the school year: ADA, ADM, attendance rate and the federal chronic absence
    rate (what `resync demo setup` ends with)."""
    report = load(url, school_year=school_year)
    return [{"district_id": r["district_id"], "ada": round(r["ada"], 1), "adm": round(r["adm"], 1),
             "attendance_rate": r["attendance_rate"],
             "chronic_absence_rate": r[f"chronic_{state_config.FEDERAL}_rate"]}
            for r in report.level("district")]


def _plain(value):
    """Decimals as floats and times as ISO text, recursively: what JSON can carry."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value
