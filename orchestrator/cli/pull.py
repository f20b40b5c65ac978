"""`resync pull`: copy what changed at districts into the landing, without rebuilding anything."""

from __future__ import annotations

import click

from .. import registry, rights
from ..school_year import current_school_year, school_year_label
from ..sites import pulls
from ..errors import ResyncError
from .common import emit_json, json_option, table, tool_transaction


@click.command()
@click.option("-d", "--district", "districts", multiple=True, metavar="CODE",
              help="District code; repeat for several; default: every registered district.")
@click.option("-o", "--object", "objects", multiple=True, metavar="OBJECT",
              help="Pull the tables this object reads; repeat for several; default: every table.")
@click.option("--check-dependencies", is_flag=True, help="Also the tables the objects' parents read.")
@click.option("--school-year", type=int, metavar="YEAR", default=None,
              help="End year of the school year of year-scoped tables; default: the current one.")
@click.option("--changed-only", is_flag=True,
              help="Read only the rows changed since each table's last pull (and the keys, for deletes),"
                   " as the nightly aggregation does; a table that cannot be pulled so is pulled in full.")
@json_option
def pull(districts, objects, check_dependencies, school_year, changed_only, as_json) -> None:
    """Pull districts' source tables into the landing (only what changed is written).

    A resync pulls by itself before it rebuilds; this pulls without rebuilding. Example:

        resync pull -d 01 -o AttendanceExcuse
    """
    with tool_transaction() as conn:
        rights.require_admin(conn, "pull directly", "a requested resync pulls first")
        chosen = registry.resolve(conn, list(districts))
        url = conn.engine.url.render_as_string(hide_password=False)
    year = current_school_year() if school_year is None else school_year
    tables = pulls.tables_for_objects(list(objects), check_dependencies)
    outcomes = pulls.pull(url, chosen, tables, year, changed_only=changed_only)
    if as_json:
        emit_json({"school_year": year, "tables": tables, "districts": [o.as_dict() for o in outcomes]})
    else:
        rows = [{"district": f"{o.district} {o.district_name}",
                 "status": "pulled" if o.ok else "failed",
                 "rows read": f"{sum(t.rows_read for t in o.tables):,}" if o.ok else "-",
                 "inserted": f"{sum(t.inserted for t in o.tables):,}" if o.ok else "-",
                 "updated": f"{sum(t.updated for t in o.tables):,}" if o.ok else "-",
                 "deleted": f"{sum(t.deleted for t in o.tables):,}" if o.ok else "-",
                 "seconds": f"{o.seconds:.2f}"} for o in outcomes]
        click.echo(f"Pulled {len(tables)} table{'s' if len(tables) != 1 else ''} for school year"
                   f" {school_year_label(year)}: {', '.join(tables)}.")
        click.echo(table(rows, ["district", "status", "rows read", "inserted", "updated", "deleted", "seconds"]))
        for o in outcomes:
            full = [f"{t.table} ({t.full_because})" for t in o.tables if t.full_because]
            if full:
                click.echo(f"District {o.district}: pulled in full: {', '.join(full)}.")
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise ResyncError(" ".join(o.error for o in failed))
