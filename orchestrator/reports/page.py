"""A report as one self-contained HTML page: its charts as inline SVG, no script, no link out.

The charts are Vega-Lite specifications built with Altair and rendered to SVG by vl-convert,
which needs no browser; the page is a Jinja2 template (autoescaped) around them.
"""

from __future__ import annotations

import io
import os
import tempfile
from importlib import resources
from pathlib import Path

from ..errors import ResyncError
from . import freshness, layout
from .report import Report

_FRESHNESS_COLOURS = {freshness.FRESH: "#2e7d32", freshness.STALE: "#e65100", freshness.NEVER: "#757575",
                      freshness.UNKNOWN: "#9e9e9e"}


def render(report: Report) -> str:
    import jinja2
    from markupsafe import Markup

    charts = [  # heading, chart, what to say without one, notes under it
        ("Freshness: each district's last pull", _freshness_chart(report),
         "No district is chosen.", layout.freshness_lines(report)),
        ("Attendance rate by month", _attendance_by_month_chart(report),
         "No attendance at the state for this school year.", []),
        ("Chronic absence by school", _chronic_by_school_chart(report),
         "No school has students counted for chronic absence.", []),
    ]
    template = jinja2.Environment(autoescape=True).from_string(
        resources.files(__package__).joinpath("templates/report.html").read_text())
    return template.render(
        title=layout.title(report), generated_at=report.generated_at.astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        rules=layout.rule_lines(report),
        charts=[(heading, Markup(_svg(chart)) if chart is not None else None, empty, notes)
                for heading, chart, empty, notes in charts],
        tables=layout.tables(report))


def write(report: Report, path: str | os.PathLike) -> Path:
    """Write the page to `path` whole or not at all (a temporary file renamed over it)."""
    target = Path(path)
    text = render(report)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as exc:
        raise ResyncError(f"The report cannot be written to {target}: {exc.strerror or exc}.") from exc
    return target


def _svg(chart) -> str:
    """The chart as SVG text (Altair hands its spec to vl-convert, with the matching Vega-Lite)."""
    out = io.StringIO()
    chart.save(out, format="svg")
    return out.getvalue()


def _district(row: dict) -> str:
    return f"{row['district_id']} {row['district_name'] or ''}".strip()


def _freshness_chart(report: Report):
    import altair as alt

    if not report.freshness:
        return None
    values = [{"district": f"{f.district} {f.district_name}", "status": f.status,
               "label": f"pulled {freshness.age_text(f.last_pull, report.generated_at)}" if f.last_pull
               else "last pull unknown" if f.status == freshness.UNKNOWN else "never pulled"}
              for f in report.freshness]
    base = alt.Chart(alt.Data(values=values)).encode(
        x=alt.X("district:N", title=None, sort=None, axis=alt.Axis(orient="top", labelAngle=0, labelFontSize=12)))
    cells = base.mark_rect(stroke="white", strokeWidth=3).encode(
        color=alt.Color("status:N", title="Status",
                        scale=alt.Scale(domain=list(_FRESHNESS_COLOURS), range=list(_FRESHNESS_COLOURS.values()))))
    labels = base.mark_text(color="white", fontSize=12).encode(text="label:N")
    return (cells + labels).properties(width=min(900, 180 * len(values)), height=44)


def _attendance_by_month_chart(report: Report):
    import altair as alt

    values = [{"district": _district(r), "month": r["month_name"] or "-", "month_seq": r["month_seq"],
               "attendance_rate": float(r["attendance_rate"])}
              for r in report.level("district", monthly=True) if r["attendance_rate"] is not None]
    if not values:
        return None
    return alt.Chart(alt.Data(values=values)).mark_line(point=True).encode(
        x=alt.X("month:N", title="School month", sort=alt.EncodingSortField("month_seq", op="min")),
        y=alt.Y("attendance_rate:Q", title="Attendance rate", axis=alt.Axis(format="%"),
                scale=alt.Scale(zero=False)),
        color=alt.Color("district:N", title="District"),
    ).properties(width=640, height=280)


def _chronic_by_school_chart(report: Report):
    import altair as alt

    values = [{"school": f"{_district(r)} · {r['school_name'] or r['school_id']}", "rule": rule["rule"],
               "rate": float(r[f"chronic_{rule['rule']}_rate"])}
              for r in report.level("school") for rule in report.rules
              if r[f"chronic_{rule['rule']}_rate"] is not None]
    if not values:
        return None
    return alt.Chart(alt.Data(values=values)).mark_bar().encode(
        y=alt.Y("school:N", title=None, sort=None, axis=alt.Axis(labelLimit=360)),
        yOffset=alt.YOffset("rule:N", sort=[r["rule"] for r in report.rules]),
        x=alt.X("rate:Q", title="Students chronically absent", axis=alt.Axis(format="%")),
        color=alt.Color("rule:N", title="Rule", sort=[r["rule"] for r in report.rules]),
    ).properties(width=560, height=alt.Step(14))
