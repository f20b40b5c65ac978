"""`resync freshness`: per district and object, how stale the state's copy is."""

from __future__ import annotations

import click

from .. import database
from ..state_view import freshness as freshness_api
from .common import emit_json, json_option, moment_text, state_view_options, table, tool_transaction


@click.command()
@state_view_options
@json_option
def freshness(districts, objects, school_year, as_json) -> None:
    """How fresh the state's copy of each district is, object by object.

    The last successful resync (when, by which request or schedule, who), the last pull of the
    tables the object reads, the site's latest change the state has not pulled yet ("unknown"
    where the site keeps no modified_date), and a verdict: stale or fresh against the sync
    cadence (var sync_cadence_days in dbt_project/dbt_project.yml). Example:

        resync freshness -d 01 -o AttendanceExcuse
    """
    with tool_transaction():
        pass  # the tool schema exists (or is upgraded) before it is read
    found = freshness_api.freshness(database.database_url(), list(districts), list(objects), school_year)
    if as_json:
        emit_json([f.as_dict() for f in found])
        return
    rows = [{"district": f.district, "object": f.object,
             "last resync": moment_text(f.last_resync.synced_at if f.last_resync else None, "%Y-%m-%d %H:%M"),
             "by": f.last_resync.by if f.last_resync else "-",
             "requester": f.last_resync.requested_by if f.last_resync else "-",
             "last pull": moment_text(f.last_pull, "%Y-%m-%d %H:%M"),
             "site change": (moment_text(f.site_change, "%Y-%m-%d %H:%M") if f.site_change else "none")
             if f.site_change_known else "unknown",
             "verdict": f.verdict} for f in found]
    click.echo(table(rows, ["district", "object", "last resync", "by", "requester", "last pull", "site change",
                            "verdict"]))
    for f in found:
        if f.reasons:
            click.echo(f"{f.district} {f.object}: {f.verdict}: {'; '.join(f.reasons)}.")
