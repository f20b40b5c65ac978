"""`resync report` on the generated districts with every state table and report view built.

What it checks: the JSON is the report views' rows; the summary's levels add up and its chronic
absence columns apply each configured rule; schools carry their names; CSV, text and the HTML
page (rendered in a real headless Chromium) show the same report; bad input is one sentence.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from generated_data import SCHOOL_YEAR as YEAR

from orchestrator import database, registry, reports, settings
from orchestrator.reports import freshness, page

IN_YEAR = ("--school-year", str(YEAR))
REPORTS = f"{settings.STATE_SCHEMA}_reports"
CHROMIUM = Path("/usr/bin/chromium")


def _query(url: str, sql: str, **params) -> list[dict]:
    with database.transaction(url) as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]


def _as_json(value):
    """What a view's value looks like in JSON: numbers as numbers, times as ISO text."""
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _view(url: str, view: str, where: str = "true", **params) -> list[dict]:
    """A report view's rows as JSON has them (read with hash joins, as the report does: the
    template's state tables were never analyzed)."""
    with database.transaction(url) as conn:
        conn.execute(sa.text("set local enable_nestloop = off"))
        found = conn.execute(sa.text(f"select * from {REPORTS}.{view} where {where}"), params)
        return [{k: _as_json(v) for k, v in row._mapping.items()} for row in found]


def _key(row: dict) -> str:
    return json.dumps(row, sort_keys=True)


