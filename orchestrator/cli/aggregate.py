"""`resync aggregate`: the daily attendance aggregation, incremental or a full refresh."""

from __future__ import annotations

import click

from .. import aggregation, rights
from ..school_year import school_year_label
from ..text_table import count_text
from .common import emit_json, json_option, table, tool_transaction


@click.command()
@click.option("-d", "--district", "districts", multiple=True, metavar="CODE",
              help="District code, e.g. 01; repeat for several (default: every registered district).")
@click.option("--refresh", is_flag=True,
              help="The Attendance Aggregation Refresh: recompute all of the school year, not only what changed.")
@click.option("--school-year", type=click.IntRange(2000, 2100), metavar="YEAR", default=None,
              help="End year of the school year (default: the configured one, else the current one).")
@click.option("--through", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="DATE", default=None,
              help="Count attendance through DATE, from the school year's July 1 to yesterday (the default:"
                   " today's is still being taken).")
@json_option
def aggregate(districts, refresh, school_year, through, as_json) -> None:
    """Rebuild the daily attendance aggregates (AttDayAggregation) from the districts' sources.

    By default only the student-days that the districts' changes since the last aggregation can
    have touched are recomputed, backdated corrections and deletions included; a district never
    aggregated for the school year is recomputed in full. --refresh recomputes everything.
    """
    with tool_transaction() as conn:
        rights.require_admin(conn, "run the aggregation directly", "the nightly schedule runs it")

    def show(outcome: aggregation.DistrictAggregation) -> None:
        if not as_json:
            rows = "" if outcome.rows_written is None else f", {count_text(outcome.rows_written)} rows written"
            if outcome.rows_deleted is not None:
                rows += f", {count_text(outcome.rows_deleted)} deleted"
            click.echo(f"District {outcome.district} {outcome.district_name}: {outcome.mode} {outcome.status}"
                       f"{rows} in {outcome.seconds:.2f} s.", err=True)

    result = aggregation.aggregate(list(districts) or None, refresh=refresh, school_year=school_year,
                                   through=through.date() if through else None, on_district=show)
    if as_json:
        emit_json(result.as_dict())
    else:
        click.echo(f"Attendance aggregation, school year {school_year_label(result.school_year)}:")
        click.echo(table([d.as_dict() for d in result.districts],
                         ["district", "district_name", "mode", "status", "rows_written", "rows_deleted", "seconds"]))
        if result.error:
            click.echo(f"Failed: {result.error}", err=True)
    if not result.ok:
        raise SystemExit(1)
