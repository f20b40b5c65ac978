"""What a resync's confirmation restates beside the plan itself: for each district, when the tables
the plan pulls were last pulled and when each object was last resynced by a request, and the rows
the state holds now in the scope the resync replaces (the estimate of the rows involved).

    plan = resync.build_plan(conn, ["01", "02"], ["AttDayAggregation"], True, None)
    facts = review(conn, plan)       # facts.rows_now[("Calendar", "01")], facts.last_pull("01", "day")

Everything is read under the caller's rights (row-level security), so a user learns only about
the districts they may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import requests, settings
from .resync import ResyncPlan, rows_in_scope
from .sites.pull_log import LastPull, last_pulls


@dataclass(frozen=True)
class PlanReview:
    plan: ResyncPlan
    #: (object, district) -> the district's rows now in the scope replaced; None: not built yet.
    rows_now: dict[tuple[str, str], int | None]
    pulls: dict[tuple[str, str], LastPull]  # (district, table) -> its last pull
    resyncs: dict[tuple[str, str], requests.LastResync]  # (district, object) -> its last resync

    def rows_of(self, obj: str) -> int | None:
        """The object's rows now over the plan's districts (None when its table is not built)."""
        counts = [self.rows_now[(obj, d.code)] for d in self.plan.districts]
        return None if any(c is None for c in counts) else sum(counts)

    @property
    def rows_total(self) -> int:
        return sum(c for c in self.rows_now.values() if c is not None)

    def last_pull(self, district: str, table: str) -> LastPull | None:
        return self.pulls.get((district, table))

    def oldest_pull(self, district: str) -> datetime | None:
        """The least recent last pull among the plan's tables for the district (None: one never pulled)."""
        found = [self.pulls.get((district, t)) for t in self.plan.pull_tables]
        if not found or any(p is None for p in found):
            return None
        return min(p.pulled_at for p in found)

    def last_resync(self, district: str, obj: str) -> requests.LastResync | None:
        return self.resyncs.get((district, obj))


def review(conn: Connection, plan: ResyncPlan) -> PlanReview:
    codes = plan.district_codes
    rows_now: dict[tuple[str, str], int | None] = {}
    for obj in plan.objects:
        counts = rows_in_scope(conn, obj, codes, plan.school_year) if _readable(conn, obj.model_name) else None
        for code in codes:
            rows_now[(obj.campus_name, code)] = None if counts is None else counts.get(code, 0)
    return PlanReview(
        plan=plan, rows_now=rows_now,
        pulls=last_pulls(conn, codes, plan.pull_tables, plan.school_year),
        resyncs=requests.last_resyncs(conn, codes, [o.campus_name for o in plan.objects]),
    )


def _readable(conn: Connection, table: str) -> bool:
    """The state table exists and the caller may read it (before its first build it does not)."""
    return bool(conn.execute(sa.text(
        "select to_regclass(:t) is not null and has_table_privilege(to_regclass(:t), 'select')"
    ), {"t": f'"{settings.STATE_SCHEMA}"."{table}"'}).scalar())
