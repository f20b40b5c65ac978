"""`resync verify`: districts' sites against the state, on two real servers (tests/conftest.py).

Each source table at the site is compared with the landing, each state table with its
recomputation from the landing; the three sets must hold exactly the rows changed at the site.
"""

from __future__ import annotations

import json

import pytest

from orchestrator.state_view import verify as verify_api
from generated_data import SCHOOL_YEAR
from queue_helpers import query, request_row, workers  # noqa: F401  (the workers fixture)
from test_pull import resync_now, site_execute, state_query, two_sites  # noqa: F401  (the two_sites fixture)

YEAR = str(SCHOOL_YEAR)


def verify(url, districts, objects):
    return verify_api.verify(url, districts, objects, SCHOOL_YEAR)


def district(verification, code):
    return next(d for d in verification.districts if d.district == code)


def keys(items, column):
    return sorted(item[column] for item in items)


@pytest.fixture
def excuses_changed(two_sites):
    """Both districts resynced (AttendanceExcuse with its parents); then at district 01's site one
    excuse edited, one inserted and one deleted. Yields (sites, edited id, inserted id, deleted id)."""
    url = two_sites.state_url
    assert resync_now(url, ["01", "02"], ["AttendanceExcuse"], check_dependencies=True).ok
    [(edited, deleted, inserted)] = query(two_sites.sites["01"],
        "select min(excuse_id), max(excuse_id) filter (where excuse_id not in"
        " (select excuse_id from attendance where excuse_id is not null)), max(excuse_id) + 1000"
        " from attendance_excuse")
    site_execute(two_sites, "01",
                 f"update attendance_excuse set description = 'Edited at the site' where excuse_id = {edited}",
                 f"delete from attendance_excuse where excuse_id = {deleted}",
                 f"insert into attendance_excuse (excuse_id, calendar_id, code, description, status, excuse, state_code)"
                 f" select {inserted}, calendar_id, 'ZZ', 'New at the site', status, excuse, state_code"
                 f" from attendance_excuse where excuse_id = {edited}")
    return two_sites, edited, inserted, deleted


def test_an_equal_district_reads_segment_checksums_not_rows(two_sites):
    url = two_sites.state_url
    assert resync_now(url, ["01", "02"], ["Day", "AttendanceExcuse"], check_dependencies=True).ok
    found = verify(url, ["01", "02"], ["Day", "AttendanceExcuse", "Calendar"])
    assert found.equal, found.summary()
    for checked in found.districts:
        comparisons = [*checked.tables.values(), *(o.state for o in checked.objects)]
        assert {c.name for c in checked.tables.values()} >= {"day", "attendance_excuse", "calendar"}
        assert all(c.segments > 0 and c.rows_read == 0 for c in comparisons)
        assert checked.tables["day"].rows_district > 100  # real rows, compared by checksum
    assert found.id is not None


def test_changed_inserted_and_deleted_rows_at_the_site_are_found_in_the_right_sets(excuses_changed):
    sites, edited, inserted, deleted = excuses_changed
    found = verify(sites.state_url, ["01", "02"], ["AttendanceExcuse"])
    assert not found.equal
    one = district(found, "01")
    excuses = one.tables["attendance_excuse"]
    assert keys(excuses.only_district, "excuse_id") == [inserted]
    assert keys(excuses.only_state, "excuse_id") == [deleted]
    assert excuses.different == [{"key": {"excuse_id": edited}, "columns": ["description"]}]
    assert excuses.counts == {"only_district": 1, "only_state": 1, "different": 1}
    assert one.tables["calendar"].equal
    assert one.objects[0].state.equal  # the state table still equals its recomputation from the landing
    assert one.differing_objects == ["AttendanceExcuse"]
    assert district(found, "02").equal  # the other district is untouched


def test_a_pull_without_a_rebuild_leaves_the_difference_at_the_state(excuses_changed, cli):
    sites, edited, inserted, deleted = excuses_changed
    assert cli("pull", "-d", "01", "-o", "AttendanceExcuse", "--school-year", YEAR).exit_code == 0
    found = verify(sites.state_url, ["01"], ["AttendanceExcuse"])
    one = district(found, "01")
    assert all(c.equal for c in one.tables.values())  # the landing holds the site's rows now
    state = one.objects[0].state
    assert (state.name, state.level) == ("attendance_excuse", "state")
    assert keys(state.only_district, "excuse_id") == [inserted]
    assert keys(state.only_state, "excuse_id") == [deleted]
    assert state.different == [{"key": {"excuse_id": edited}, "columns": ["description"]}]


