"""`resync report`: the attendance reports for people (text), machines (--json, --csv) or a page (--html)."""

from __future__ import annotations

import csv
import io

import click

from .. import reports
from ..errors import ResyncError
from ..school_year import school_year_label
from ..reports import layout
from .common import emit_json, json_option, table


@click.command()
@click.option("-d", "--district", "districts", multiple=True, metavar="CODE",
              help="District code; repeat for several; default: every registered district.")
@click.option("--school-year", type=int, metavar="YEAR", default=None,
              help="End year of the school year (2024 = 2023-2024); default: the current one.")
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV: the school year's rows, then the months'.")
@click.option("--html", "html_file", metavar="FILE", default=None,
              help="Write one self-contained HTML page with charts to FILE.")
def report(districts, school_year, as_json, as_csv, html_file) -> None:
    """ADA, ADM, attendance rate, truant days and chronic absence by district, school and grade,
    and by month, with the federal and the state's chronic absence rules side by side.

    Reads the report views (schema state_reports), which show what the last resync wrote.
    Example:

        resync report -d 01 --school-year 2024 --html report.html
    """
    if sum((as_json, as_csv, html_file is not None)) > 1:
        raise ResyncError("Choose one of --json, --csv and --html FILE.")
    loaded = reports.load(None, districts, school_year)
    if as_json:
        emit_json(loaded.as_dict())
    elif as_csv:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=loaded.csv_columns(), lineterminator="\n")
        writer.writeheader()
        writer.writerows(loaded.csv_rows())
        click.echo(out.getvalue(), nl=False)
    elif html_file is not None:
        from ..reports import page

        written = page.write(loaded, html_file)
        click.echo(f"Wrote the attendance report of {loaded.state_name}, school year"
                   f" {school_year_label(loaded.school_year)}, to {written}.")
    else:
        _print_text(loaded)


def _print_text(loaded: reports.Report) -> None:
    click.echo(layout.title(loaded) + ".")
    click.echo("Chronic absence rules:")
    for line in layout.rule_lines(loaded):
        click.echo(f"  {line}")
    click.echo("Freshness:")
    for line in layout.freshness_lines(loaded):
        click.echo(f"  {line}")
    if not loaded.summary:
        click.echo("No attendance at the state for this school year and these districts: resync"
                   " AttDayAggregation with --check-dependencies first.")
        return
    for section in layout.tables(loaded):
        click.echo(f"\n{section.title}")
        click.echo(table([dict(zip(section.columns, row)) for row in section.rows], section.columns))
