"""What every command shares: error handling, the --json flag, and the database connection."""

from __future__ import annotations

import datetime
import json
import math
import sys
from typing import Any

import click

from .. import database, queue, text_table
from ..errors import ResyncError


class ResyncGroup(click.Group):
    """A group whose commands end a user-caused error with one sentence and exit 1, no traceback.

    With --json anywhere among a command's arguments, the error (a bad option value too) is one
    JSON document on stdout instead, `{"ok": false, "error": "..."}`, with the same exit status.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        options = args[:args.index("--")] if "--" in args else args
        ctx.meta["resync.json"] = "--json" in options
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ResyncError as exc:
            error = click.ClickException(str(exc))
        except click.ClickException as exc:  # usage errors and bad option values
            if not ctx.meta.get("resync.json"):
                raise
            error = exc
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        if ctx.meta.get("resync.json"):
            emit_json({"ok": False, "error": error.format_message()})
            sys.exit(error.exit_code)
        raise error


class Seconds(click.FloatRange):
    """A number of seconds between `min` and `max`: nan and infinity are refused (a FloatRange
    lets nan through, since nan compares false with every bound)."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a number of seconds.", param, ctx)
        return super().convert(number, param, ctx)


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document for machines.")
yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")


def state_view_options(command):
    """-d, -o and --school-year of `resync freshness` and `resync verify`: what the state sees of
    which districts, objects and school year (every registered district and subscribed object)."""
    for option in reversed([
        click.option("-d", "--district", "districts", multiple=True, metavar="CODE",
                     help="District code; repeat for several; default: every registered district."),
        click.option("-o", "--object", "objects", multiple=True, metavar="OBJECT",
                     help="Campus or model name; repeat for several; default: every subscribed object."),
        click.option("--school-year", type=int, metavar="YEAR", default=None,
                     help="End year of the school year of year-scoped objects; default: the current one."),
    ]):
        command = option(command)
    return command


def confirmed(question: str, as_json: bool) -> bool:
    """The original tool's OK pop-up; no answer (closed input) means no. With --json the question
    goes to stderr, so stdout stays one JSON document."""
    try:
        return click.confirm(question, default=False, err=as_json)
    except click.Abort:
        return False


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


#: An aligned plain-text table: text_table.render (numbers with thousands separators).
table = text_table.render
