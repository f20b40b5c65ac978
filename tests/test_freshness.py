"""`resync freshness`: how stale the state's copy of each district is, on two real servers.

The districts' sites keep modified_date (tests/conftest.py's site databases are District Edition
tables), so a change at a site is visible to freshness before anything is pulled.
"""

from __future__ import annotations

import datetime
import json

import pytest

from orchestrator import dbt_invoker, state_config
from orchestrator.state_view import freshness as freshness_api
from generated_data import SCHOOL_YEAR
from test_pull import resync_now, site_execute, state_query, two_sites  # noqa: F401  (the two_sites fixture)

YEAR = str(SCHOOL_YEAR)
EXCUSE_OBJECTS = ["District", "School", "Calendar", "AttendanceExcuse"]


def verdicts(url, **options) -> dict[tuple[str, str], freshness_api.ObjectFreshness]:
    found = freshness_api.freshness(url, [], EXCUSE_OBJECTS, SCHOOL_YEAR, **options)
    return {(f.district, f.object): f for f in found}


@pytest.fixture
def resynced(two_sites):
    """Districts 01 and 02, AttendanceExcuse resynced with its parents (District, School, Calendar)."""
    assert resync_now(two_sites.state_url, ["01", "02"], ["AttendanceExcuse"], check_dependencies=True).ok
    return two_sites


def test_a_change_at_a_site_makes_that_object_stale_for_that_district_only(resynced):
    url = resynced.state_url
    before = verdicts(url)
    assert {f.verdict for f in before.values()} == {"fresh"}, [f.reasons for f in before.values()]
    excuse = before[("01", "AttendanceExcuse")]
    assert excuse.last_resync.by == "command line" and excuse.site_change is None and excuse.site_change_known
    assert excuse.last_pull <= excuse.last_resync.synced_at

    site_execute(resynced, "01", "update attendance_excuse set description = 'Edited at the site'"
                                 " where excuse_id = (select min(excuse_id) from attendance_excuse)")
    after = verdicts(url)
    stale = {key for key, f in after.items() if f.verdict == "stale"}
    assert stale == {("01", "AttendanceExcuse")}
    changed = after[("01", "AttendanceExcuse")]
    assert changed.site_change > changed.last_pull
    assert "changed at the site" in changed.reasons[0] and "(attendance_excuse)" in changed.reasons[0]

    assert resync_now(url, ["01"], ["AttendanceExcuse"]).ok
    assert verdicts(url)[("01", "AttendanceExcuse")].verdict == "fresh"


def test_a_deletion_at_a_site_is_a_change_too(resynced):
    site_execute(resynced, "02", "delete from attendance_excuse where excuse_id = (select max(excuse_id)"
                                 " from attendance_excuse where excuse_id not in"
                                 " (select excuse_id from attendance where excuse_id is not null))")
    stale = {key for key, f in verdicts(resynced.state_url).items() if f.verdict == "stale"}
    assert stale == {("02", "AttendanceExcuse")}


def test_a_pull_without_a_rebuild_leaves_the_object_stale(resynced, cli):
    site_execute(resynced, "01", "update calendar set name = name || ' (renamed)'")
    assert cli("pull", "-d", "01", "-o", "Calendar", "--school-year", YEAR).exit_code == 0
    found = verdicts(resynced.state_url)
    # Every object reads the calendar table (for its school year); the pull changed it after their
    # last resync, and none of them is rebuilt from it yet.
    assert {key for key, f in found.items() if f.verdict == "stale"} == {
        ("01", "Calendar"), ("01", "AttendanceExcuse")}
    assert "pulled with changes after the last resync (calendar)" in found[("01", "Calendar")].reasons[0]
    assert found[("01", "Calendar")].site_change is None  # the landing has seen the change


