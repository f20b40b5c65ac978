"""The freshness strip of a report: per district, when the state last pulled it and last resynced it.

`district_freshness` is what a report calls by default; `reports.load(..., freshness=...)` takes
any function of the same shape (a connection and the districts, returning DistrictFreshness per
district), so a module that knows more (per object, per request) can stand in for it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import registry, settings, state_config

FRESH, STALE, NEVER, UNKNOWN = "fresh", "stale", "never pulled", "unknown"


@dataclass(frozen=True)
class DistrictFreshness:
    district: str
    district_name: str
    last_pull: datetime.datetime | None  # the latest pull of any of its tables
    last_resync: datetime.datetime | None  # the latest request that succeeded for it
    status: str  # fresh, stale, never pulled, or unknown (the pull log is not the caller's to read)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


Freshness = Callable[[Connection, Sequence[registry.District]], list[DistrictFreshness]]


def district_freshness(conn: Connection, districts: Sequence[registry.District],
                       now: datetime.datetime | None = None) -> list[DistrictFreshness]:
    """From resync.pull_log (every resync pulls first) and the succeeded requests the caller sees.

    Users read the pull log of their districts (row-level security); where the caller may not read
    it at all (a tool schema from before that), the last pull is unknown."""
    tool = settings.TOOL_SCHEMA
    readable = conn.execute(sa.text("select has_table_privilege(:t, 'select')"), {"t": f"{tool}.pull_log"}).scalar()
    pull_log = (f"(select max(pulled_at) from {tool}.pull_log where pull_log.district_id = district.code)"
                if readable else "null::timestamptz")
    found = {row.code: row for row in conn.execute(sa.text(f"""
        select district.code,
               {pull_log} as last_pull,
               (select max(finished_at) from {tool}.request
                where request.status = 'succeeded'
                  and request.plan -> 'districts' @> jsonb_build_array(jsonb_build_object('code', district.code))
               ) as last_resync
        from {tool}.district
        where district.code = any(:codes)"""), {"codes": [d.code for d in districts]})}
    now = now or conn.execute(sa.text("select now()")).scalar()
    # The sync cadence (var sync_cadence_days, a week): a district not pulled for longer is stale,
    # as `resync freshness` and dbt's source freshness judge.
    stale_after = datetime.timedelta(days=state_config.sync_cadence_days())
    result = []
    for district in districts:
        row = found.get(district.code)
        last_pull = row.last_pull if row else None
        status = (UNKNOWN if not readable else NEVER if last_pull is None
                  else STALE if now - last_pull > stale_after else FRESH)
        result.append(DistrictFreshness(district.code, district.name, last_pull,
                                        row.last_resync if row else None, status))
    return result


def age_text(moment: datetime.datetime | None, now: datetime.datetime) -> str:
    """How long ago, for people: "just now", "5 min ago", "3 h ago", "2 days ago", or "never"."""
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"
