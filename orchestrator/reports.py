"""The state's attendance reports (models/reports): building their views and reading a summary."""

from __future__ import annotations

import sqlalchemy as sa

from . import database, dbt_invoker, settings
from .errors import ResyncError

REPORTS_SCHEMA = f"{settings.STATE_SCHEMA}_reports"


def build_views(url: str, school_year: int) -> None:
    """Create (or recreate) the report views over the state tables."""
    invocation = dbt_invoker.invoke(
        ["run", "--select", "reports", "--vars", dbt_invoker.vars_argument({"school_year": school_year})], url=url)
    if not invocation.success:
        raise ResyncError(f"The attendance report views could not be built: {invocation.error}")


def district_summary(url: str, school_year: int) -> list[dict]:
    """Per district for the school year: ADA, ADM and attendance rate (ADA and ADM add up over
    grades and schools), and the chronic absence rate over the students counted."""
    with database.transaction(url) as conn:
        rows = conn.execute(sa.text(f"""
            with attendance as (
                select district_id, sum(ada) as ada, sum(adm) as adm,
                       sum(days_present) / nullif(sum(membership_days), 0) as attendance_rate
                from "{REPORTS_SCHEMA}".attendance_by_year
                where end_year = :year
                group by district_id
            ), chronic as (
                select district_id,
                       sum(chronically_absent_students)::numeric / nullif(sum(students_counted), 0) as rate
                from "{REPORTS_SCHEMA}".chronic_absenteeism_by_school
                where end_year = :year
                group by district_id
            )
            select attendance.district_id, round(attendance.ada, 1) as ada, round(attendance.adm, 1) as adm,
                   round(attendance.attendance_rate, 4) as attendance_rate,
                   round(chronic.rate, 4) as chronic_absence_rate
            from attendance left join chronic using (district_id)
            order by attendance.district_id"""), {"year": school_year})
        return [dict(r._mapping) for r in rows]