def test_the_aggregation_is_verified_against_a_recomputation_from_the_sites_rows(two_sites, cli):
    url = two_sites.state_url
    assert resync_now(url, ["01"], ["AttDayAggregation"], check_dependencies=True).ok
    assert verify(url, ["01"], ["AttDayAggregation"]).equal
    # A student-day with absences: its attendance rows deleted at the site make it a day present.
    [(person_id, calendar_id, day)] = state_query(url,
        "select person_id, calendar_id, date from state.att_day_aggregation where district_id = '01'"
        " and absent_minutes > 0 order by person_id, date limit 1")
    deleted = [row[0] for row in query(two_sites.sites["01"],
        f"select attendance_id from attendance where person_id = {person_id} and date = '{day}' order by 1")]
    site_execute(two_sites, "01", f"delete from attendance where person_id = {person_id} and date = '{day}'")
    found = district(verify(url, ["01"], ["AttDayAggregation"]), "01")
    attendance = found.tables["attendance"]
    assert keys(attendance.only_state, "attendance_id") == deleted
    assert attendance.counts == {"only_district": 0, "only_state": len(deleted), "different": 0}
    # Only the one segment (calendar and month) that differs is read row by row.
    assert attendance.segments_differing == 1 and attendance.segments > 5
    assert 0 < attendance.rows_read < (attendance.rows_district + attendance.rows_state) / 5
    assert found.objects[0].state.equal  # the landing has not changed yet
    assert found.objects[0].state.certified  # so the first verify's recomputation still holds

    assert cli("pull", "-d", "01", "-o", "AttDayAggregation", "--school-year", YEAR).exit_code == 0
    state = district(verify(url, ["01"], ["AttDayAggregation"]), "01").objects[0].state
    assert not state.certified
    assert [d["key"] for d in state.different] == [{"person_id": person_id, "calendar_id": calendar_id, "date": day}]
    assert {"absent_minutes", "present_minutes"} <= set(state.different[0]["columns"])
    assert state.counts == {"only_district": 0, "only_state": 0, "different": 1}


def test_a_row_changed_at_the_state_is_found(two_sites):
    url = two_sites.state_url
    assert resync_now(url, ["01"], ["AttendanceExcuse"], check_dependencies=True).ok
    [(excuse_id,)] = state_query(url, "select min(excuse_id) from state.attendance_excuse where district_id = '01'")
    state_query(url, f"update state.attendance_excuse set code = 'XX' where district_id = '01' and excuse_id = {excuse_id}"
                     " returning 1")
    state = verify(url, ["01"], ["AttendanceExcuse"]).districts[0].objects[0].state
    assert state.different == [{"key": {"excuse_id": excuse_id}, "columns": ["code"]}]


def test_repair_queues_the_smallest_request_and_the_next_verify_is_equal(excuses_changed, cli, workers):
    sites, *_ = excuses_changed
    url = sites.state_url
    dry = cli("verify", "-d", "01", "-d", "02", "-o", "AttendanceExcuse", "--school-year", YEAR, "--repair",
              "--dry-run")
    assert dry.exit_code == 1, dry.output
    assert "Dry run: nothing was queued." in dry.output and "AttendanceExcuse" in dry.output
    assert query(url, "select count(*) from resync.request") == [(0,)]

    result = cli("verify", "-d", "01", "-d", "02", "-o", "AttendanceExcuse", "--school-year", YEAR, "--repair",
                 "--json")
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.output)
    assert not outcome["equal"]
    [request_id] = outcome["repair"]["queued"]
    [(selection,)] = query(url, "select selection from resync.request where id = %s", request_id)
    assert selection["districts"] == ["01"] and selection["objects"] == ["AttendanceExcuse"]
    assert selection["check_dependencies"] is False

    workers.burst()
    assert query(url, "select status from resync.request where id = %s", request_id) == [("succeeded",)]
    again = cli("verify", "-d", "01", "-d", "02", "-o", "AttendanceExcuse", "--school-year", YEAR)
    assert again.exit_code == 0, again.output
    assert "The state equals the sites of 01, 02" in again.output

    history = json.loads(cli("verify", "--history", "--json").output)
    assert [v["equal"] for v in history[:3]] == [True, False, False]
    assert history[1]["repair_requests"] == [request_id] and history[2]["repair_requests"] == []
    # The repair is the object's last resync now, by that request.
    fresh = json.loads(cli("freshness", "-d", "01", "-o", "AttendanceExcuse", "--school-year", YEAR, "--json").output)
    assert fresh[0]["last_resync"]["request_id"] == request_id and fresh[0]["verdict"] == "fresh"


