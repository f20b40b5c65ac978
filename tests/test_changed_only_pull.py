"""Changed-only pulls: the nightly aggregation reads from a site only what changed since the last pull.

Each pull records the site's snapshot it read (resync.pull_snapshot); a changed-only pull reads the
rows written since that snapshot's xmin, and every key to find deletes. The property: it leaves
the landing exactly as a full pull would, so a full pull right after it writes nothing.
"""

from __future__ import annotations

import psycopg
import pytest
from test_pull import STUDENTS, landing_checksums, site_execute, state_query

from orchestrator import database, demo_data, registry
from orchestrator.sites import pulls
from generated_data import AS_OF, SCHOOL_YEAR


@pytest.fixture
def one_site(site_districts):
    """District 01 on the site server with generated data, pulled once in full."""
    district = site_districts.add("01", "Abbott")
    demo_data.generate(site_districts.state_url, [district], schools=2, students=STUDENTS,
                       school_year=SCHOOL_YEAR, as_of=AS_OF)
    site_districts.district = district
    [first] = pull(site_districts, changed_only=False)
    assert first.ok, first.error
    return site_districts


def pull(sites, changed_only: bool = True):
    return pulls.pull(sites.state_url, [sites.district], pulls.tables_for_objects([]), SCHOOL_YEAR,
                      changed_only=changed_only)


def assert_as_a_full_pull_leaves_it(sites) -> int:
    """A full pull (every row compared) now finds nothing to write: the landing already equals the
    site. The rows the landing holds of the district."""
    landing = landing_checksums(sites.state_url, "01")
    [full] = pull(sites, changed_only=False)
    assert full.ok, full.error
    assert [(t.table, t.written) for t in full.tables if t.written] == []
    assert all(t.segments_read == 0 for t in full.tables)
    assert landing_checksums(sites.state_url, "01") == landing
    return sum(state_query(sites.state_url, f"select count(*) from landing.{t.table} where district_id = '01'")[0][0]
               for t in full.tables)


def test_after_a_day_of_changes_a_changed_only_pull_leaves_what_a_full_pull_leaves(one_site):
    summary = demo_data.apply_changes(one_site.state_url, [one_site.district], days=1, seed=3)["totals"]
    assert summary["backdated_updates"] and summary["attendance_deletes"] and summary["new_attendance_rows"]
    [changed] = pull(one_site)
    assert changed.ok, changed.error
    assert all(t.changed_only and t.full_because is None for t in changed.tables)
    attendance = next(t for t in changed.tables if t.table == "attendance")
    assert attendance.deleted >= summary["attendance_deletes"] and attendance.inserted and attendance.updated
    every_row = assert_as_a_full_pull_leaves_it(one_site)
    read = sum(t.rows_read for t in changed.tables)
    assert 0 < read < every_row / 10, (read, every_row)
    logged = state_query(one_site.state_url, "select bool_and(changed_only), count(full_because) from resync.pull_log"
                                             " where pulled_at = (select max(pulled_at) from resync.pull_log)")
    assert logged == [(False, 0)]  # the last pull is the full one; the changed-only one is logged too
    assert state_query(one_site.state_url, "select count(*) from resync.pull_log where changed_only")[0][0] == len(
        changed.tables)

    # Nothing changed since: nothing read, nothing written; keys are read only where the counts
    # of a range of keys differ, or the key is not an integer (district_number, text).
    [again] = pull(one_site)
    assert again.ok and again.written == 0 and sum(t.rows_read for t in again.tables) == 0
    assert {t.table: t.keys_read for t in again.tables if t.keys_read} == {"district": 1}
    # The day's deletes read the keys of the ranges they fell in, not every key.
    assert 0 < sum(t.keys_read for t in changed.tables) < every_row / 2


def test_a_change_committed_after_the_pull_read_the_site_is_read_by_the_next_pull(one_site):
    """The site's transaction writes (inside a savepoint, as a PL/pgSQL exception block would)
    before the pull takes its snapshot, and commits after the pull: the pull cannot see it, its
    recorded snapshot must not hide it from the next pull. A later transaction committed before
    the pull puts the savepoint's id below the snapshot's xmax, where the snapshot, which lists
    only top-level transactions in flight, would call it visible."""
    edited = ("select count(*) from landing.attendance where district_id = '01' and comments = 'late commit'")
    with psycopg.connect(database.libpq_url(one_site.sites["01"])) as late:
        late.execute("savepoint correction")
        late.execute("update attendance set comments = 'late commit' where attendance_id ="
                     " (select min(attendance_id) from attendance)")
        late.execute("release savepoint correction")
        site_execute(one_site, "01", "update school set name = name || ' (renamed)' where school_id = (select min(school_id) from school)")
        [during] = pull(one_site)
        assert during.ok and during.written == 1  # the school
        late.commit()
    assert state_query(one_site.state_url, edited)[0][0] == 0
    [after] = pull(one_site)
    assert after.ok and after.written == 1
    assert state_query(one_site.state_url, edited)[0][0] == 1
    assert_as_a_full_pull_leaves_it(one_site)


