"""The object catalog (seeds/campus_objects.csv): the one source of truth for what can be resynced.

The CLI, the docs and the lineage check all read it; dbt's ref() edges must match its parents.
"""

from __future__ import annotations

import csv
import difflib
import functools
from dataclasses import dataclass
from pathlib import Path

from . import settings
from .errors import ResyncError


@dataclass(frozen=True)
class CampusObject:
    campus_name: str
    model_name: str
    parents: tuple[str, ...]  # Campus names of the direct parents
    scope: str  # "district" or "district_year"
    attendance_object: bool
    description: str

    @property
    def year_scoped(self) -> bool:
        return self.scope == "district_year"


def catalog_path() -> Path:
    return settings.project_dir() / "seeds" / "campus_objects.csv"


@functools.lru_cache(maxsize=1)
def load() -> tuple[CampusObject, ...]:
    """Every object, in the catalog's order (parents always before children)."""
    with catalog_path().open(newline="") as handle:
        return tuple(
            CampusObject(
                campus_name=row["campus_name"],
                model_name=row["model_name"],
                parents=tuple(row["parents"].split()),
                scope=row["scope"],
                attendance_object=row["attendance_object"].strip().lower() == "true",
                description=row["description"],
            )
            for row in csv.DictReader(handle)
        )


def by_campus_name() -> dict[str, CampusObject]:
    return {o.campus_name: o for o in load()}


def resolve(name: str) -> CampusObject:
    """An object by Campus name or model name, in any case; unknown names get suggestions."""
    wanted = name.strip().lower()
    for obj in load():
        if wanted in (obj.campus_name.lower(), obj.model_name.lower()):
            return obj
    names = [o.campus_name for o in load()] + [o.model_name for o in load()]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    close += [n for n in names if wanted and wanted in n.lower() and n not in close][:3]
    # Suggest Campus names only: "calendr" should not offer both calendar and Calendar.
    campus_of = {o.model_name: o.campus_name for o in load()}
    close = [campus_of.get(n, n) for n in close]
    hint = f" Did you mean {', '.join(dict.fromkeys(close))}?" if close else ""
    raise ResyncError(f"Unknown object {name!r}; `resync objects` lists them.{hint}")


def with_dependencies(objects: list[CampusObject]) -> list[CampusObject]:
    """The objects and all their ancestors, parents first in the catalog's order (dbt runs them in
    its own: resync.in_run_order)."""
    index = by_campus_name()
    wanted: set[str] = set()
    stack = [o.campus_name for o in objects]
    while stack:
        name = stack.pop()
        if name not in wanted:
            wanted.add(name)
            stack.extend(index[name].parents)
    return [o for o in load() if o.campus_name in wanted]
