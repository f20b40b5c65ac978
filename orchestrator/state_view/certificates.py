"""Certificates: a state table proved equal to its recomputation, so the next verify can skip it.

Recomputing a state table from the landing costs what building it costs (AttDayAggregation of a
large district: minutes), while everything else a verify of an equal district does is a few
checksums. So when a verification finds a state table equal to its recomputation, it keeps the
table's segment checksums with the moment the landing was read (resync.state_certificate). The
next verification recomputes only when one of these changed since:
- the landing: a pull wrote rows to a table the model reads (resync.pull_log, stamped with the
  pull's start, read `>= landing_as_of`, the least of the verification's start and of every
  transaction in flight then: the watermark argument of macros/att_day_watermark.sql);
- the model: the dbt project's files (dbt_invoker.project_fingerprint), or the date attendance
  counts through;
- the state table: its segment checksums (a rebuild or any write to it).
Else the table still equals what the model computes from the landing, which is what a
recomputation would show. `resync verify --recompute` ignores certificates.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from .. import database, settings
from ..segments import Shape, Side, checksums

_T = f'"{settings.TOOL_SCHEMA}"'


def landing_as_of(url: str) -> datetime | None:
    """The moment a certificate vouches for, read before the verification's snapshot is taken:
    the least of now and of the start of every transaction in flight. A pull the snapshot does
    not see was in flight then or started later, so its pulled_at is at or after this moment.
    None when other sessions' transaction starts are hidden from this user, or they may not write
    certificates (only the worker's role and administrators may): nothing is certified."""
    with database.connect(url, autocommit=True) as conn:
        return conn.execute(
            "select case when bool_or(query = '<insufficient privilege>')"
            f" or not has_table_privilege('{_T}.state_certificate', 'insert') then null"
            " else least(now(), min(xact_start) filter (where backend_type = 'client backend'"
            " or backend_xid is not null)) end from pg_stat_activity where datname = current_database()").fetchone()[0]


def still_equal(cursor, district: str, model: str, year: int, through: date | None, project: str,
                tables: list[str], shape: Shape, stored: Side) -> dict | None:
    """The state table's checksums when its certificate still holds, else None."""
    cursor.execute(
        f"select through_date, project, landing_as_of, checksums from {_T}.state_certificate"
        " where district_id = %s and model = %s and end_year = %s", (district, model, year))
    found = cursor.fetchone()
    if found is None:
        return None
    certified_through, certified_project, as_of, kept = found
    if certified_through != through or project != certified_project:
        return None
    cursor.execute(
        f"select exists (select from {_T}.pull_log where district_id = %s and table_name = any(%s)"
        " and pulled_at >= %s and rows_inserted + rows_updated + rows_deleted > 0)", (district, tables, as_of))
    if cursor.fetchone()[0]:
        return None
    current = checksums(shape, stored)
    return current if current == _decoded(kept) else None


def store(cursor, district: str, model: str, year: int, through: date | None, project: str, as_of: datetime,
          state_checksums: dict) -> None:
    cursor.execute(
        f"insert into {_T}.state_certificate (district_id, model, end_year, through_date, project, landing_as_of,"
        " checksums) values (%s, %s, %s, %s, %s, %s, %s::jsonb)"
        " on conflict (district_id, model, end_year) do update set through_date = excluded.through_date,"
        " project = excluded.project, landing_as_of = excluded.landing_as_of, checksums = excluded.checksums,"
        " certified_at = now()",
        (district, model, year, through, project, as_of,
         json.dumps([[list(segment), rows, total] for segment, (rows, total) in state_checksums.items()])))


def _decoded(kept: list) -> dict:
    return {tuple(segment): (rows, total) for segment, rows, total in kept}