def _report_json(cli, *args) -> dict:
    result = cli("report", *IN_YEAR, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_report_json_equals_the_report_views(cli, state_url):
    document = _report_json(cli)
    assert document["school_year"] == YEAR and [d["code"] for d in document["districts"]] == ["01", "02", "03"]
    for view in ("attendance_summary", "attendance_summary_by_month"):
        rows = _view(state_url, view, "end_year = :y", y=YEAR)
        assert rows, view
        assert sorted(map(_key, document[view])) == sorted(map(_key, rows)), view
    assert document["chronic_absence_rules"] == _view(state_url, "chronic_absence_rules") == [
        {"rule": "federal", "rule_seq": 1, "threshold": 0.1, "absent_days": None, "min_membership_days": 10},
        {"rule": "state", "rule_seq": 2, "threshold": None, "absent_days": 10.0, "min_membership_days": 45},
    ]
    # Each district's total first, then each school's, then its grades.
    levels = [r["level"] for r in document["attendance_summary"] if r["district_id"] == "01"]
    assert levels[0] == "district" and levels[1] == "school" and levels[2] == "grade"
    # One district narrows every part of it to that district.
    narrowed = _report_json(cli, "-d", "02")
    assert [d["code"] for d in narrowed["districts"]] == ["02"]
    assert [f["district"] for f in narrowed["freshness"]] == ["02"]
    assert sorted(map(_key, narrowed["attendance_summary"])) == sorted(
        map(_key, _view(state_url, "attendance_summary", "end_year = :y and district_id = '02'", y=YEAR)))


def test_levels_add_up_and_schools_carry_their_names(cli, state_url):
    summary = _report_json(cli)["attendance_summary"]
    by_level = defaultdict(list)
    for row in summary:
        by_level[row["level"]].append(row)
    assert by_level["district"] and by_level["school"] and by_level["grade"]
    for parent_level, child_level, key in (("district", "school", ("district_id",)),
                                           ("school", "grade", ("district_id", "school_id"))):
        for parent in by_level[parent_level]:
            children = [c for c in by_level[child_level] if all(c[k] == parent[k] for k in key)]
            assert children, parent
            for measure in ("membership_days", "truant_days", "chronic_federal_counted", "chronic_state_absent"):
                assert parent[measure] == sum(c[measure] for c in children), (parent_level, measure)
            for measure in ("ada", "adm"):  # each row is rounded to 4 places
                assert parent[measure] == pytest.approx(sum(c[measure] for c in children), abs=1e-3 * len(children))
    names = {(r["district_id"], r["school_id"]): r["name"]
             for r in _query(state_url, "select district_id, school_id, name from state.school")}
    for row in by_level["school"]:
        assert row["school_name"] == names[(row["district_id"], row["school_id"])] and row["school_name"]
    # The federal rule's school rates are those of chronic_absenteeism_by_school.
    by_school = {(r["district_id"], r["school_id"]): r["chronic_absence_rate"]
                 for r in _view(state_url, "chronic_absenteeism_by_school", "end_year = :y", y=YEAR)}
    assert {(r["district_id"], r["school_id"]): r["chronic_federal_rate"] for r in by_level["school"]} == by_school


def test_chronic_absence_columns_apply_each_rule(cli, state_url):
    students = _query(state_url, f"select district_id, school_id, membership_days, days_absent"
                                 f" from {REPORTS}.chronic_absenteeism_by_student where end_year = :y", y=YEAR)
    expected = defaultdict(lambda: defaultdict(int))
    for s in students:
        school = expected[(s["district_id"], s["school_id"])]
        school["federal_counted"] += s["membership_days"] >= 10
        school["federal_absent"] += s["membership_days"] >= 10 and s["days_absent"] >= Decimal("0.1") * s["membership_days"]
        school["state_counted"] += s["membership_days"] >= 45
        school["state_absent"] += s["membership_days"] >= 45 and s["days_absent"] >= 10
    schools = [r for r in _report_json(cli)["attendance_summary"] if r["level"] == "school"]
    assert len(schools) == len(expected)
    for row in schools:
        wanted = expected[(row["district_id"], row["school_id"])]
        assert {k: row[f"chronic_{k}"] for k in wanted} == dict(wanted)
    # The generated districts have students whom only one of the two rules counts as chronic.
    assert any(row["chronic_federal_absent"] != row["chronic_state_absent"] for row in schools)


def test_configured_rules_are_reported_and_the_views_follow_the_configuration(cli, state_url, project_copy):
    # The existing vars still set the federal rule; the state's rules are a list.
    project_copy({
        "chronic_absence_threshold: 0.10": "chronic_absence_threshold: 0.20",
        "    - name: state\n      absent_days: 10\n      min_membership_days: 45\n":
            "    - name: strict\n      threshold: 0.05\n      min_membership_days: 20\n"
            "    - name: days15\n      absent_days: 15\n      min_membership_days: 0\n",
    })
    document = _report_json(cli)  # the views applied the old rules: the report rebuilds them
    assert [(r["rule"], r["threshold"], r["absent_days"], r["min_membership_days"])
            for r in document["chronic_absence_rules"]] == [
        ("federal", 0.2, None, 10), ("strict", 0.05, None, 20), ("days15", None, 15.0, 0)]
    assert document["chronic_absence_rules"] == _view(state_url, "chronic_absence_rules")
    students = _query(state_url, f"select membership_days, days_absent from {REPORTS}.chronic_absenteeism_by_student"
                                 " where end_year = :y and district_id = '01'", y=YEAR)
    district = next(r for r in document["attendance_summary"] if r["level"] == "district" and r["district_id"] == "01")
    assert "chronic_state_rate" not in district
    assert district["chronic_federal_absent"] == sum(
        s["membership_days"] >= 10 and s["days_absent"] >= Decimal("0.2") * s["membership_days"] for s in students)
    assert district["chronic_strict_counted"] == sum(s["membership_days"] >= 20 for s in students)
    assert district["chronic_days15_absent"] == sum(s["days_absent"] >= 15 for s in students)
    text = cli("report", *IN_YEAR, "-d", "01")
    assert "strict: absent on 5% of membership days or more, counted from 20 membership days" in text.output
    assert "days15: absent on 15 days or more, counted from 0 membership days" in text.output


@pytest.mark.parametrize("replacements, message", [
    ({"chronic_absence_threshold: 0.10": "chronic_absence_threshold: 10"},
     "chronic_absence_threshold in {path} must be a share between 0 and 1, such as 0.10."),
    ({"      absent_days: 10\n": "      absent_days: 10\n      threshold: 0.2\n"},
     "Rule 1 of chronic_absence_rules in {path} ({{'name': 'state', 'absent_days': 10, 'threshold': 0.2,"
     " 'min_membership_days': 45}}) needs either threshold (a share of membership days) or absent_days, not both."),
    ({"    - name: state\n": "    - name: federal\n"},
     "Rule 1 of chronic_absence_rules in {path} ({{'name': 'federal', 'absent_days': 10, 'min_membership_days': 45}})"
     " needs a name of lower-case letters, digits and _ that no other rule has."),
])
def test_a_bad_rule_is_one_sentence(cli, state_url, project_copy, replacements, message):
    project_copy(replacements)
    path = settings.dbt_project_dir() / "dbt_project.yml"
    assert _one_error_line(cli("report", *IN_YEAR)) == "Error: " + message.format(path=path)


@pytest.mark.parametrize("args, message", [
    (["--csv", "--html", "page.html"], "Error: Choose one of --json, --csv and --html FILE."),
    (["-d", "07"], "Error: District 07 is not registered; `resync district list` shows those that are."),
    (["--school-year", "1999"], "Error: School year 1999 is out of range: give the end year, such as"),
    (["--html", "/nonexistent-folder/report.html"], "Error: The report cannot be written to"
                                                   " /nonexistent-folder/report.html: No such file or directory."),
])
def test_bad_input_is_one_sentence(cli, state_url, args, message):
    assert _one_error_line(cli("report", *IN_YEAR, *args)).startswith(message)


def test_two_outputs_with_json_are_one_json_error(cli, state_url):
    result = cli("report", *IN_YEAR, "--json", "--csv")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"ok": False, "error": "Choose one of --json, --csv and --html FILE."}


