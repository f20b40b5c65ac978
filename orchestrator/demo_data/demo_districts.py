"""Which districts the demo commands act on, and `resync demo setup` (what `make demo` runs)."""

from __future__ import annotations

from datetime import date
from typing import Sequence

from sqlalchemy.engine import Connection

from .. import database, queue, registry, reports, resync, rights, state_config, text_table
from ..errors import ResyncError
from ..registry import District
from . import site_databases
from .generator import DEMO_SCHOOLS, DEMO_STUDENTS, describe, generate

#: The three demo districts `make demo` registers: code and name.
DEMO_DISTRICTS = (("01", "Abbott"), ("02", "Campus"), ("03", "Cedar Valley"))
#: The demo's users: a state administrator, district 01's administrator (Write for Abbott), and a
#: read-only analyst. Roles of the server: `resync db url --user NAME` logs in as one.
DEMO_USERS = (("state_admin", rights.ADMIN, ()), ("abbott_admin", rights.WRITE, ("01",)),
              ("analyst", rights.READ, ()))


def select_districts(conn: Connection, codes: Sequence[str] = (), first: int | None = None) -> list[District]:
    """The districts named by code, or the first `first` registered (by code), or all of them."""
    if codes and first is not None:
        raise ResyncError("Use either -d/--district or --districts, not both.")
    found = registry.resolve(conn, list(codes), none_registered=(
        "No districts are registered; add one with `resync district add` or run `resync demo setup`."))
    if first is not None:
        if first > len(found):
            raise ResyncError(f"--districts {first} asks for more districts than the {len(found)} registered.")
        return found[:first]
    return found


def setup(url: str, *, students: int = DEMO_STUDENTS, schools: int = DEMO_SCHOOLS,
          school_year: int | None = None, seed: int = 1, as_of: date | None = None,
          site_server: str | None = None) -> dict:
    """Register the demo districts and users that are missing, each district in its own database
    on the site server (`site_server`, default: the embedded one, started if needed), generate
    their sources, pull and build the state; returns a summary."""
    site_server = site_server or site_databases.server_url()
    with database.transaction(url) as conn:
        queue.ensure_queue_schema(conn)  # the demo's users may queue requests at once
        for code, name in DEMO_DISTRICTS:
            if registry.get(conn, code, required=False) is None:
                registry.add(conn, code, name, url=site_databases.create_district_database(site_server, code))
        districts = [registry.get(conn, code) for code, _ in DEMO_DISTRICTS]
        users = [u.as_dict() for u in add_users(conn)]
    summary = {
        # Printed: never a password.
        "database": database.display_url(url),
        "site_server": database.display_url(site_server),
        "users": users,
        "generated": generate(url, districts, schools=schools, students=students,
                              school_year=school_year, seed=seed, as_of=as_of),
    }
    year = summary["generated"]["school_year"]
    summary["state"] = build_state_tables(url, districts, year)
    reports.build_views(url, year)
    summary["reports"] = reports.district_summary(url, year)
    return summary


def add_users(conn: Connection) -> list[rights.User]:
    """The demo's users, added or set as DEMO_USERS says (a second setup changes nothing)."""
    return [rights.ensure(conn, name, right, codes) for name, right, codes in DEMO_USERS]


def build_state_tables(url: str, districts: list[District], school_year: int) -> dict:
    """Resync every subscribed object for the districts (parents first): the state tables."""
    config = state_config.load()
    objects = [o.campus_name for o in config.subscribed_objects()]
    with database.transaction(url) as conn:
        plan = resync.build_plan(conn, [d.code for d in districts], objects,
                                 check_dependencies=True, school_year=school_year)
    result = resync.execute(plan, url)
    if not result.ok:
        raise ResyncError(f"The demo sources are in place, but building the state tables failed: {result.error}")
    return {"objects": len(plan.objects), "school_year": school_year, "summary": result.summary()}


def _percent(rate) -> str | None:
    return None if rate is None else f"{rate:.1%}"


def describe_setup(summary: dict) -> str:
    lines = [f"State database: {summary['database']}",
             f"District sites: {summary['site_server']} (one database per district)",
             describe(summary["generated"])]
    if "state" in summary:
        lines.append(f"State tables: {summary['state']['summary']}")
    if summary.get("reports"):
        lines.append(f"Attendance reports (schema {reports.REPORTS_SCHEMA}), school year so far:")
        rows = [{"district": r["district_id"], "ADA": r["ada"], "ADM": r["adm"],
                 "attendance": _percent(r["attendance_rate"]), "chronically absent": _percent(r["chronic_absence_rate"])}
                for r in summary["reports"]]
        lines.append(text_table.render(rows, ["district", "ADA", "ADM", "attendance", "chronically absent"],
                                       right=["attendance", "chronically absent"], indent=2))
    if summary.get("users"):
        lines.append("Users (act as one with RESYNC_DATABASE_URL=\"$(resync db url --user NAME)\"):")
        rows = [{"user": u["name"], "right": u["right"],
                 "districts": "every district" if u["districts"] is None else ", ".join(u["districts"])}
                for u in summary["users"]]
        lines.append(text_table.render(rows, ["user", "right", "districts"], indent=2))
    return "\n".join(lines)
