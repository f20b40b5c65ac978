"""Which state this warehouse belongs to, and which Campus objects it subscribes to.

The one place to set them is the `vars` of dbt_project/dbt_project.yml:

    state_name: Nevada
    subscribed_objects: all          # or a list of Campus (or model) names
    chronic_absence_rules:           # reported beside the federal rule
      - {name: state, absent_days: 10, min_membership_days: 45}
    sync_cadence_days: 7             # after how many days without a resync an object is stale

The default subscribes every object. A state that leaves the attendance objects
(AttDayAggregation, AttendanceExcuse) out of its list cannot resync them: in the original
product only BIE and Nevada subscribe to attendance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
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

    def subscribed_objects(self) -> list[catalog.CampusObject]:
        """The objects the state subscribes to, in the catalog's order."""
        return [o for o in catalog.load() if self.subscribes(o)]

    def as_dict(self) -> dict:
        return {
            "state_name": self.name,
            "subscribed_objects": [o.campus_name for o in self.subscribed_objects()],
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


#: The weekly full sync's cadence, when dbt_project.yml does not set sync_cadence_days.
DEFAULT_CADENCE_DAYS = 7


def sync_cadence_days() -> int:
    """The `sync_cadence_days` var: after how many days without a resync (or a pull) a district's
    object is stale; `dbt source freshness` warns after the same."""
    raw = project_vars().get("sync_cadence_days", DEFAULT_CADENCE_DAYS)
    try:
        days = float(raw)
    except (TypeError, ValueError):
        days = 0
    if not days > 0 or days != int(days):
        raise ResyncError(f"sync_cadence_days in {config_path()} must be a whole number of days, such as 7;"
                          f" got {raw!r}.")
    return int(days)


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


FEDERAL = "federal"
_RULE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


@dataclass(frozen=True)
class ChronicAbsenceRule:
    """Chronically absent: absent on `threshold` of membership days (or `absent_days` days) or
    more, counted only with at least `min_membership_days` membership days."""

    name: str
    min_membership_days: int
    threshold: Decimal | None = None  # a share of membership days
    absent_days: Decimal | None = None  # a number of days absent

    def describe(self) -> str:
        limit = (f"{self.threshold:.0%} of membership days" if self.threshold is not None
                 else f"{self.absent_days.normalize():f} days")
        return f"absent on {limit} or more, counted from {self.min_membership_days} membership days"

    def as_dict(self) -> dict:
        return {"rule": self.name, "threshold": self.threshold, "absent_days": self.absent_days,
                "min_membership_days": self.min_membership_days}


def chronic_absence_rules() -> list[ChronicAbsenceRule]:
    """The federal rule (vars chronic_absence_threshold and chronic_min_membership_days), then
    each rule of var chronic_absence_rules; resync_chronic_absence_rules() in
    macros/attendance_reports.sql reads the same vars for the report views."""
    variables = project_vars()
    where = f"in {config_path()}"
    threshold = _number(variables.get("chronic_absence_threshold", "0.10"))
    if threshold is None or not 0 < threshold <= 1:
        raise ResyncError(f"chronic_absence_threshold {where} must be a share between 0 and 1, such as 0.10.")
    minimum = _number(variables.get("chronic_min_membership_days", 10))
    if minimum is None or minimum < 0 or minimum != int(minimum):
        raise ResyncError(f"chronic_min_membership_days {where} must be a whole number of days, such as 10.")
    rules = [ChronicAbsenceRule(FEDERAL, int(minimum), threshold=threshold)]
    further = variables.get("chronic_absence_rules") or []
    if not isinstance(further, list):
        raise ResyncError(f"chronic_absence_rules {where} must be a list of rules, not {further!r}.")
    for number, raw in enumerate(further, 1):
        rules.append(_rule(raw, number, {r.name for r in rules}, where))
    return rules


def _rule(raw, number: int, taken: set[str], where: str) -> ChronicAbsenceRule:
    problem = f"Rule {number} of chronic_absence_rules {where} ({raw!r})"
    if not isinstance(raw, dict):
        raise ResyncError(f"{problem} must be a mapping with name, threshold or absent_days, and min_membership_days.")
    name = raw.get("name")
    if not isinstance(name, str) or not _RULE_NAME.match(name) or name in taken:
        raise ResyncError(f"{problem} needs a name of lower-case letters, digits and _ that no other rule has.")
    threshold, absent_days = _number(raw.get("threshold")), _number(raw.get("absent_days"))
    if (threshold is None) == (absent_days is None):
        raise ResyncError(f"{problem} needs either threshold (a share of membership days) or absent_days, not both.")
    if (threshold is not None and not 0 < threshold <= 1) or (absent_days is not None and absent_days <= 0):
        raise ResyncError(f"{problem}: threshold must be between 0 and 1, absent_days above 0.")
    minimum = _number(raw.get("min_membership_days"))
    if minimum is None or minimum < 0 or minimum != int(minimum):
        raise ResyncError(f"{problem} needs min_membership_days, a whole number of days.")
    return ChronicAbsenceRule(name, int(minimum), threshold=threshold, absent_days=absent_days)


def _number(raw) -> Decimal | None:
    """A YAML number (or numeric string) as a Decimal; None when absent or not a number."""
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