def test_repair_adds_the_parents_that_read_a_changed_table(two_sites):
    from orchestrator.state_view import repair

    url = two_sites.state_url
    assert resync_now(url, ["01", "02"], ["AttendanceExcuse"], check_dependencies=True).ok
    for code in ("01", "02"):
        site_execute(two_sites, code, "update calendar set name = name || ' (renamed)'")
    found = verify(url, ["01", "02"], ["AttendanceExcuse"])
    assert district(found, "01").differing_tables == ["calendar"]
    # Calendar reads the renamed table; School and District do not.
    assert repair.repairs(found) == [repair.Repair(("01", "02"), ("Calendar", "AttendanceExcuse"), SCHOOL_YEAR)]


def test_a_district_that_cannot_be_read_is_named_and_the_others_are_verified(two_sites, cli):
    url = two_sites.state_url
    assert resync_now(url, ["01", "02"], ["AttendanceExcuse"], check_dependencies=True).ok
    site_execute(two_sites, "02", "revoke select on attendance_excuse from resync_reader")
    result = cli("verify", "-o", "AttendanceExcuse", "--school-year", YEAR)
    assert result.exit_code == 1
    assert "District 01 Abbott: equal" in result.output
    assert "District 02 Campus: not verified: District 02 (Campus)" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args, words", [
    (["--dry-run"], "--dry-run goes with --repair"),
    (["--history", "--repair"], "--history lists past verifications"),
    (["-d", "09"], "District 09 is not registered"),
    (["-o", "Calender"], "Unknown object 'Calender'"),
    (["--school-year", "1900"], "School year 1900 is out of range"),
])
def test_bad_input_is_one_sentence_and_stores_nothing(two_sites, cli, args, words):
    result = cli("verify", *args)
    assert result.exit_code == 1 and words in result.output, result.output
    assert "Traceback" not in result.output
    assert query(two_sites.state_url, "select count(*) from resync.verification") == [(0,)]


def test_the_tiers_find_what_a_row_by_row_comparison_finds(excuses_changed):
    sites, *_ = excuses_changed
    site_execute(sites, "02", "update school set name = name || ' (renamed)'")
    tiered = verify_api.verify(sites.state_url, ["01", "02"], ["School", "AttendanceExcuse"], SCHOOL_YEAR)
    plain = verify_api.verify(sites.state_url, ["01", "02"], ["School", "AttendanceExcuse"], SCHOOL_YEAR,
                              row_by_row=True)
    for fast, slow in zip(tiered.districts, plain.districts):
        assert fast.differing_tables == slow.differing_tables and fast.differing_tables
        for name, comparison in fast.tables.items():
            other = slow.tables[name]
            assert (comparison.counts, comparison.only_district, comparison.only_state, comparison.different) == (
                other.counts, other.only_district, other.only_state, other.different)
            assert (comparison.rows_district, comparison.rows_state) == (other.rows_district, other.rows_state)
            assert other.rows_read == other.rows_district + other.rows_state
            assert comparison.rows_read <= other.rows_read
    assert sum(c.rows_read for d in tiered.districts for c in d.tables.values()) < sum(
        c.rows_read for d in plain.districts for c in d.tables.values())


