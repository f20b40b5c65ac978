"""`resync objects`: the subscribed data elements, and what Check dependencies adds to one."""

from __future__ import annotations

import click

from .. import catalog, resync, state_config
from .common import emit_json, json_option, table


def _row(obj: catalog.CampusObject, config: state_config.StateConfig) -> dict:
    return {
        "object": obj.campus_name,
        "model": obj.model_name,
        "scope": "district and year" if obj.year_scoped else "district",
        "parents": list(obj.parents),
        "subscribed": config.subscribes(obj),
        "description": obj.description,
    }


@click.command()
@click.option("--tree", "tree_of", metavar="OBJECT", default=None,
              help="Show what Check dependencies adds to OBJECT, in the order it runs.")
@json_option
def objects(tree_of: str | None, as_json: bool) -> None:
    """List the objects a resync can replace (Campus name, model, scope, parents).

    Names are accepted as Campus names (AttendanceExcuse) or model names (attendance_excuse),
    in any case, wherever an OBJECT is asked for.
    """
    config = state_config.load()
    if tree_of is not None:  # `--tree ''` is an unknown object, not the plain list
        chosen = catalog.resolve(tree_of)
        rows = [_row(o, config) | {"added_by_dependencies": o != chosen}
                for o in resync.in_run_order([chosen], check_dependencies=True)]
        if as_json:
            emit_json({"object": chosen.campus_name, "state": config.name, "runs": rows})
            return
        click.echo(f"resync run -o {chosen.campus_name} --check-dependencies runs, in this order:")
        for number, row in enumerate(rows, 1):
            parents = f"  (after {', '.join(row['parents'])})" if row["parents"] else ""
            mark = "" if row["added_by_dependencies"] else "  <- chosen"
            click.echo(f"  {number:2}. {row['object']}{parents}{mark}")
        return
    rows = [_row(o, config) for o in catalog.load()]
    if as_json:
        emit_json({"state": config.name, "objects": rows})
        return
    click.echo(f"Objects {config.name} can resync (subscriptions: vars in dbt_project/dbt_project.yml):")
    shown = [r | {"parents": " ".join(r["parents"])} for r in rows]
    click.echo(table(shown, ["object", "model", "scope", "parents", "subscribed"]))
