"""A report as tables for people: the same titles, columns and formatted cells for the terminal
and the HTML page."""

from __future__ import annotations

from dataclasses import dataclass

from ..school_year import school_year_label
from .freshness import UNKNOWN, age_text
from .report import Report


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    labels: int  # the leading columns that name the row (the rest are measures)


def title(report: Report) -> str:
    return f"Attendance report, {report.state_name}, school year {school_year_label(report.school_year)}"


def rule_lines(report: Report) -> list[str]:
    return [f"{rule.name}: {rule.describe()}" for rule in report.rule_objects]


def freshness_lines(report: Report) -> list[str]:
    def pulled(f) -> str:
        return "not visible to you" if f.status == UNKNOWN else age_text(f.last_pull, report.generated_at)
    return [f"{f.district} {f.district_name}: {f.status} (last pull {pulled(f)};"
            f" last resync request that succeeded: {age_text(f.last_resync, report.generated_at)})"
            for f in report.freshness]


def tables(report: Report) -> list[Table]:
    """By district, school and grade for the school year (chronic absence under each rule side by
    side), then each district by month."""
    chronic = [f"chronic ({r['rule']})" for r in report.rules]
    measures = ["students", "ADA", "ADM", "attendance", "truant days"]
    levels = (("By district", "district", ["district"]),
              ("By school", "school", ["district", "school"]),
              ("By grade", "grade", ["district", "school", "grade"]))
    result = [Table(heading, keys + measures + chronic,
                    [_labels(row, keys) + _measures(row) + [_chronic(row, r["rule"]) for r in report.rules]
                     for row in report.level(level)], len(keys))
              for heading, level, keys in levels]
    result.append(Table("By month", ["district", "month"] + measures,
                        [_labels(row, ["district"]) + [row["month_name"] or "-"] + _measures(row)
                         for row in report.level("district", monthly=True)], 2))
    return result


def _labels(row: dict, keys: list[str]) -> list[str]:
    names = {"district": f"{row['district_id']} {row['district_name'] or ''}".strip(),
             "school": row["school_name"] or f"school {row['school_id']}",
             "grade": row.get("grade") or "-"}
    return [names[k] for k in keys]


def _measures(row: dict) -> list[str]:
    return [f"{row['students']:,}", f"{row['ada']:,.1f}", f"{row['adm']:,.1f}", _percent(row["attendance_rate"]),
            f"{row['truant_days']:,}"]


def _chronic(row: dict, rule: str) -> str:
    rate, absent, counted = (row[f"chronic_{rule}_{m}"] for m in ("rate", "absent", "counted"))
    return "-" if rate is None else f"{_percent(rate)} ({absent} of {counted})"


def _percent(value) -> str:
    return "-" if value is None else f"{value:.1%}"
