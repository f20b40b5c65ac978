"""What every command shares: error handling, the --json flag, and the database connection."""

from __future__ import annotations

import datetime
import json
import sys
from typing import Any

import click

from .. import database, queue
from ..errors import ResyncError


class ResyncGroup(click.Group):
    """A group whose commands end a user-caused error with one sentence and exit 1, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ResyncError as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document for machines.")


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def tool_transaction():
    """A transaction on the configured database with the tool schema (and the queue's) created
    or upgraded: an administrator's first command installs what users will need."""
    return _ToolTransaction()


class _ToolTransaction:
    def __enter__(self):
        self._cm = database.transaction()
        conn = self._cm.__enter__()
        try:
            queue.ensure_queue_schema(conn)
        except BaseException:
            self._cm.__exit__(*sys.exc_info())
            raise
        return conn

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def moment_text(moment: datetime.datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S",
                zone: datetime.tzinfo | None = None) -> str:
    """`moment` in local time (or in `zone`) formatted as `fmt`; "-" when there is none."""
    return moment.astimezone(zone).strftime(fmt) if moment else "-"


def table(rows: list[dict], columns: list[str]) -> str:
    """A plain aligned text table (no extra dependency for a few lines of output)."""
    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(line.rstrip() for line in lines)
