"""The object catalog: names, dependency closure and order."""

from __future__ import annotations

import pytest

from orchestrator import catalog
from orchestrator.errors import ResyncError


def test_catalog_is_topologically_ordered():
    seen: set[str] = set()
    for obj in catalog.load():
        assert set(obj.parents) <= seen, f"{obj.campus_name} comes before a parent"
        seen.add(obj.campus_name)


def test_resolve_accepts_campus_and_model_names_in_any_case():
    assert catalog.resolve("attdayaggregation").model_name == "att_day_aggregation"
    assert catalog.resolve("ATT_DAY_AGGREGATION").campus_name == "AttDayAggregation"


def test_unknown_name_suggests_close_ones():
    with pytest.raises(ResyncError, match="Did you mean.*AttendanceExcuse"):
        catalog.resolve("AttendanceExcuses")


def test_dependencies_of_att_day_aggregation_parents_first():
    names = [o.campus_name for o in catalog.with_dependencies([catalog.resolve("AttDayAggregation")])]
    assert names[0] == "District" and names[-1] == "AttDayAggregation"
    assert set(names) == {
        "District", "School", "Calendar", "ScheduleStructure", "TermSchedule", "PeriodSchedule",
        "StructureGradeLevel", "Day", "CourseSection", "PersonIdentity", "Enrollment",
        "AttendanceExcuse", "AttDayAggregation",
    }
    assert "Behavior" not in names and "SchoolMonth" not in names
