"""`resync verify`: compare districts' sites with the state; `--repair` queues what fixes it."""

from __future__ import annotations

import click

from .. import database
from ..errors import ResyncError
from ..school_year import school_year_label
from ..state_view import repair as repair_api
from ..state_view import verify as verify_api
from .common import emit_json, json_option, moment_text, state_view_options, table, tool_transaction

#: Keys shown per set in the text output (--json has up to segments.LISTED_KEYS, with exact counts).
_SHOWN = 10


@click.command()
@state_view_options
@click.option("--recompute", is_flag=True,
              help="Recompute every state table, even those certified equal since nothing changed.")
@click.option("--repair", is_flag=True, help="Queue the smallest resync request that removes the differences found.")
@click.option("--dry-run", is_flag=True, help="With --repair: show the request, queue nothing.")
@click.option("--history", "show_history", is_flag=True, help="List past verifications instead (newest first).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True,
              help="With --history: how many.")
@json_option
def verify(districts, objects, school_year, recompute, repair, dry_run, show_history, limit, as_json) -> None:
    """Compare each object's rows at the districts' sites with the state's.

    In tiers, so that an equal district costs little: row counts and a checksum per segment
    (calendar, month) where the rows are, then row by row only inside the segments that differ.
    Each source table at the site is compared with the landing, and each state table with its
    recomputation from the landing (skipped while a previous verify's certificate holds: nothing
    it depends on changed). Prints the rows only at the district, only at the state, and in both
    but different (with the columns); stores the outcome (`resync verify --history`).
    Exit 1 when something differs or a district could not be read, unless --repair queued the fix.
    Every user verifies the districts they may see; --repair needs Write for them.

        resync verify -d 01 -o AttendanceExcuse --repair
    """
    if show_history:
        if repair or dry_run or recompute or districts or objects or school_year:
            raise ResyncError("--history lists past verifications; it takes only --limit and --json.")
        _history(limit, as_json)
        return
    if dry_run and not repair:
        raise ResyncError("--dry-run goes with --repair: it shows the repair request without queueing it.")
    with tool_transaction():
        pass  # the tool schema exists (or is upgraded) before anything is stored
    url = database.database_url()
    fixed = None
    if repair:
        found, fixed = repair_api.verify_and_repair(url, list(districts), list(objects), school_year,
                                                    dry_run=dry_run, recompute=recompute)
    else:
        found = verify_api.verify(url, list(districts), list(objects), school_year, recompute=recompute)
    outcome = found.as_dict()
    if fixed and fixed.planned:
        outcome["repair"] = fixed.as_dict()
    if as_json:
        emit_json(outcome)
    else:
        _print(found)
        if fixed:
            _print_repair(found, fixed)
    unresolved = not found.equal and not (fixed and fixed.queued)
    if unresolved or any(d.error for d in found.districts):
        raise click.exceptions.Exit(1)


def _print(found: verify_api.Verification) -> None:
    click.echo(f"Verification {found.id}, school year {school_year_label(found.school_year)},"
               f" {len(found.objects)} object{'s' if len(found.objects) != 1 else ''}, {found.seconds:.1f} s:")
    for district in found.districts:
        if district.error:
            click.echo(f"District {district.district} {district.district_name}: not verified: {district.error}")
            continue
        verdict = "equal" if district.equal else f"{district.differences:,} differences"
        click.echo(f"District {district.district} {district.district_name}: {verdict} ({district.seconds:.1f} s)")
        click.echo("  Tables at the site against the landing:")
        for comparison in district.tables.values():
            _print_comparison(comparison)
        click.echo("  State tables against their recomputation from the landing:")
        for check in district.objects:
            _print_comparison(check.state)
        differing = district.differing_objects
        if differing:
            click.echo(f"  Objects that differ: {', '.join(differing)}.")
    click.echo(found.summary())


def _print_comparison(c) -> None:
    if c.equal:
        how = ", unchanged since a recomputation found it equal" if c.certified else ""
        click.echo(f"    {c.name:26} equal: {c.rows_district:,} rows, {c.segments} segments{how}")
        return
    click.echo(f"    {c.name:26} differs: {c.rows_district:,} rows at the district, {c.rows_state:,} at the"
               f" state; {c.segments_differing} of {c.segments} segments differ, {c.rows_read:,} rows read"
               + (f" ({c.note})" if c.note else ""))
    for label, count, keys in (("only at the district", c.counts["only_district"], c.only_district),
                               ("only at the state", c.counts["only_state"], c.only_state),
                               ("in both but different", c.counts["different"], c.different)):
        if count:
            shown = [_key(k) for k in keys[:_SHOWN]]
            more = ", ..." if count > len(shown) else ""
            click.echo(f"      {label} ({count:,}): {'; '.join(shown)}{more}")


def _key(item: dict) -> str:
    if "columns" in item:
        return f"{_key(item['key'])} ({', '.join(item['columns'])})"
    return ", ".join(f"{name} {value}" for name, value in item.items())


def _print_repair(found: verify_api.Verification, fixed: repair_api.Outcome) -> None:
    if not fixed.planned:
        click.echo("Nothing to repair." if found.equal else
                   "Nothing can be repaired: the districts that differ could not be read.")
        return
    if fixed.plans:
        for plan in fixed.plans:
            click.echo(plan.describe())
        click.echo("Dry run: nothing was queued.")
        return
    for request in fixed.queued:
        click.echo(f"Queued repair request {request.id}: {request.describe()}.")


def _history(limit: int, as_json: bool) -> None:
    with tool_transaction() as conn:
        found = verify_api.history(conn, limit=limit)
    if as_json:
        emit_json([v.as_dict() for v in found])
        return
    if not found:
        click.echo("No verifications yet; `resync verify` makes one.")
        return
    rows = [{"id": v.id, "at": moment_text(v.started_at), "by": v.requested_by, "districts": ", ".join(v.districts),
             "objects": len(v.objects), "result": "equal" if v.equal else f"{v.differences:,} differences",
             "seconds": f"{v.seconds:.1f}", "repair": ", ".join(map(str, v.repair_requests)) or "-"}
            for v in found]
    click.echo(table(rows, ["id", "at", "by", "districts", "objects", "result", "seconds", "repair"]))
