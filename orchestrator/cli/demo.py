"""`resync demo`: demo districts with generated data, and a day of district changes."""

from __future__ import annotations

import click

from .. import database, demo_data, rights, school_year
from ..errors import ResyncError
from .common import emit_json, json_option, tool_transaction
from .selection import stack_options

district_options = [
    click.option("-d", "--district", "codes", multiple=True,
                 help="District code, repeatable (default: every registered district)."),
    click.option("--districts", "first", type=click.IntRange(min=1), default=None,
                 help="The first N registered districts, by code."),
]
seed_option = click.option("--seed", default=1, show_default=True, type=int,
                           help="Same seed, same rows.")
def _as_of(ctx, param, value):
    if value is None:
        return None
    try:
        return school_year.check_day(value.date())
    except ResyncError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc


as_of_option = click.option(
    "--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, callback=_as_of,
    help="The generated district's today (YYYY-MM-DD, default: today): attendance exists for school "
         "days before it.")
students_option = click.option("--students", default=demo_data.DEMO_STUDENTS, show_default=True,
                               type=click.IntRange(1, 1_000_000), help="Students per district.")
school_year_option = click.option(
    "--school-year", type=click.IntRange(2000, 2100), default=None,
    help="End year of the school year, 2024 for 2023-2024 (default: the one --as-of falls in).")


def _targets(codes, first):
    with tool_transaction() as conn:
        rights.require_admin(conn, "change demo data")
        return demo_data.select_districts(conn, codes, first)


@click.group()
def demo() -> None:
    """Generate realistic district data to try the tool on."""


@demo.command()
@stack_options(district_options)
@click.option("--schools", default=demo_data.DEMO_SCHOOLS, show_default=True, type=click.IntRange(1, 500),
              help="Schools per district.")
@students_option
@school_year_option
@as_of_option
@seed_option
@json_option
def generate(codes, first, schools, students, school_year, as_of, seed, as_json) -> None:
    """Fill districts' sources with a generated school year, replacing what they held.

    Calendars, bell schedules, enrollments, rosters, attendance, behavior and program records;
    the same seed and options give identical rows.
    """
    targets = _targets(codes, first)
    summary = demo_data.generate(database.database_url(), targets, schools=schools, students=students,
                                 school_year=school_year, seed=seed,
                                 as_of=as_of)
    emit_json(summary) if as_json else click.echo(demo_data.describe(summary))


@demo.command()
@stack_options(district_options)
@click.option("--days", default=1, show_default=True, type=click.IntRange(1, 60),
              help="School days of changes to apply.")
@seed_option
@json_option
def change(codes, first, days, seed, as_json) -> None:
    """Apply what districts do in a school day: new and backdated attendance, deletes, a withdrawal,
    a roster change, an excuse code edit, now and then a day flag change."""
    targets = _targets(codes, first)
    summary = demo_data.apply_changes(database.database_url(), targets, days=days, seed=seed)
    emit_json(summary) if as_json else click.echo(demo_data.describe_changes(summary))


@demo.command()
@students_option
@school_year_option
@as_of_option
@seed_option
@json_option
def setup(students, school_year, as_of, seed, as_json) -> None:
    """Everything `make demo` does: the database, districts 01 Abbott, 02 Campus and 03 Cedar Valley,
    and their generated sources."""
    with tool_transaction() as conn:
        rights.require_admin(conn, "set up the demo")
    summary = demo_data.setup(database.database_url(), students=students, school_year=school_year,
                              seed=seed, as_of=as_of)
    emit_json(summary) if as_json else click.echo(demo_data.describe_setup(summary))
