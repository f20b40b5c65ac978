"""`resync demo`: demo districts with generated data, and a day of district changes."""

from __future__ import annotations

import click

from .. import database, demo_data, registry
from .common import emit_json, json_option, tool_transaction

DEMO_DISTRICTS = (("01", "Abbott"), ("02", "Campus"), ("03", "Cedar Valley"))


@click.group()
def demo() -> None:
    """Generate realistic district data to try the tool on."""


def _selected(conn, codes: tuple[str, ...]) -> list[registry.District]:
    if codes:
        return [registry.get(conn, registry.validate_code(c)) for c in codes]
    found = registry.list_all(conn)
    if not found:
        raise click.ClickException("No districts are registered; add one with `resync district add`.")
    return found


@demo.command()
@click.option("-d", "--district", "codes", multiple=True, help="District code (default: every registered one).")
@click.option("--schools", default=3, show_default=True, type=click.IntRange(1, 200))
@click.option("--students", default=600, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Students per district.")
@click.option("--school-year", type=click.IntRange(2000, 2100), default=None,
              help="End year of the school year (default: the current one).")
@click.option("--seed", default=1, show_default=True, type=int)
@json_option
def generate(codes, schools, students, school_year, seed, as_json) -> None:
    """Fill districts' sources with generated data (same seed, same rows)."""
    with tool_transaction() as conn:
        targets = _selected(conn, codes)
    summary = demo_data.generate(database.database_url(), targets, schools=schools,
                                 students=students, school_year=school_year, seed=seed)
    emit_json(summary) if as_json else click.echo(demo_data.describe(summary))


@demo.command()
@click.option("-d", "--district", "codes", multiple=True, help="District code (default: every registered one).")
@click.option("--days", default=1, show_default=True, type=click.IntRange(1, 60))
@click.option("--seed", default=1, show_default=True, type=int)
@json_option
def change(codes, days, seed, as_json) -> None:
    """Apply what districts do in a day: new and backdated attendance, deletes, roster and code edits."""
    with tool_transaction() as conn:
        targets = _selected(conn, codes)
    summary = demo_data.apply_changes(database.database_url(), targets, days=days, seed=seed)
    emit_json(summary) if as_json else click.echo(demo_data.describe_changes(summary))


@demo.command()
@click.option("--students", default=600, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--seed", default=1, show_default=True, type=int)
def setup(students: int, seed: int) -> None:
    """Everything `make demo` does: database, three districts, their data, the state tables."""
    url = database.database_url()
    click.echo(f"Database: {url}")
    with tool_transaction() as conn:
        for code, name in DEMO_DISTRICTS:
            if registry.get(conn, code, required=False) is None:
                registry.add(conn, code, name)
        targets = [registry.get(conn, code) for code, _ in DEMO_DISTRICTS]
    summary = demo_data.generate(url, targets, schools=3, students=students, school_year=None, seed=seed)
    click.echo(demo_data.describe(summary))