def test_csv_holds_the_year_then_the_months_under_one_header(cli, state_url):
    result = cli("report", *IN_YEAR, "-d", "01", "--csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    document = _report_json(cli, "-d", "01")
    year, months = document["attendance_summary"], document["attendance_summary_by_month"]
    assert len(rows) == len(year) + len(months)
    assert list(rows[0]) == reports.report.COLUMNS + [
        f"chronic_{rule}_{m}" for rule in ("federal", "state") for m in ("counted", "absent", "rate")]
    first = rows[0]
    assert first["level"] == "district" and first["month_name"] == "" and first["grade"] == ""
    assert float(first["ada"]) == year[0]["ada"] and int(first["chronic_state_absent"]) == year[0]["chronic_state_absent"]
    last = rows[-1]
    assert last["month_name"] == months[-1]["month_name"] and last["chronic_federal_rate"] == ""


def test_text_shows_each_level_the_rules_and_freshness(cli, state_url):
    result = cli("report", *IN_YEAR, "-d", "01")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("Attendance report, Demo State, school year 2023-2024.")
    assert "federal: absent on 10% of membership days or more, counted from 10 membership days" in out
    assert "state: absent on 10 days or more, counted from 45 membership days" in out
    # The template was pulled when the session began: some time ago, and never by a request.
    assert re.search(r"\n  01 Abbott: fresh \(last pull (just now|\d+ min ago|\d+ h ago);"
                     r" last resync request that succeeded: never\)\n", out), out
    for heading in ("By district", "By school", "By grade", "By month"):
        assert f"\n{heading}\n" in out
    school = _query(state_url, "select name from state.school where district_id = '01' order by school_id")[0]["name"]
    assert school in out
    assert "chronic (federal)" in out and "chronic (state)" in out


def _screenshot(html: Path, folder: Path) -> Path:
    """Chromium, headless, with a new empty profile and nothing that reaches out; the PNG."""
    shot = folder / "page.png"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={folder / 'profile'}", "--hide-scrollbars", "--window-size=1200,1600",
         f"--screenshot={shot}", html.as_uri()],
        check=True, capture_output=True, timeout=120)
    return shot


