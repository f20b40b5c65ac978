"""`resync worker`: run queued requests and the schedules (see orchestrator.worker)."""

from __future__ import annotations

import logging

import click

from .. import database, queue, rights, worker as worker_module
from ..errors import ResyncError
from .common import Seconds, tool_transaction


@click.command()
@click.option("--burst", is_flag=True, help="Process what is queued, then exit (for scripts and tests).")
@click.option("--heartbeat", type=Seconds(min=0.1, max=3600), default=10.0, show_default=True, metavar="SECONDS",
              help="How often this worker says it is alive.")
@click.option("--stalled-after", type=Seconds(min=0.5, max=86_400), default=30.0, show_default=True, metavar="SECONDS",
              help="A worker silent this long is presumed dead and its request is run again.")
@click.option("--graceful-timeout", type=Seconds(min=0, max=86_400), default=60.0, show_default=True, metavar="SECONDS",
              help="On SIGINT/SIGTERM, how long the running request may take to finish before it is"
                   " rolled back and requeued.")
@click.option("--queue", "queues", multiple=True, type=click.Choice([queue.REQUESTS_QUEUE, queue.SCHEDULES_QUEUE]),
              help="Only these queues (default: both).")
@click.option("--no-schedules", is_flag=True, help="Do not queue the schedules' runs from this worker.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning"]), default="info", show_default=True)
def worker(burst, heartbeat, stalled_after, graceful_timeout, queues, no_schedules, log_level) -> None:
    """Run queued requests, one at a time, and the schedules; stop with SIGINT or SIGTERM.

    Start as many workers as you like (on one machine or several): requests touching the same
    districts and objects never run at the same time, unrelated ones do.
    """
    logging.basicConfig(level=getattr(logging, log_level.upper()),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        options = worker_module.WorkerOptions(
            burst=burst, heartbeat=heartbeat, stalled_after=stalled_after, graceful_timeout=graceful_timeout,
            queues=list(queues) or None, schedules=not no_schedules,
        )
    except ResyncError as exc:  # the one rule between the options
        raise click.BadParameter("must be longer than --heartbeat", param_hint="--stalled-after") from exc
    with tool_transaction() as conn:
        rights.require_worker(conn)
    worker_module.run(database.database_url(), options)
