"""Successful resyncs, per district and object: what `resync freshness` reports as the last one.

resync.execute (`resync run`, requests, the weekly sync) and the attendance aggregation record
each object they rebuilt for a district once it committed; a request or schedule is named by the
SyncOrigin they are given, a person at `resync run` by their user name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import settings

_T = f'"{settings.TOOL_SCHEMA}"'


@dataclass(frozen=True)
class SyncOrigin:
    """Who a resync runs for: a person at the command line (`resync run`, `resync aggregate`), or a
    request and the schedule that queued it."""

    requested_by: str | None = None  # None: the login role (session_user)
    request_id: int | None = None
    schedule_name: str | None = None

    @classmethod
    def of_request(cls, request) -> "SyncOrigin":
        return cls(request.requested_by, request.id, request.schedule_name)


@dataclass(frozen=True)
class Synced:
    """One (district, object) rebuilt: end_year None for a district-scoped object."""

    district: str
    object: str
    end_year: int | None
    rows: int | None


@dataclass(frozen=True)
class SyncRecord:
    district: str
    object: str
    end_year: int | None
    synced_at: datetime
    request_id: int | None
    schedule_name: str | None
    requested_by: str

    @property
    def by(self) -> str:
        """How it was asked for, in a few words: `schedule weekly (request 12)`, `request 7`, or
        `command line` (`resync run`, `resync aggregate`)."""
        if self.schedule_name:
            return f"schedule {self.schedule_name} (request {self.request_id})"
        if self.request_id:
            return f"request {self.request_id}"
        return "command line"

    def as_dict(self) -> dict:
        return {"at": self.synced_at, "by": self.by, "request_id": self.request_id,
                "schedule": self.schedule_name, "requested_by": self.requested_by}


def record(conn: Connection, origin: SyncOrigin | None, synced: list[Synced]) -> None:
    """Store the rebuilt (district, object) pairs, in the caller's transaction."""
    if not synced:
        return
    origin = origin or SyncOrigin()
    conn.execute(sa.text(
        f"insert into {_T}.object_sync (district_id, object, end_year, request_id, schedule_name,"
        " requested_by, rows) values (:d, :o, :y, :r, :s, coalesce(cast(:by as text), session_user), :n)"),
        [{"d": s.district, "o": s.object, "y": s.end_year, "r": origin.request_id, "s": origin.schedule_name,
          "by": origin.requested_by, "n": s.rows} for s in synced])


def latest(conn: Connection, districts: list[str], school_year: int) -> dict[tuple[str, str], SyncRecord]:
    """The last successful resync of every object of the districts, by (district, object): of
    the school year for year-scoped objects (district-scoped ones have no year)."""
    rows = conn.execute(sa.text(
        f"select distinct on (district_id, object) district_id, object, end_year, synced_at, request_id,"
        f" schedule_name, requested_by from {_T}.object_sync"
        " where district_id = any(:codes) and (end_year is null or end_year = :year)"
        " order by district_id, object, synced_at desc"), {"codes": districts, "year": school_year})
    return {(r.district_id, r.object): SyncRecord(*r) for r in rows}
