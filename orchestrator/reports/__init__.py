"""The state's attendance reports (models/reports): the views, and the reports read from them.

    report = reports.load(url, ["01"], 2024)     # rows of the report views, rules, freshness
    reports.page.write(report, "report.html")    # one self-contained page with charts

`resync report` and any other surface go through `load`; none of them holds SQL.
"""

from __future__ import annotations

from .report import Report, district_summary, load
from .views import REPORTS_SCHEMA, build_views

__all__ = ["REPORTS_SCHEMA", "Report", "build_views", "district_summary", "load"]
