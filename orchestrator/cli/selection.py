"""The selection options shared by `resync run` and `resync request`: declared once, stacked as one decorator.

A request is validated exactly as a run is, so both commands must read the same options.
"""

from __future__ import annotations

import click

_OPTIONS = (
    click.option("-d", "--district", "districts", multiple=True, metavar="CODE",
                 help="District code, e.g. 01; repeat for several."),
    click.option("-o", "--object", "objects", multiple=True, metavar="OBJECT",
                 help="Campus or model name in any case, e.g. AttendanceExcuse; repeat for several."),
    click.option("--check-dependencies", is_flag=True,
                 help="Resync every parent of the chosen objects too, parents first."),
    click.option("--school-year", type=int, metavar="YEAR", default=None,
                 help="End year of the school year to replace (2025 = 2024-2025); default: the current one."),
    click.option("--full-refresh", is_flag=True,
                 help="Rebuild the tables from scratch (every registered district must be chosen)."),
)


def stack_options(options):
    """One decorator applying click options in the order listed (the first shows first in --help)."""
    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command
    return decorate


#: -d/--district, -o/--object, --check-dependencies, --school-year and --full-refresh.
selection_options = stack_options(_OPTIONS)
