"""Rows at the state whose parent is missing there: what a resync without dependencies can leave.

The edges are the catalog's (child -> direct parents); this module only adds, per edge, the
columns a child row uses to name its parent row (beside district_id, which every key carries).
A child row is orphaned when no parent row shares its district and those columns; rows whose
parent columns are null (an absence without an attendance code) name no parent and are ignored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import catalog, settings

#: (child, parent) Campus names -> the child's columns that name its parent row, as the parent
#: calls them too. An empty tuple: the district alone is the parent (District itself).
PARENT_COLUMNS: dict[tuple[str, str], tuple[str, ...]] = {
    ("School", "District"): (),
    ("Calendar", "School"): ("school_id",),
    ("ScheduleStructure", "Calendar"): ("calendar_id",),
    ("SchoolMonth", "Calendar"): ("calendar_id",),
    ("AttendanceExcuse", "Calendar"): ("calendar_id",),
    ("TermSchedule", "ScheduleStructure"): ("structure_id",),
    ("PeriodSchedule", "ScheduleStructure"): ("structure_id",),
    ("StructureGradeLevel", "ScheduleStructure"): ("structure_id",),
    ("Day", "Calendar"): ("calendar_id",),
    ("Day", "PeriodSchedule"): ("period_schedule_id",),
    ("CourseSection", "Calendar"): ("calendar_id",),
    ("CourseSection", "TermSchedule"): ("term_id",),
    ("CourseSection", "PeriodSchedule"): ("period_id",),
    ("PersonIdentity", "District"): (),
    ("Enrollment", "PersonIdentity"): ("person_id",),
    ("Enrollment", "Calendar"): ("calendar_id",),
    ("Enrollment", "StructureGradeLevel"): ("grade_level_id",),
    # A daily aggregate row stands for a student's enrollment and a day of a calendar.
    ("AttDayAggregation", "Enrollment"): ("person_id", "calendar_id"),
    ("AttDayAggregation", "Day"): ("calendar_id", "date"),
    # No column of an aggregate row names a section: it needs its calendar's sections at least.
    ("AttDayAggregation", "CourseSection"): ("calendar_id",),
    ("AttDayAggregation", "AttendanceExcuse"): ("excuse_id",),
    ("BehaviorResolutionType", "District"): (),
    ("Behavior", "PersonIdentity"): ("person_id",),
    ("Behavior", "Calendar"): ("calendar_id",),
    ("Behavior", "BehaviorResolutionType"): ("resolution_type_id",),
    ("AtRisk", "Enrollment"): ("person_id", "calendar_id"),
    ("AdultEd", "PersonIdentity"): ("person_id",),
    ("AdultEd", "Calendar"): ("calendar_id",),
    ("ALPSS", "Enrollment"): ("person_id", "calendar_id"),
}


@dataclass(frozen=True)
class MissingParent:
    child: str
    parent: str
    district: str
    rows: int  # child rows in the district (and school year) whose parent row is absent

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        rows = f"{self.rows:,} row{'s' if self.rows != 1 else ''}"
        return f"{self.child} in district {self.district}: {rows} whose {self.parent} is missing at the state."


def edges() -> list[tuple[catalog.CampusObject, catalog.CampusObject]]:
    """Every (child, parent) pair of the catalog, children in catalog order."""
    index = catalog.by_campus_name()
    return [(child, index[parent]) for child in catalog.load() for parent in child.parents]


def find(
    conn: Connection,
    objects: Iterable[catalog.CampusObject],
    districts: list[str],
    school_year: int,
) -> list[MissingParent]:
    """Orphaned rows along every edge that touches one of `objects` (as child or as parent).

    Checked in the given districts and, for year-scoped children, the school year: a rebuilt
    child may now point at parents the state lacks, and a rebuilt parent may have dropped rows
    that children kept at the state still point at.
    """
    names = {o.campus_name for o in objects}
    tables = _existing_tables(conn)
    found: list[MissingParent] = []
    for child, parent in edges():
        if child.campus_name not in names and parent.campus_name not in names:
            continue
        if child.model_name not in tables:
            continue
        columns = PARENT_COLUMNS[(child.campus_name, parent.campus_name)]
        for district, rows in _orphans(conn, child, parent, columns, parent.model_name in tables,
                                       districts, school_year):
            found.append(MissingParent(child.campus_name, parent.campus_name, district, rows))
    return found


def _existing_tables(conn: Connection) -> set[str]:
    return set(conn.execute(sa.text(
        "select table_name from information_schema.tables where table_schema = :s"
    ), {"s": settings.STATE_SCHEMA}).scalars())


def _orphans(conn, child, parent, columns, parent_exists, districts, school_year):
    schema = settings.STATE_SCHEMA
    conditions = ["c.district_id = any(:districts)"]
    if child.year_scoped:
        conditions.append("c.end_year = :year")
    conditions += [f'c."{col}" is not null' for col in columns]
    if parent_exists:
        match = " and ".join(["p.district_id = c.district_id"] + [f'p."{col}" = c."{col}"' for col in columns])
        conditions.append(f'not exists (select 1 from "{schema}"."{parent.model_name}" p where {match})')
    return conn.execute(sa.text(
        f'select c.district_id, count(*) from "{schema}"."{child.model_name}" c'
        f" where {' and '.join(conditions)} group by c.district_id order by c.district_id"
    ), {"districts": districts, "year": school_year}).all()