def test_html_page_is_self_contained_and_renders_its_charts_in_chromium(cli, state_url, tmp_path):
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install it with apt-get install -y chromium (.ci/run does)."
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from PIL import Image

    target = tmp_path / "report.html"
    result = cli("report", *IN_YEAR, "--html", str(target))
    assert result.exit_code == 0, result.output
    assert result.output == f"Wrote the attendance report of Demo State, school year 2023-2024, to {target}.\n"
    html = target.read_text()
    # Three charts inline, and nothing the page would fetch.
    assert html.count("<svg") == 3
    assert "<script" not in html and "<link" not in html and "src=" not in html
    assert "http://" not in html.replace("http://www.w3.org/", "") and "https://" not in html
    assert "Abbott" in html and "chronic (state)" in html

    shot = _screenshot(target, tmp_path)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 1600)
    # A blank (or an error) page has a handful of colours; charts and text have hundreds.
    colours = image.getcolors(maxcolors=1 << 20)
    assert len(colours) > 200, f"{len(colours)} colours in {shot}"
    # The charts' colours are on screen: the freshness strip's green (every district was pulled).
    assert any(count > 500 and abs(r - 0x2e) < 8 and abs(g - 0x7d) < 8 and abs(b - 0x32) < 8
               for count, (r, g, b) in colours), shot


def test_the_freshness_strip_reads_a_replaceable_function(state_url):
    def never(conn, districts):
        return [freshness.DistrictFreshness(d.code, d.name, None, None, freshness.NEVER) for d in districts]

    report = reports.load(state_url, ["01"], YEAR, freshness=never)
    assert [(f.district, f.status) for f in report.freshness] == [("01", "never pulled")]
    assert "01 Abbott" in page.render(report)
    pulled = reports.load(state_url, ["01"], YEAR).freshness[0]
    assert pulled.status == freshness.FRESH and pulled.last_pull is not None


def test_a_district_is_stale_a_week_after_its_last_pull_and_never_pulled_without_one(state_url):
    with database.transaction(state_url) as conn:
        abbott = registry.resolve(conn, ["01"])
        pulled = freshness.district_freshness(conn, abbott)[0]
        week_later = freshness.district_freshness(conn, abbott, now=pulled.last_pull + timedelta(days=7))[0]
        later = freshness.district_freshness(conn, abbott, now=pulled.last_pull + timedelta(days=7, seconds=1))[0]
        conn.execute(sa.text("delete from resync.pull_log where district_id = '02'"))
        campus = freshness.district_freshness(conn, registry.resolve(conn, ["02"]))[0]
    assert (pulled.status, week_later.status, later.status) == (freshness.FRESH, freshness.FRESH, freshness.STALE)
    assert (campus.status, campus.last_pull) == (freshness.NEVER, None)
    assert freshness.age_text(None, pulled.last_pull) == "never"
    assert freshness.age_text(pulled.last_pull, pulled.last_pull + timedelta(days=10, hours=1)) == "10 days ago"


@pytest.fixture
def users(state_url, cli, monkeypatch):
    from rights_helpers import Users

    found = Users(state_url, cli, monkeypatch)
    yield found
    found.drop_all()


def test_a_district_user_reads_their_districts_report_only(cli, state_url, users):
    from rights_helpers import one_sentence

    abbott = users.add("abbott", "--right", "read", "-d", "01")
    document = json.loads(users.cli(abbott, "report", *IN_YEAR, "--json").output)
    assert [d["code"] for d in document["districts"]] == ["01"]
    # PostgreSQL filters the views' rows (security_invoker over row-level security), not the CLI.
    assert document["attendance_summary"] and {r["district_id"] for r in document["attendance_summary"]} == {"01"}
    assert users.sql(abbott, f"select distinct district_id from {REPORTS}.attendance_summary") == [("01",)]
    # Their district's pulls are theirs to read (row-level security on the pull log), no other's.
    assert [(f["district"], f["status"]) for f in document["freshness"]] == [("01", "fresh")]
    assert document["freshness"][0]["last_pull"] is not None
    assert users.sql(abbott, "select distinct district_id from resync.pull_log") == [("01",)]
    assert one_sentence(users.cli(abbott, "report", *IN_YEAR, "-d", "02")) == (
        f"Error: {abbott} may read districts 01 only, not 02.")
    # Views they cannot see are not theirs to build.
    users.sql_as_owner(f"drop view {REPORTS}.attendance_summary_by_month")
    assert one_sentence(users.cli(abbott, "report", *IN_YEAR)) == (
        "Error: The attendance report views are not built yet: an administrator's `resync report` builds them.")
    assert cli("report", *IN_YEAR, "--json").exit_code == 0  # an administrator's builds them
    assert users.cli(abbott, "report", *IN_YEAR, "--json").exit_code == 0
