"""`resync freshness`: how stale the state's copy of each district is, per object.

    rows = freshness(url, ["01"], ["AttendanceExcuse"], school_year=2025)   # ObjectFreshness each

For each district and object:
- the last successful resync (resync.object_sync: when, by which request or schedule, who);
- the last pull of each table it reads (resync.pull_log);
- the site's latest change the state has not seen yet: the newest modified_date of the object's
  rows of the school year at the site (and the newest deleted_at in its delete log), read in one
  read-only snapshot, converted to the state's clock by the difference of the two servers'
  clocks, when it is later than the table's last pull. "unknown" when the site keeps no
  modified_date for a table or cannot be reached: knowing more would mean reading the rows
  (that is `resync verify`);
- a verdict: stale when never resynced or pulled, resynced or pulled longer ago than the sync
  cadence (var sync_cadence_days, a week), changed at the site after the last pull, or pulled
  with changes after the last resync (the landing holds rows the state table was not rebuilt
  from); fresh otherwise. `dbt source freshness` warns on a landing table pulled longer ago than
  the same cadence.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import psycopg
import sqlalchemy as sa
from psycopg import sql

from .. import database, dbt_invoker, migrations, registry, state_config
from ..errors import ResyncError
from ..sites import landing_tables, pull_log, pulls
from ..sites.reader import SourceReader
from . import selection, sync_log

FRESH, STALE = "fresh", "stale"
_STAMP, _DELETE_LOG = landing_tables.STAMP_COLUMN, "delete_log"


@dataclass
class SiteChanges:
    """The latest change at a district's site per table (the state's clock), where it is known."""

    latest: dict[str, datetime.datetime | None] = field(default_factory=dict)  # None: no rows, no deletes
    unknown: dict[str, str] = field(default_factory=dict)  # table -> why its latest change is unknown


@dataclass
class ObjectFreshness:
    district: str
    district_name: str
    object: str
    school_year: int | None  # None: a district-scoped object
    last_resync: sync_log.SyncRecord | None
    last_pull: datetime.datetime | None  # the least recent of its tables' last pulls; None: one never pulled
    site_change: datetime.datetime | None  # a change at the site after that table's last pull
    site_change_known: bool
    verdict: str
    reasons: list[str]

    def as_dict(self) -> dict:
        return {"district": self.district, "district_name": self.district_name, "object": self.object,
                "school_year": self.school_year,
                "last_resync": self.last_resync.as_dict() if self.last_resync else None,
                "last_pull": self.last_pull,
                "site_change": self.site_change if self.site_change_known else "unknown",
                "verdict": self.verdict, "reasons": self.reasons}


def freshness(url: str, district_codes: list[str] | None, object_names: list[str], school_year: int | None = None,
              *, now: datetime.datetime | None = None) -> list[ObjectFreshness]:
    """One ObjectFreshness per district and object (every registered district and subscribed
    object by default). Raises ResyncError only for bad input: a site that cannot be read makes
    its changes unknown."""
    year = selection.school_year(school_year)
    objects = selection.chosen_objects(object_names)
    cadence = datetime.timedelta(days=state_config.sync_cadence_days())
    graph = dbt_invoker.project_graph(url)
    declared = landing_tables.declared(graph)
    reads = {o.campus_name: pulls.tables_read([o.model_name]) for o in objects}
    tables = sorted({t for names in reads.values() for t in names})
    with database.transaction(url) as conn:
        migrations.ensure_tool_schema(conn)
        districts = registry.resolve(conn, district_codes)
        codes = [d.code for d in districts]
        synced = sync_log.latest(conn, codes, year)
        pulled = {pair: (last.pulled_at, last.last_written_at)
                  for pair, last in pull_log.last_pulls(conn, codes, tables, year).items()}
        now = now or conn.execute(sa.text("select now()")).scalar()

    found = []
    for district in districts:
        changes = site_changes(url, district, [declared[t] for t in tables], year)
        for obj in objects:
            found.append(_assess(district, obj, reads[obj.campus_name], synced.get((district.code, obj.campus_name)),
                                 pulled, changes, year, now, cadence))
    return found


def _assess(district, obj, tables: list[str], synced, pulled, changes: SiteChanges, year: int,
            now: datetime.datetime, cadence: datetime.timedelta) -> ObjectFreshness:
    reasons = []
    if synced is None:
        reasons.append("never resynced")
    elif now - synced.synced_at > cadence:
        reasons.append(f"last resynced {_age(now - synced.synced_at)} ago, longer than the"
                       f" {cadence.days}-day sync cadence")
    last_pulls = {t: pulled.get((district.code, t), (None, None)) for t in tables}
    never = [t for t, (at, _) in last_pulls.items() if at is None]
    if never:
        reasons.append(f"never pulled: {', '.join(never)}")
    overdue = {t: at for t, (at, _) in last_pulls.items() if at is not None and now - at > cadence}
    if overdue:
        table, at = min(overdue.items(), key=lambda item: item[1])
        reasons.append(f"{table} last pulled {_age(now - at)} ago, longer than the {cadence.days}-day sync cadence")
    unseen = {t: changes.latest.get(t) for t in tables if t not in changes.unknown}
    unseen = {t: at for t, at in unseen.items()
              if at is not None and last_pulls[t][0] is not None and at > last_pulls[t][0]}
    if unseen:
        table, at = max(unseen.items(), key=lambda item: item[1])
        reasons.append(f"changed at the site at {at:%Y-%m-%d %H:%M:%S %Z} ({table}), after its last pull")
    if synced is not None:
        ahead = {t: written for t, (_, written) in last_pulls.items() if written and written > synced.synced_at}
        if ahead:
            reasons.append(f"pulled with changes after the last resync ({', '.join(sorted(ahead))}): the"
                           " state table is not rebuilt from them yet")
    pull_times = [at for at, _ in last_pulls.values()]
    return ObjectFreshness(
        district=district.code, district_name=district.name, object=obj.campus_name,
        school_year=year if obj.year_scoped else None, last_resync=synced,
        last_pull=None if never or not pull_times else min(pull_times),
        site_change=max(unseen.values()) if unseen else None,
        site_change_known=not any(t in changes.unknown for t in tables),
        verdict=STALE if reasons else FRESH, reasons=reasons)


def _age(delta: datetime.timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:.1f} days" if days >= 1 else f"{delta.total_seconds() / 3600:.1f} hours"


def site_changes(url: str, district: registry.District, tables: list[landing_tables.LandingTable],
                 year: int) -> SiteChanges:
    """The newest modified_date (and deleted_at in the site's delete log) per table at the site,
    for the school year's rows, in the state's clock."""
    changes = SiteChanges()
    try:
        with SourceReader(district, url) as source, source.conn.cursor() as cursor:
            relations = source.describe(sorted({n for t in tables for n in (t.name, *(t.year_path or ()))}
                                               | {_DELETE_LOG}))
            log = relations[_DELETE_LOG]
            logged = log is not None and {"table_name", "deleted_at"} <= set(log.columns)
            deleted = {}
            if logged:
                cursor.execute(sql.SQL("select table_name, max(deleted_at) from {} where table_name = any(%s)"
                                       " group by table_name").format(source.relation(_DELETE_LOG)),
                               ([t.name for t in tables],))
                deleted = dict(cursor.fetchall())
            for table in tables:
                relation = relations[table.name]
                if relation is None or _STAMP not in relation.columns:
                    changes.unknown[table.name] = "the site keeps no modified_date for it"
                    continue
                try:
                    source.check_readable([table], {table.name: [_STAMP]})
                except ResyncError as exc:
                    changes.unknown[table.name] = str(exc)
                    continue
                # Newest first along the stamp, so a site that indexes modified_date answers at once.
                cursor.execute(sql.SQL('select "row".{stamp} from {rows} order by "row".{stamp} desc nulls last'
                                       " limit 1").format(stamp=sql.Identifier(_STAMP),
                                                          rows=source.scoped(table, year).rows))
                stamp = cursor.fetchone()
                candidates = [at for at in ((stamp[0] if stamp else None), deleted.get(table.name)) if at is not None]
                if any(getattr(at, "tzinfo", None) is None for at in candidates):
                    changes.unknown[table.name] = "the site's modified_date has no time zone"
                    continue
                changes.latest[table.name] = max(candidates) if candidates else None
            offset = _clock_offset(url, cursor)
            changes.latest = {t: (at + offset if at is not None else None) for t, at in changes.latest.items()}
    except (ResyncError, psycopg.Error) as exc:
        reason = str(exc) if isinstance(exc, ResyncError) else database.error_reason(exc)
        changes.latest, changes.unknown = {}, {t.name: reason for t in tables}
    return changes


def _clock_offset(url: str, site_cursor) -> datetime.timedelta:
    """The state's clock minus the site's, to read the site's stamps in the state's time."""
    site_cursor.execute("select clock_timestamp()")
    at_site = site_cursor.fetchone()[0]
    with database.connect(url, autocommit=True) as state:
        at_state = state.execute("select clock_timestamp()").fetchone()[0]
    return at_state - at_site