def test_a_row_moved_into_the_year_by_its_parent_is_read(one_site):
    """A calendar moved out of the school year and back: its rows' own versions are older than
    the last pull, only the calendar's changed; the pull reads them for their parent, one step
    up (attendance) or three (roster: section, course, calendar)."""
    site_execute(one_site, "01", "update calendar set end_year = end_year - 1"
                                 " where calendar_id = (select min(calendar_id) from calendar)")
    [out] = pull(one_site)
    moved_out = {t.table: t for t in out.tables}
    assert out.ok and moved_out["attendance"].deleted > 0
    assert moved_out["roster"].deleted > 0
    site_execute(one_site, "01", "update calendar set end_year = end_year + 1"
                                 " where calendar_id = (select min(calendar_id) from calendar)")
    [back] = pull(one_site)
    by_table = {t.table: t for t in back.tables}
    assert back.ok and by_table["attendance"].changed_only and by_table["attendance"].inserted > 0
    assert by_table["roster"].changed_only and by_table["roster"].inserted == moved_out["roster"].deleted
    assert_as_a_full_pull_leaves_it(one_site)


@pytest.mark.parametrize("tampering, because", [
    ("delete from resync.pull_snapshot where table_name = 'attendance'", "no earlier pull recorded"),
    # The site's transaction counter is behind the one recorded: a restored or replaced database.
    ("update resync.pull_snapshot set snapshot = '4000000000:4000000000:'", "restored or replaced"),
    ("update resync.pull_snapshot set columns = columns[2:]", "columns pulled changed"),
    ("update resync.pull_snapshot set source = 'schema district_01'", "source changed"),
])
def test_a_changed_only_pull_that_is_not_safe_is_a_full_pull_and_says_why(one_site, tampering, because):
    site_execute(one_site, "01", "update attendance set comments = 'edited' where attendance_id ="
                                 " (select max(attendance_id) from attendance)")
    state_query(one_site.state_url, f"{tampering} returning 1")
    [outcome] = pull(one_site)
    assert outcome.ok, outcome.error
    attendance = next(t for t in outcome.tables if t.table == "attendance")
    assert not attendance.changed_only and because in attendance.full_because
    # A full pull: every segment compared by checksum, the one that differs read row by row.
    assert attendance.keys_read == 0 and attendance.updated == 1
    assert attendance.segments_compared > 10 and attendance.segments_read == 1
    assert state_query(one_site.state_url, "select full_because from resync.pull_log where table_name = 'attendance'"
                                           " order by pulled_at desc limit 1") == [(attendance.full_because,)]
    # That full pull recorded its snapshot: the next one reads only what changed again.
    [next_pull] = pull(one_site)
    assert all(t.changed_only for t in next_pull.tables)


def test_a_failed_pull_records_no_snapshot(one_site):
    kept = "select table_name, snapshot::text from resync.pull_snapshot order by 1"
    before = state_query(one_site.state_url, kept)
    assert len(before) == len(pulls.tables_for_objects([]))
    # A change, then a NULL key in a table the pull applies after attendance: the pull fails.
    site_execute(one_site, "01", "update attendance set comments = 'before the failure' where attendance_id ="
                                 " (select min(attendance_id) from attendance)",
                 "alter table term drop constraint term_pkey cascade",
                 "alter table term alter column term_id drop not null",
                 "update term set term_id = null where term_id = (select min(term_id) from term)")
    [failed] = pull(one_site)
    assert not failed.ok and "table term" in failed.error
    assert state_query(one_site.state_url, kept) == before
    site_execute(one_site, "01", "update term set term_id = -1 where term_id is null")
    [repaired] = pull(one_site)
    assert repaired.ok, repaired.error
    assert state_query(one_site.state_url, "select count(*) from landing.attendance where district_id = '01'"
                                           " and comments = 'before the failure'")[0][0] == 1
    assert_as_a_full_pull_leaves_it(one_site)


def test_removing_a_district_forgets_its_snapshots(one_site):
    with database.transaction(one_site.state_url) as conn:
        registry.remove(conn, "01")
    assert state_query(one_site.state_url, "select count(*) from resync.pull_snapshot")[0][0] == 0


def test_pull_cli_reads_only_what_changed_when_asked(one_site, cli):
    site_execute(one_site, "01", "update attendance_excuse set description = 'edited'"
                                 " where excuse_id = (select min(excuse_id) from attendance_excuse)")
    result = cli("pull", "-d", "01", "-o", "AttendanceExcuse", "--school-year", str(SCHOOL_YEAR), "--changed-only",
                 "--json")
    assert result.exit_code == 0, result.output
    import json

    [district] = json.loads(result.stdout)["districts"]
    excuse = next(t for t in district["tables"] if t["table"] == "attendance_excuse")
    assert excuse["changed_only"] and excuse["rows_read"] == 1 and excuse["updated"] == 1


