"""The `resync` command: one sub-module per command group, registered on the main group here.

The CLI holds no SQL and no business rules: each command parses its options, calls the module
that owns the behaviour, and prints the result (as text, or as JSON with --json).
"""

from __future__ import annotations

import click

from .common import ResyncGroup
from . import (aggregate, db, demo, district, freshness, objects, pull, report, request, run, schedule, user,
               verify, web, worker)


@click.group(cls=ResyncGroup)
@click.version_option(package_name="state-resync")
def main() -> None:
    """Resync chosen objects of chosen districts into the state's warehouse.

    The database is the embedded PostgreSQL under .resync/ unless RESYNC_DATABASE_URL is set.
    """


main.add_command(db.db)
main.add_command(district.district)
main.add_command(demo.demo)
main.add_command(objects.objects)
main.add_command(run.run)
main.add_command(pull.pull)
main.add_command(aggregate.aggregate)
for command in request.COMMANDS:
    main.add_command(command)
main.add_command(worker.worker)
main.add_command(schedule.schedule)
main.add_command(user.user)
main.add_command(report.report)
main.add_command(web.web)
main.add_command(freshness.freshness)
main.add_command(verify.verify)