def test_a_state_table_found_equal_is_not_recomputed_until_something_it_depends_on_changes(two_sites, cli):
    url = two_sites.state_url
    assert resync_now(url, ["01"], ["AttendanceExcuse"], check_dependencies=True).ok

    def states(**options):
        found = verify_api.verify(url, ["01"], ["Calendar", "AttendanceExcuse"], SCHOOL_YEAR, **options)
        return {o.model: o.state for o in found.districts[0].objects}

    first = states()
    assert all(c.equal and not c.certified for c in first.values())
    second = states()
    assert all(c.equal and c.certified for c in second.values())
    assert second["attendance_excuse"].rows_state == first["attendance_excuse"].rows_state
    assert not any(c.certified for c in states(recompute=True).values())

    # A write to the state table: its checksums no longer match, so it is recomputed.
    state_query(url, "update state.attendance_excuse set code = 'XX' where district_id = '01'"
                     " and excuse_id = (select min(excuse_id) from state.attendance_excuse) returning 1")
    third = states()
    assert not third["attendance_excuse"].certified and third["attendance_excuse"].counts["different"] == 1
    assert third["calendar"].certified

    # A pull that changes what Calendar reads: recomputed, and the pulled change is found.
    site_execute(two_sites, "01", "update calendar set name = name || ' (renamed)'")
    assert cli("pull", "-d", "01", "-o", "Calendar", "--school-year", YEAR).exit_code == 0
    fourth = states()
    assert not fourth["calendar"].certified and fourth["calendar"].counts["different"] == 1


def test_a_district_never_resynced_differs_everywhere_and_its_repair_builds_what_is_missing(two_sites):
    from orchestrator.state_view import repair

    found = verify(two_sites.state_url, ["01"], ["AttendanceExcuse"])
    one = district(found, "01")
    excuses = one.tables["attendance_excuse"]
    assert excuses.rows_state == 0 and excuses.counts["only_district"] == excuses.rows_district > 0
    state = one.objects[0].state
    assert state.note == "the state has no table attendance_excuse yet" and not state.equal
    assert repair.repairs(found) == [repair.Repair(("01",), ("Calendar", "AttendanceExcuse"), SCHOOL_YEAR)]


def test_a_district_kept_in_a_schema_is_verified_the_same_way(generated_url):
    import sqlalchemy as sa
    from orchestrator import database as db

    assert resync_now(generated_url, ["03"], ["AttendanceExcuse"], check_dependencies=True).ok
    assert verify(generated_url, ["03"], ["AttendanceExcuse"]).equal
    with db.transaction(generated_url) as conn:
        edited = conn.execute(sa.text("update district_03.attendance_excuse set state_code = 'Z9' where excuse_id ="
                                      " (select min(excuse_id) from district_03.attendance_excuse) returning excuse_id"
                                      )).scalar()
    excuses = verify(generated_url, ["03"], ["AttendanceExcuse"]).districts[0].tables["attendance_excuse"]
    assert excuses.different == [{"key": {"excuse_id": edited}, "columns": ["state_code"]}]


# --- rights: PostgreSQL's, through the CLI and raw SQL -----------------------------------------

@pytest.fixture
def users(two_sites, cli, monkeypatch):
    from rights_helpers import Users

    found = Users(two_sites.state_url, cli, monkeypatch)
    yield found
    found.drop_all()


