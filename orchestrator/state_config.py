"""Which state this warehouse belongs to, and which Campus objects it subscribes to.

The one place to set them is the `vars` of dbt_project/dbt_project.yml:

    state_name: Nevada
    subscribed_objects: all          # or a list of Campus (or model) names

The default subscribes every object. A state that leaves the attendance objects
(AttDayAggregation, AttendanceExcuse) out of its list cannot resync them: in the original
product only BIE and Nevada subscribe to attendance.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from . import catalog, settings
from .school_year import MAX_SCHOOL_YEAR, MIN_SCHOOL_YEAR
from .errors import ResyncError

ALL = "all"


@dataclass(frozen=True)
class StateConfig:
    name: str
    subscribed: frozenset[str]  # Campus names

    def subscribes(self, obj: catalog.CampusObject) -> bool:
        return obj.campus_name in self.subscribed

    def as_dict(self) -> dict:
        return {
            "state_name": self.name,
            "subscribed_objects": [o.campus_name for o in catalog.load() if self.subscribes(o)],
        }


def config_path() -> Path:
    return settings.dbt_project_dir() / "dbt_project.yml"


def project_vars() -> dict:
    """The `vars` of dbt_project.yml (the file is small; read it every time so edits apply at once)."""
    path = config_path()
    try:
        project = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ResyncError(f"The state configuration in {path} cannot be read: {exc}") from exc
    variables = project.get("vars") if isinstance(project, dict) else None
    return variables if isinstance(variables, dict) else {}


def school_year() -> int | None:
    """The `school_year` var (an end year, checked as resync_school_year() checks it), or None."""
    raw = project_vars().get("school_year")
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    if not (text.isdigit() and MIN_SCHOOL_YEAR <= int(text) <= MAX_SCHOOL_YEAR):
        raise ResyncError(f"school_year in {config_path()} must be the end year of a school year,"
                          f" such as 2025; got {raw!r}.")
    return int(text)


def load() -> StateConfig:
    """Read the state's vars."""
    path = config_path()
    variables = project_vars()
    name = str(variables.get("state_name") or "The state").strip()
    raw = variables.get("subscribed_objects", ALL)
    if raw is None or (isinstance(raw, str) and raw.strip().lower() == ALL):
        return StateConfig(name, frozenset(o.campus_name for o in catalog.load()))
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    if not isinstance(raw, list):
        raise ResyncError(
            f"subscribed_objects in {path} must be `all` or a list of object names, not {raw!r}."
        )
    subscribed = set()
    for item in raw:
        try:
            subscribed.add(catalog.resolve(str(item)).campus_name)
        except ResyncError as exc:
            raise ResyncError(f"subscribed_objects in {path}: {exc}") from exc
    return StateConfig(name, frozenset(subscribed))