def test_a_duplicate_of_an_unchanged_row_fails_a_changed_only_pull_as_it_fails_a_full_one(one_site):
    """The copy is new, the row it copies is older than the last pull: the keys of their range,
    counted at the site one more than in the landing, are read and show the duplicate."""
    landing = landing_checksums(one_site.state_url, "01")
    site_execute(one_site, "01", "alter table attendance_excuse drop constraint attendance_excuse_pkey cascade",
                 "alter table attendance_excuse drop constraint if exists attendance_excuse_calendar_id_code_key",
                 "insert into attendance_excuse select * from attendance_excuse"
                 " where excuse_id = (select min(excuse_id) from attendance_excuse)")
    [outcome] = pull(one_site)
    assert not outcome.ok and "more than one row with excuse_id" in outcome.error, outcome.error
    assert landing_checksums(one_site.state_url, "01") == landing


def test_a_view_at_the_site_is_pulled_in_full(one_site):
    """A view's rows carry no xmin of their own: nothing says which changed."""
    site_execute(one_site, "01", "alter table attendance_excuse rename to excuse_table",
                 "create view attendance_excuse as select * from excuse_table",
                 "grant select on attendance_excuse to resync_reader",
                 "update excuse_table set description = 'edited' where excuse_id = (select min(excuse_id) from excuse_table)")
    [outcome] = pull(one_site)
    assert outcome.ok, outcome.error
    excuse = next(t for t in outcome.tables if t.table == "attendance_excuse")
    assert not excuse.changed_only and "view" in excuse.full_because and excuse.updated == 1
    assert all(t.changed_only for t in outcome.tables if t.table != "attendance_excuse")


def _kept_counts(sites) -> dict[str, dict[int, int] | None]:
    """Each table's kept counts of SCHOOL_YEAR (or of the whole table, if not year-scoped)."""
    rows = state_query(sites.state_url, "select table_name, key_ranges, key_counts from resync.pull_snapshot"
                                        f" where district_id = '01' and coalesce(end_year, {SCHOOL_YEAR}) = {SCHOOL_YEAR}")
    return {table: dict(zip(ranges, counts)) if ranges is not None else None for table, ranges, counts in rows}


def _landing_counts(sites, table: str, key: str) -> dict[int, int]:
    return dict(state_query(sites.state_url, f"select {key} >> 6, count(*) from landing.{table}"
                                             f" where district_id = '01' and end_year = {SCHOOL_YEAR} group by 1"))


def _attendance(outcome):
    assert outcome.ok, outcome.error
    return next(t for t in outcome.tables if t.table == "attendance")


def test_the_landings_key_counts_are_kept_for_the_next_changed_only_pull(one_site):
    """A changed-only pull keeps the landing's keys per range (the district's, which the landing
    then holds) with its snapshot; the next one adds the keys its changed rows bring into the
    year instead of counting the landing, and still finds every delete. A pull of another school
    year (which may move rows out of this one), or a full pull, leaves this year's counts unknown."""
    assert set(_kept_counts(one_site).values()) == {None}  # after the first, full, pull
    demo_data.apply_changes(one_site.state_url, [one_site.district], days=1, seed=3)
    assert _attendance(pull(one_site)[0]).landing_counted is True
    kept = _kept_counts(one_site)
    assert kept["attendance"] == _landing_counts(one_site, "attendance", "attendance_id")
    assert kept["roster"] == _landing_counts(one_site, "roster", "roster_id")

    # A calendar moved to the year before: that year's pull moves its rows there in the landing.
    calendar = "(select min(calendar_id) from calendar)"
    site_execute(one_site, "01", f"update calendar set end_year = end_year - 1 where calendar_id = {calendar}")
    [before] = pulls.pull(one_site.state_url, [one_site.district], pulls.tables_for_objects([]), SCHOOL_YEAR - 1,
                          changed_only=True)
    assert _attendance(before).updated > 0 and _kept_counts(one_site)["attendance"] is None
    assert _attendance(pull(one_site)[0]).landing_counted is True

    # Back into the year, with a delete: the rows come in by update, counted as they enter.
    site_execute(one_site, "01", f"update calendar set end_year = end_year + 1 where calendar_id = {calendar}",
                 "delete from attendance where attendance_id = (select min(attendance_id) from attendance)")
    attendance = _attendance(pull(one_site)[0])
    assert attendance.landing_counted is False
    assert attendance.updated > 0 and attendance.inserted == 0 and attendance.deleted == 1
    assert 0 < attendance.keys_read <= 2 ** 6  # only the deleted key's range counts differently
    assert _kept_counts(one_site)["attendance"] == _landing_counts(one_site, "attendance", "attendance_id")
    assert_as_a_full_pull_leaves_it(one_site)
    assert set(_kept_counts(one_site).values()) == {None}  # the full pull's
    assert _attendance(pull(one_site)[0]).landing_counted is True