def test_a_read_user_verifies_their_districts_only_and_may_not_repair(excuses_changed, users):
    from rights_helpers import one_sentence

    sites, edited, inserted, deleted = excuses_changed
    url = sites.state_url
    assert not verify(url, ["01", "02"], ["AttendanceExcuse"]).equal  # the owner's, of both districts
    reader = users.add("reader", "--right", "read", "-d", "01")
    result = users.cli(reader, "verify", "-o", "AttendanceExcuse", "--school-year", YEAR, "--json")
    assert result.exit_code == 1, result.output  # something differs
    found = json.loads(result.output)
    assert [d["district"] for d in found["districts"]] == ["01"] and found["requested_by"] == reader
    excuses = found["districts"][0]["tables"]["attendance_excuse"]
    assert (keys(excuses["only_district"], "excuse_id"), keys(excuses["only_state"], "excuse_id")) == (
        [inserted], [deleted])
    assert found["districts"][0]["objects"][0]["state"]["equal"]  # recomputed under the reader's rights

    assert "District 02 is not registered" in one_sentence(
        users.cli(reader, "verify", "-d", "02", "-o", "AttendanceExcuse", "--school-year", YEAR))
    stored = query(url, "select count(*) from resync.verification")
    assert "has the Read right: requesting a resync needs Write" in one_sentence(
        users.cli(reader, "verify", "-o", "AttendanceExcuse", "--school-year", YEAR, "--repair"))
    assert query(url, "select count(*) from resync.verification") == stored  # refused before verifying
    assert query(url, "select count(*) from resync.request") == [(0,)]
    dry = users.cli(reader, "verify", "-o", "AttendanceExcuse", "--school-year", YEAR, "--repair", "--dry-run")
    assert dry.exit_code == 1 and "Dry run: nothing was queued." in dry.output  # a Read user may look

    # PostgreSQL itself: the landing, the history and the resync log show district 01 only.
    assert users.sql(reader, "select distinct district_id from landing.attendance_excuse") == [("01",)]
    assert {tuple(d) for (d,) in users.sql(reader, "select districts from resync.verification")} == {("01",)}
    assert users.sql(reader, "select distinct district_id from resync.object_sync") == [("01",)]
    users.refused(reader, "insert into resync.verification (requested_by, started_at, seconds, school_year,"
                          " districts, objects, equal, differences, summary, result) values (session_user, now(),"
                          " 0, 2025, '{02}', '{Calendar}', true, 0, 'forged', '[]')")
    users.refused(reader, "insert into resync.state_certificate (district_id, model, end_year, project,"
                          " landing_as_of, checksums) values ('01', 'calendar', 2025, 'x', now(), '[]')")
    users.refused(reader, "insert into resync.object_sync (district_id, object, requested_by)"
                          " values ('01', 'Calendar', 'forged')")

    fresh = json.loads(users.cli(reader, "freshness", "-o", "AttendanceExcuse", "--school-year", YEAR,
                                 "--json").output)
    assert [(f["district"], f["verdict"]) for f in fresh] == [("01", "stale")]
    assert "District 02 is not registered" in one_sentence(users.cli(reader, "freshness", "-d", "02"))


def test_a_write_user_repairs_their_district_and_the_workers_run_makes_it_equal(excuses_changed, users, workers):
    sites, *_ = excuses_changed
    url = sites.state_url
    writer = users.add("writer", "--right", "write", "-d", "01")
    queued = users.cli(writer, "verify", "-o", "AttendanceExcuse", "--school-year", YEAR, "--repair", "--json")
    assert queued.exit_code == 0, queued.output
    [request_id] = json.loads(queued.output)["repair"]["queued"]
    assert request_row(url, request_id)["requested_by"] == writer
    workers.burst()  # logged in as resync_worker, as a deployment's workers are
    assert request_row(url, request_id)["status"] == "succeeded"
    again = users.cli(writer, "verify", "-o", "AttendanceExcuse", "--school-year", YEAR)
    assert again.exit_code == 0 and "The state equals the site of 01" in again.output, again.output
    history = json.loads(users.cli(writer, "verify", "--history", "--json").output)
    assert [(v["equal"], v["repair_requests"]) for v in history] == [(True, []), (False, [request_id])]


@pytest.mark.parametrize("args, words", [
    (["-d", "0\n1"], "District code '0\\n1' is not valid"),
    (["-o", "Cal\x1bendar"], "Unknown object 'Cal\\x1bendar'"),
])
def test_control_characters_are_refused_in_one_sentence(two_sites, cli, args, words):
    from rights_helpers import one_sentence

    for command in ("verify", "freshness"):
        assert words in one_sentence(cli(command, *args))
    assert query(two_sites.state_url, "select count(*) from resync.verification") == [(0,)]


def test_a_key_that_may_be_null_matches_null_row_by_row(two_sites):
    """Behavior's key (role_id, resolution_id) is UNIQUE NULLS NOT DISTINCT: a role without a
    resolution is one row, matched with its twin, not a row only at each side."""
    url = two_sites.state_url
    assert resync_now(url, ["01"], ["Behavior"], check_dependencies=True).ok
    [(unresolved,)] = state_query(url, "select count(*) from state.behavior where district_id = '01'"
                                       " and resolution_id is null")
    assert unresolved > 0  # the generated district has such rows
    found = verify_api.verify(url, ["01"], ["Behavior"], SCHOOL_YEAR, row_by_row=True)
    state = district(found, "01").objects[0].state
    assert found.equal and state.rows_read == 2 * state.rows_state > 0, state.counts
