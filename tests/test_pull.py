"""District sites and pulls, on two real servers: the state's and the districts' (tests/conftest.py).

A district's data lives in its own database on the site server, read with the read-only role
resync_reader; every resync pulls what its objects read into the landing, then rebuilds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest
import sqlalchemy as sa
from dbt_helpers import checksums

from orchestrator import database, dbt_invoker, demo_data, registry, resync, settings
from orchestrator.sites import landing_tables, pulls
from orchestrator.sites.reader import SourceReader
from generated_data import AS_OF, SCHOOL_YEAR

STUDENTS = 40
#: The state tables a resync of AttendanceExcuse with dependencies builds.
EXCUSE_MODELS = ["district", "school", "calendar", "attendance_excuse"]


def site_execute(sites, code: str, *statements: str) -> None:
    """Change district `code`'s data at its site, as the district's own application would."""
    with psycopg.connect(database.libpq_url(sites.sites[code]), autocommit=False) as conn:
        for statement in statements:
            conn.execute(statement)


def state_query(url: str, statement: str, **params):
    with database.transaction(url) as conn:
        return conn.execute(sa.text(statement), params).all()


def landing_checksums(url: str, code: str) -> dict[str, str]:
    """One md5 per landing table of a district, over every row and column (modified_date too)."""
    with database.transaction(url) as conn:
        tables = conn.execute(sa.text(
            "select c.relname from pg_class c where c.relnamespace = 'landing'::regnamespace"
            " and c.relkind = 'p' order by 1")).scalars().all()
        return {t: conn.execute(sa.text(
            f'select md5(coalesce(string_agg(x::text, \'|\' order by x::text), \'\')) from landing."{t}" x'
            " where district_id = :c"), {"c": code}).scalar() for t in tables}


def resync_now(url: str, codes: list[str], objects: list[str], check_dependencies: bool = False):
    with database.transaction(url) as conn:
        plan = resync.build_plan(conn, codes, objects, check_dependencies, SCHOOL_YEAR)
    return resync.execute(plan, url)


@pytest.fixture
def two_sites(site_districts):
    """Districts 01 and 02 on the site server with generated data; nothing pulled yet."""
    districts = [site_districts.add("01", "Abbott"), site_districts.add("02", "Campus")]
    demo_data.generate(site_districts.state_url, districts, schools=1, students=STUDENTS,
                       school_year=SCHOOL_YEAR, as_of=AS_OF)
    return site_districts


def test_a_site_district_is_registered_without_its_password(site_districts, cli):
    site_districts.add("01", "Abbott")  # the site and its reader exist now
    with database.transaction(site_districts.state_url) as conn:
        url = registry.get(conn, "01").site_url
    with_password = url.replace("resync_reader@", "resync_reader:s3cret@") + "&sslmode=disable"
    result = cli("district", "add", "05", "--name", "Dune", "--url", with_password)
    assert result.exit_code == 0, result.output
    listed = cli("district", "list", "--json")
    stored = {d["code"]: d for d in __import__("json").loads(listed.stdout)}["05"]
    assert "s3cret" not in listed.stdout and "s3cret" not in result.output
    assert stored["site_url"].startswith("postgresql://resync_reader@") and "sslmode=disable" in stored["site_url"]
    assert stored["schema_name"] is None


def test_bad_site_urls_are_one_sentence_and_register_nothing(site_districts, cli):
    site_districts.add("01", "Abbott")
    for url, words in [("mysql://x@y/z", "starts with postgresql://"),
                       ("postgresql://resync_reader@/nowhere?host=/nonexistent", "cannot be reached"),
                       ("postgresql://u@h/d?nonsense=1", "not valid"),
                       ("postgresql://u@h/d\n", "control characters")]:
        result = cli("district", "add", "07", "--name", "Bad", "--url", url)
        assert result.exit_code == 1 and words in result.output, result.output
        assert "Traceback" not in result.output
    assert [d.code for d in _registered(site_districts.state_url)] == ["01"]


def _registered(url: str):
    with database.transaction(url) as conn:
        return registry.list_all(conn)


def test_a_change_at_the_site_reaches_the_state_after_the_resync_and_not_before(two_sites):
    url = two_sites.state_url
    assert resync_now(url, ["01", "02"], ["AttendanceExcuse"], check_dependencies=True).ok
    before = {code: checksums(url, code, EXCUSE_MODELS) for code in ("01", "02")}
    site_execute(two_sites, "01",
                 "update attendance_excuse set description = 'Edited at the site' where excuse_id ="
                 " (select min(excuse_id) from attendance_excuse)",
                 "delete from attendance_excuse where excuse_id = (select max(excuse_id) from attendance_excuse"
                 " where excuse_id not in (select excuse_id from attendance where excuse_id is not null))")
    edited = "select count(*) from state.attendance_excuse where district_id = '01' and description = 'Edited at the site'"
    assert state_query(url, edited)[0][0] == 0  # not before the resync
    excuses_before = before["01"]["attendance_excuse"][0]

    result = resync_now(url, ["01"], ["AttendanceExcuse"])
    assert result.ok, result.error
    assert state_query(url, edited)[0][0] == 1
    assert checksums(url, "01", EXCUSE_MODELS)["attendance_excuse"][0] == excuses_before - 1  # the delete is gone
    assert checksums(url, "02", EXCUSE_MODELS) == before["02"]  # the other district is untouched
    [outcome] = result.pulls
    assert outcome.district == "01" and outcome.written == 2
    assert {t.table for t in outcome.tables} == set(result.plan.pull_tables)


def test_the_plan_pulls_exactly_the_tables_its_objects_read(two_sites):
    with database.transaction(two_sites.state_url) as conn:
        excuse = resync.build_plan(conn, ["01"], ["AttendanceExcuse"], False, SCHOOL_YEAR)
        aggregation = resync.build_plan(conn, ["01"], ["AttDayAggregation"], True, SCHOOL_YEAR)
    assert excuse.pull_tables == ("attendance_excuse", "calendar")
    assert {"attendance", "roster", "day", "period", "enrollment", "person", "identity"} <= set(aggregation.pull_tables)
    assert "behavior_event" not in aggregation.pull_tables and "delete_log" not in aggregation.pull_tables
    assert "attendance_excuse" in excuse.describe()
    assert excuse.as_dict()["pull"] == {"01": ["attendance_excuse", "calendar"]}


def test_a_pull_with_no_change_at_the_site_writes_nothing(two_sites):
    url = two_sites.state_url
    with database.transaction(url) as conn:
        districts = registry.resolve(conn, ["01"])
    tables = pulls.tables_for_objects([])
    [first] = pulls.pull(url, districts, tables, SCHOOL_YEAR)
    assert first.ok and first.written > 0
    locations = state_query(url, "select count(*), md5(string_agg(ctid::text || xmin::text, ',' order by ctid))"
                                 " from landing.attendance where district_id = '01'")
    [again] = pulls.pull(url, districts, tables, SCHOOL_YEAR)
    assert again.ok and again.written == 0
    # Every row compared, by a checksum per segment at each end: none had to cross.
    assert sum(t.rows_read for t in again.tables) == 0
    assert all(t.segments_read == 0 for t in again.tables)
    assert sum(t.segments_compared for t in again.tables) > len(again.tables)
    assert state_query(url, "select count(*), md5(string_agg(ctid::text || xmin::text, ',' order by ctid))"
                            " from landing.attendance where district_id = '01'") == locations
    assert state_query(url, "select count(*) from landing.delete_log")[0][0] == 0


def test_a_pull_gives_the_partitioned_landing_tables_statistics_of_their_own(two_sites):
    """The models read the parents; PostgreSQL plans their joins from the parents' statistics,
    which autovacuum never gathers (without them the aggregation's estimates explode)."""
    url = two_sites.state_url
    inherited = ("select count(*) from pg_stats where schemaname = 'landing' and tablename = 'attendance'"
                 " and inherited and attname = 'person_id'")
    assert state_query(url, inherited)[0][0] == 0
    with database.transaction(url) as conn:
        districts = registry.resolve(conn, ["01", "02"])
    outcomes = pulls.pull(url, districts, pulls.tables_for_objects([]), SCHOOL_YEAR)
    assert all(o.ok for o in outcomes)
    assert state_query(url, inherited)[0][0] == 1


def test_the_landing_keeps_the_states_clock_and_logs_deletes_and_moves(two_sites):
    url = two_sites.state_url
    assert resync_now(url, ["01"], ["AttendanceExcuse"]).ok
    with database.transaction(url) as conn:
        districts = registry.resolve(conn, ["01"])
    pulls.pull(url, districts, ["attendance"], SCHOOL_YEAR)
    # The site's clock is far off; the landing must not care.
    site_execute(two_sites, "01",
                 "alter table attendance disable trigger user",
                 "update attendance set modified_date = '1999-01-01', status = 'T'"
                 " where attendance_id = (select min(attendance_id) from attendance)",
                 "update attendance set date = date - 1 where attendance_id = (select max(attendance_id) from attendance)",
                 "delete from attendance where attendance_id = (select min(attendance_id) + 1 from attendance)",
                 "alter table attendance enable trigger user")
    started = state_query(url, "select now()")[0][0]
    [outcome] = pulls.pull(url, districts, ["attendance"], SCHOOL_YEAR)
    assert outcome.ok and (outcome.tables[0].updated, outcome.tables[0].deleted) == (2, 1)
    stamped = state_query(url, "select count(*) from landing.attendance where district_id = '01' and modified_date >= :t",
                          t=started)[0][0]
    assert stamped == 2
    logged = state_query(url, "select table_name, count(*) from landing.delete_log group by 1")
    assert logged == [("attendance", 2)]  # the deleted row, and the moved row's old version


def test_a_site_without_a_column_fails_cleanly_and_changes_nothing(two_sites, cli):
    url = two_sites.state_url
    assert resync_now(url, ["01", "02"], ["AttendanceExcuse"], check_dependencies=True).ok
    landing, state = landing_checksums(url, "02"), checksums(url, "02", EXCUSE_MODELS)
    site_execute(two_sites, "02", "alter table attendance_excuse rename column state_code to state_cd",
                 "update attendance_excuse set description = 'changed'")
    site_execute(two_sites, "01", "update attendance_excuse set description = 'changed too'")
    result = cli("run", "-d", "01", "-d", "02", "-o", "AttendanceExcuse", "--school-year", str(SCHOOL_YEAR), "--yes")
    assert result.exit_code == 1
    assert "District 02 (Campus): table attendance_excuse in its site lacks the column state_code" in result.output
    assert "Traceback" not in result.output
    assert landing_checksums(url, "02") == landing and checksums(url, "02", EXCUSE_MODELS) == state
    # District 01 still finished.
    assert state_query(url, "select count(*) from state.attendance_excuse where district_id = '01'"
                            " and description = 'changed too'")[0][0] > 0
    assert state_query(url, "select count(*) from state.attendance_excuse where district_id = '02'"
                            " and description = 'changed'")[0][0] == 0


@pytest.mark.parametrize("breakage, words", [
    ("update attendance_excuse set excuse_id = null where excuse_id = (select min(excuse_id) from attendance_excuse)",
     "without a excuse_id (a NULL key)"),
    ("insert into attendance_excuse select * from attendance_excuse where excuse_id = (select min(excuse_id) from attendance_excuse)",
     "more than one row with excuse_id"),
    ("drop table attendance_excuse cascade", "has no table attendance_excuse"),
    ("revoke select on attendance_excuse from resync_reader", "permission denied"),
])
def test_a_broken_district_is_one_sentence_and_leaves_the_landing_as_it_was(two_sites, breakage, words):
    url = two_sites.state_url
    assert resync_now(url, ["01"], ["AttendanceExcuse"], check_dependencies=True).ok
    landing = landing_checksums(url, "01")
    # The site has no key constraints of its own here: a district's database may have none.
    site_execute(two_sites, "01", "alter table attendance_excuse drop constraint attendance_excuse_pkey cascade",
                 "alter table attendance_excuse drop constraint if exists attendance_excuse_calendar_id_code_key",
                 "alter table attendance_excuse alter column excuse_id drop not null", breakage)
    result = resync_now(url, ["01"], ["AttendanceExcuse"])
    assert not result.ok
    assert result.error.startswith("District 01 (Abbott)") and words in result.error, result.error
    assert "\n" not in result.error
    assert landing_checksums(url, "01") == landing


def test_a_pull_killed_mid_way_changes_nothing(two_sites, tmp_path):
    url = two_sites.state_url
    with database.transaction(url) as conn:
        districts = registry.resolve(conn, ["01"])
    pulls.pull(url, districts, pulls.tables_for_objects([]), SCHOOL_YEAR)
    site_execute(two_sites, "01", "update school set name = name || ' (renamed)'",
                 "update attendance set status = 'T' where status = 'A'", "update term set name = name || ' (renamed)'")
    landing = landing_checksums(url, "01")
    snapshots = state_query(url, "select table_name, snapshot::text from resync.pull_snapshot order by 1")
    code = (f"from orchestrator import database, registry; from orchestrator.sites import pulls\n"
            f"with database.transaction({url!r}) as c: d = registry.resolve(c, ['01'])\n"
            f"pulls.pull({url!r}, d, pulls.tables_for_objects([]), {SCHOOL_YEAR})\n")
    with database.engine(url).connect() as blocker:
        # Holding the last table the pull writes keeps it in flight after it applied the others.
        blocker.execute(sa.text('lock table landing."term__01" in share mode'))
        puller = subprocess.Popen([sys.executable, "-c", code], cwd=settings.project_dir(),
                                  env=dict(os.environ, DBT_TARGET_PATH=str(tmp_path / "t"), DBT_LOG_PATH=str(tmp_path / "l")))
        deadline = time.monotonic() + 60
        waiting = 0
        while time.monotonic() < deadline and puller.poll() is None:
            blocker.execute(sa.text("select pg_stat_clear_snapshot()"))
            waiting = blocker.execute(sa.text(
                "select count(*) from pg_stat_activity where datname = current_database()"
                " and wait_event_type = 'Lock' and application_name <> 'state_resync_pull'")).scalar()
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the pull never reached the blocked table"
        puller.send_signal(signal.SIGKILL)
        puller.wait(timeout=30)
        blocker.rollback()
    assert landing_checksums(url, "01") == landing
    # Nor the site's snapshot it read: the next pull, even a changed-only one, reads the changes.
    assert state_query(url, "select table_name, snapshot::text from resync.pull_snapshot order by 1") == snapshots
    [outcome] = pulls.pull(url, districts, pulls.tables_for_objects([]), SCHOOL_YEAR, changed_only=True)
    assert outcome.ok and outcome.written > 0  # the next pull does the work
    assert all(t.changed_only for t in outcome.tables)


def test_a_schema_source_that_is_a_view_is_refused(generated_url, cli):
    with database.transaction(generated_url) as conn:
        conn.execute(sa.text("alter table district_03.attendance_excuse rename to attendance_excuse_table"))
        # A view whose code would delete state rows if it ran with the state's rights.
        conn.execute(sa.text(
            "create function district_03.sneaky() returns bigint language sql as"
            " $$ delete from resync.district where code = '01' returning 1 $$"))
        conn.execute(sa.text(
            "create view district_03.attendance_excuse as select *, district_03.sneaky() as x"
            " from district_03.attendance_excuse_table"))
    result = cli("run", "-d", "03", "-o", "AttendanceExcuse", "--school-year", str(SCHOOL_YEAR), "--yes")
    assert result.exit_code == 1
    assert "attendance_excuse in schema district_03 is not a table" in result.output
    assert [d.code for d in _registered(generated_url)] == ["01", "02", "03"]


def test_pull_cli_reports_per_district_and_a_dry_run_shows_the_pull(two_sites, cli):
    result = cli("pull", "-d", "01", "-o", "AttendanceExcuse", "--school-year", str(SCHOOL_YEAR))
    assert result.exit_code == 0, result.output
    assert "attendance_excuse" in result.output and "01 Abbott" in result.output
    dry = cli("run", "-d", "01", "-o", "Day", "--school-year", str(SCHOOL_YEAR), "--dry-run")
    assert dry.exit_code == 0
    assert "resync pull -d 01 -o Day --school-year" in dry.output and "day" in dry.output


def test_incremental_aggregation_equals_a_refresh_after_days_of_changes_at_the_site(two_sites, tmp_path):
    from orchestrator import aggregation
    from test_incremental_aggregation import refresh_rows, state_rows

    url = two_sites.state_url
    with database.transaction(url) as conn:
        districts = registry.resolve(conn, [])
    first = aggregation.aggregate(school_year=SCHOOL_YEAR, through=AS_OF, url=url)
    assert first.ok, first.error
    for day in range(3):
        demo_data.apply_changes(url, districts, days=1, seed=day)
        # A change committed at the site while the aggregation's pull runs: the pull reads a
        # snapshot without it; the next run must still see it.
        with psycopg.connect(database.libpq_url(two_sites.sites["01"])) as late:
            late.execute("update attendance set status = 'A', excuse = 'U' where attendance_id ="
                         " (select min(attendance_id) + %s from attendance)", (day,))
            result = aggregation.aggregate(school_year=SCHOOL_YEAR, through=AS_OF, url=url)
            late.commit()
        assert result.ok, result.error
        assert [d.mode for d in result.districts] == ["incremental", "incremental"]
    result = aggregation.aggregate(school_year=SCHOOL_YEAR, through=AS_OF, url=url)
    assert result.ok
    assert state_rows(url, SCHOOL_YEAR) == refresh_rows(url, SCHOOL_YEAR, AS_OF.isoformat())


def test_pulls_of_one_district_wait_for_each_other_and_other_districts_do_not(two_sites):
    import threading

    url = two_sites.state_url
    with database.transaction(url) as conn:
        one, two = registry.resolve(conn, ["01", "02"])
    tables = pulls.tables_for_objects(["AttendanceExcuse"])
    done: dict[str, object] = {}

    def pull(district):
        done[district.code] = pulls.pull(url, [district], tables, SCHOOL_YEAR)[0]

    with database.engine(url).connect() as holder:
        # A pull of district 01 in flight: it holds the district's pull lock until it commits.
        holder.execute(sa.text("select pg_advisory_xact_lock(hashtext('resync_pull'), hashtext('01'))"))
        first, second = threading.Thread(target=pull, args=(one,)), threading.Thread(target=pull, args=(two,))
        first.start(), second.start()
        second.join(timeout=60)
        assert done["02"].ok  # another district does not wait
        first.join(timeout=2)
        assert "01" not in done  # the same district does
        holder.rollback()
    first.join(timeout=60)
    assert done["01"].ok


def test_dbt_source_freshness_reports_each_landing_table_by_its_last_pull(two_sites):
    from orchestrator import dbt_invoker

    url = two_sites.state_url
    never = dbt_invoker.invoke(["source", "freshness"], url=url)
    assert len(never.nodes) == 27  # every landing table but the delete log
    assert {n.status for n in never.nodes} == {"warn"}  # nothing pulled yet
    with database.transaction(url) as conn:
        districts = registry.resolve(conn, [])
    pulls.pull(url, districts, ["attendance_excuse"], SCHOOL_YEAR)
    after = {n.unique_id.rsplit(".", 1)[-1]: n.status for n in dbt_invoker.invoke(["source", "freshness"], url=url).nodes}
    assert after["attendance_excuse"] == "success" and after["attendance"] == "warn"


def _attendance_pulled(sites) -> list:
    """District 01 of `sites`, its attendance pulled once."""
    with database.transaction(sites.state_url) as conn:
        districts = registry.resolve(conn, ["01"])
    pulls.pull(sites.state_url, districts, ["attendance"], SCHOOL_YEAR)
    return districts


def _attendance(url: str, code: str) -> list[tuple]:
    return state_query(url, "select attendance_id, date, status, comments from landing.attendance"
                            " where district_id = :c order by attendance_id", c=code)


def test_a_full_pull_compares_every_row_and_reads_only_the_segments_that_differ(two_sites):
    url = two_sites.state_url
    districts = _attendance_pulled(two_sites)
    at_site = _attendance(url, "01")
    # Written at the state by other means (no site change, so nothing a changed-only pull reads).
    state_query(url, "update landing.attendance set comments = 'tampered' where district_id = '01'"
                     " and attendance_id = (select min(attendance_id) from landing.attendance) returning 1")
    [outcome] = pulls.pull(url, districts, ["attendance"], SCHOOL_YEAR)
    assert outcome.ok, outcome.error
    [attendance] = outcome.tables
    assert (attendance.updated, attendance.inserted, attendance.deleted) == (1, 0, 0)
    # The one month of the calendar that differs was read row by row; the others were compared
    # by their count and checksum.
    assert attendance.segments_compared > 3 and attendance.segments_read == 1
    assert 0 < attendance.rows_read < len(at_site) / 3
    assert _attendance(url, "01") == at_site


def test_a_key_held_twice_at_the_site_is_refused_even_when_one_copy_is_in_an_equal_segment(two_sites):
    url = two_sites.state_url
    districts = _attendance_pulled(two_sites)
    landing = landing_checksums(url, "01")
    # The copy is dated a month later: the original's month still checksums equal.
    site_execute(two_sites, "01", "alter table attendance drop constraint attendance_pkey cascade",
                 "create temporary table copy as select * from attendance"
                 " where attendance_id = (select min(attendance_id) from attendance)",
                 "update copy set date = date + 31",
                 "insert into attendance select * from copy")
    [outcome] = pulls.pull(url, districts, ["attendance"], SCHOOL_YEAR)
    assert not outcome.ok
    assert outcome.error.startswith("District 01 (Abbott): table attendance has more than one row with"
                                    " attendance_id"), outcome.error
    assert landing_checksums(url, "01") == landing


def test_dates_cross_in_the_states_style_whatever_the_sites_default(two_sites):
    url = two_sites.state_url
    site_execute(two_sites, "01", "do $$ begin execute format('alter database %I set datestyle = %L',"
                                  " current_database(), 'SQL, DMY'); end $$")
    districts = _attendance_pulled(two_sites)
    with psycopg.connect(database.libpq_url(two_sites.sites["01"])) as site:
        at_site = site.execute("select attendance_id, date from attendance order by attendance_id").fetchall()
    assert at_site and any(day.day > 12 for _, day in at_site)  # a day that is no month
    assert [(a, d) for a, d, _, _ in _attendance(url, "01")] == at_site
    [again] = pulls.pull(url, districts, ["attendance"], SCHOOL_YEAR)
    assert again.ok and again.written == 0 and again.tables[0].segments_read == 0


def test_a_year_path_joins_keys_of_one_type_as_they_are_and_of_two_types_as_text(two_sites):
    """The join to the calendar at the site compares the keys as they are when both tables keep
    them in one type (it hashes integers: casting every row to text made a large district's key
    count three times as slow), and as text when the site keeps them in two types: the rows read
    are the same."""
    url = two_sites.state_url
    districts = _attendance_pulled(two_sites)
    attendance = landing_tables.declared(dbt_invoker.project_graph(url))["attendance"]

    def year_scope() -> str:
        with SourceReader(districts[0], url) as source:
            source.describe(["attendance", "calendar"])
            return source.scoped(attendance, SCHOOL_YEAR).rows.as_string(source.conn)

    assert '"p0"."calendar_id" = "row"."calendar_id"' in year_scope()
    at_site = _attendance(url, "01")
    site_execute(two_sites, "01", "alter table calendar alter column calendar_id type bigint",
                 "update attendance set comments = 'noted' where attendance_id = (select min(attendance_id) from attendance)",
                 "delete from attendance where attendance_id = (select max(attendance_id) from attendance)")
    assert '"p0"."calendar_id"::text = "row"."calendar_id"::text' in year_scope()
    for changed_only in (True, False):
        [outcome] = pulls.pull(url, districts, ["attendance"], SCHOOL_YEAR, changed_only=changed_only)
        assert outcome.ok, outcome.error
    expected = [(a, d, s, "noted" if a == at_site[0][0] else c) for a, d, s, c in at_site[:-1]]
    assert _attendance(url, "01") == expected


def test_a_readers_twin_reads_the_readers_snapshot(two_sites):
    """A changed-only pull counts the district's keys on a second connection while it reads the
    changed rows on the first: both must see the district at the same moment."""
    with database.transaction(two_sites.state_url) as conn:
        [district] = registry.resolve(conn, ["01"])
    count = "select count(*) from attendance"
    with SourceReader(district, two_sites.state_url) as source:
        before = source.conn.execute(count).fetchone()[0]
        site_execute(two_sites, "01", "delete from attendance where attendance_id = (select min(attendance_id) from attendance)")
        with source.twin() as twin:
            assert twin is not None
            assert twin.execute(count).fetchone()[0] == before
            assert twin.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    with psycopg.connect(database.libpq_url(two_sites.sites["01"])) as site:
        assert site.execute(count).fetchone()[0] == before - 1