def test_the_cadence_comes_from_the_project_vars_and_dbt_warns_after_the_same(resynced, monkeypatch):
    url = resynced.state_url
    in_eight_days = state_query(url, "select now() + interval '8 days'")[0][0]
    late = verdicts(url, now=in_eight_days)
    assert {f.verdict for f in late.values()} == {"stale"}
    assert "longer than the 7-day sync cadence" in late[("02", "School")].reasons[0]
    configured = state_config.project_vars()
    with monkeypatch.context() as patched:
        patched.setattr(state_config, "project_vars", lambda: {**configured, "sync_cadence_days": 10})
        assert {f.verdict for f in verdicts(url, now=in_eight_days).values()} == {"fresh"}

    # The last pulls eight days back: dbt's source freshness warns, with the same cadence.
    state_query(url, "update resync.pull_log set pulled_at = pulled_at - interval '8 days' returning 1")
    warned = _source_freshness(url)
    assert warned["attendance_excuse"] == "warn" and warned["calendar"] == "warn"
    state_query(url, "update resync.pull_log set pulled_at = pulled_at + interval '2 days' returning 1")
    assert _source_freshness(url)["attendance_excuse"] == "success"


def _source_freshness(url) -> dict[str, str]:
    invocation = dbt_invoker.invoke(["source", "freshness", "--select", "source:landing.attendance_excuse",
                                     "source:landing.calendar"], url=url)
    return {n.model: n.status for n in invocation.nodes}


def test_the_cadence_in_dbt_is_the_project_var():
    from dbt_helpers import parsed_manifest

    sources = [s for s in parsed_manifest()["sources"].values() if s["source_name"] == "landing"]
    cadence = state_config.sync_cadence_days()
    assert {s["freshness"]["warn_after"]["count"] for s in sources if s["freshness"]} == {cadence}


def test_a_site_without_modified_date_has_an_unknown_latest_change(resynced, cli):
    site_execute(resynced, "01", "drop trigger attendance_excuse_modified_date on attendance_excuse",
                 "alter table attendance_excuse drop column modified_date")
    found = verdicts(resynced.state_url)
    excuse = found[("01", "AttendanceExcuse")]
    assert not excuse.site_change_known and excuse.verdict == "fresh"
    assert found[("01", "Calendar")].site_change_known and found[("02", "AttendanceExcuse")].site_change_known
    listed = json.loads(cli("freshness", "-d", "01", "-o", "AttendanceExcuse", "--school-year", YEAR, "--json").output)
    assert listed[0]["site_change"] == "unknown"


def test_freshness_cli_shows_each_object_with_its_verdict_and_why(resynced, cli):
    site_execute(resynced, "02", "update school set name = name || ' (renamed)'")
    result = cli("freshness", "-d", "02", "-o", "School", "-o", "Calendar", "--school-year", YEAR)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["district", "object", "last", "resync", "by", "requester", "last", "pull",
                                "site", "change", "verdict"]
    assert lines[1].startswith("02        School") and lines[1].endswith("stale")
    assert lines[2].startswith("02        Calendar") and lines[2].endswith("fresh")
    assert "02 School: stale: changed at the site at" in result.output
    never = cli("freshness", "-d", "02", "-o", "Day", "--school-year", YEAR)
    assert "02 Day: stale: never resynced" in never.output


@pytest.mark.parametrize("args, words", [
    (["-d", "09"], "District 09 is not registered"),
    (["-o", "Calender"], "Unknown object 'Calender'"),
])
def test_bad_input_is_one_sentence(two_sites, cli, args, words):
    result = cli("freshness", *args)
    assert result.exit_code == 1 and words in result.output and "Traceback" not in result.output


def test_a_resync_by_hand_and_an_aggregation_are_recorded_with_their_requester(resynced):
    from orchestrator import aggregation
    from generated_data import AS_OF

    url = resynced.state_url
    assert aggregation.aggregate(["02"], school_year=SCHOOL_YEAR, through=AS_OF, url=url).ok
    [found] = freshness_api.freshness(url, ["02"], ["AttDayAggregation"], SCHOOL_YEAR)
    assert found.last_resync is not None and found.last_resync.request_id is None
    assert found.last_resync.requested_by and found.last_resync.synced_at > datetime.datetime(2000, 1, 1,
                                                                                             tzinfo=datetime.timezone.utc)
