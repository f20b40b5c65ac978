"""Tool rights, enforced by PostgreSQL: each kind of user through the CLI and through raw SQL.

The CLI says why in one sentence; raw SQL as the same role shows that the refusal is the
database's own (a grant missing, a row-level security policy, or the tool schema's functions),
not only the CLI's. The state tables and report views are built once (as the database owner,
whose dbt run hands them to the worker's role) and copied for each test.
"""

from __future__ import annotations

import json
import threading

import psycopg
import pytest
import sqlalchemy as sa

from generated_data import SCHOOL_YEAR
from dbt_helpers import dbt
from orchestrator import database, migrations
from queue_helpers import WORKER_ROLE, query, request_row, worker_url, workers  # noqa: F401
from rights_helpers import Users, one_sentence

YEAR = str(SCHOOL_YEAR)
CALENDAR = ("-o", "Calendar", "--school-year", YEAR)


@pytest.fixture(scope="module")
def state_template(generated_template):
    """The generated districts with their state tables and report views built."""
    url = generated_template.clone()
    dbt(url, "run", "--select", "+attendance_by_year", "+calendar", school_year=SCHOOL_YEAR)  # pulls first
    database.dispose_engine(url)  # a template must have no open connection when it is copied
    yield url
    generated_template.drop(url)


@pytest.fixture
def rights_url(generated_template, state_template, monkeypatch):
    url = database.create_database(generated_template.server_url, prefix="resync_test", template_url=state_template)
    monkeypatch.setenv("RESYNC_DATABASE_URL", url)
    for key, value in database.dbt_environment(url).items():
        monkeypatch.setenv(key, value)
    yield url
    database.drop_database(generated_template.server_url, url)


@pytest.fixture
def users(rights_url, cli, monkeypatch):
    found = Users(rights_url, cli, monkeypatch)
    yield found
    found.drop_all()


def _queue(run, *args: str) -> int:
    """`resync request ... --json` through `run` (the owner's cli, or users.cli bound to a user)."""
    result = run("request", *args, "--yes", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["id"]


def _requests(url: str) -> int:
    return query(url, "select count(*) from resync.request")[0][0]


def _selection(*districts: str) -> str:
    return json.dumps({"districts": list(districts), "objects": ["Calendar"], "check_dependencies": False,
                       "school_year": SCHOOL_YEAR, "full_refresh": False})


def test_a_district_user_sees_requests_and_cancels_only_their_districts_work(rights_url, cli, users):
    abbott = users.add("abbott", "--right", "write", "-d", "01")
    campus = users.add("campus", "--right", "write", "-d", "02")
    as_abbott = lambda *args: users.cli(abbott, *args)  # noqa: E731
    mine = _queue(as_abbott, "-d", "01", *CALENDAR)
    theirs = _queue(lambda *a: users.cli(campus, *a), "-d", "02", *CALENDAR)
    both = _queue(cli, "-d", "01", "-d", "02", *CALENDAR)  # the owner's, over both districts
    assert request_row(rights_url, mine)["requested_by"] == abbott  # the login role, not a claim

    before = _requests(rights_url)
    refused = one_sentence(as_abbott("request", "-d", "02", *CALENDAR))
    assert f"{abbott} may request districts 01 only, not 02." in refused
    assert _requests(rights_url) == before

    assert [r["id"] for r in json.loads(as_abbott("history", "--json").output)] == [mine]
    assert [r["id"] for r in json.loads(as_abbott("status", "--json").output)] == [mine]
    for other in (theirs, both):
        assert f"There is no request {other}" in one_sentence(as_abbott("status", str(other)))
        assert f"There is no request {other}" in one_sentence(as_abbott("cancel", str(other)))
        assert request_row(rights_url, other)["status"] == "queued"
    assert [d["code"] for d in json.loads(as_abbott("district", "list", "--json").output)] == ["01"]

    # Administration, a resync now, and acting as someone else are not theirs.
    assert "Only a state-level administrator may change schedules" in one_sentence(
        as_abbott("schedule", "set", "weekly", "0 3 * * 1"))
    assert query(rights_url, "select cron from resync.schedule where name = 'weekly'") == [("0 2 * * 0",)]
    assert "Only a state-level administrator may run a resync directly" in one_sentence(
        as_abbott("run", "-d", "01", *CALENDAR, "--yes"))
    assert "Only a state-level administrator may run the aggregation directly" in one_sentence(
        as_abbott("aggregate", "-d", "01"))
    assert "Only a state-level administrator may pull directly" in one_sentence(as_abbott("pull", "-d", "01"))
    assert "Only a state-level administrator may register districts" in one_sentence(
        as_abbott("district", "add", "09", "--name", "Nine"))
    assert "may not run a worker: log in as resync_worker" in one_sentence(as_abbott("worker", "--burst"))
    assert "Only a state-level administrator may change demo data" in one_sentence(as_abbott("demo", "change"))
    assert "Only a state-level administrator may add users" in one_sentence(
        as_abbott("user", "add", users.name("intruder"), "--right", "admin"))
    assert query(rights_url, "select count(*) from pg_roles where rolname = %s", users.name("intruder")) == [(0,)]
    assert "Only an administrator may act as someone else" in one_sentence(
        as_abbott("request", "-d", "01", *CALENDAR, "--as", campus))
    assert "Only an administrator may act as someone else" in one_sentence(as_abbott("inbox", "--as", campus))
    assert _requests(rights_url) == before

    # Their own request they may cancel, and they are told.
    assert "Cancelled request" in as_abbott("cancel", str(mine)).output
    cancelled = request_row(rights_url, mine)
    assert (cancelled["status"], cancelled["cancel_requested_by"]) == ("cancelled", abbott)
    inbox = json.loads(as_abbott("inbox", "--json").output)
    assert [(n["request_id"], n["status"], n["recipient"]) for n in inbox] == [(mine, "cancelled", abbott)]


def test_a_district_users_raw_sql_is_refused_by_postgresql(rights_url, cli, users):
    abbott = users.add("abbott", "--right", "write", "-d", "01")
    campus = users.add("campus", "--right", "write", "-d", "02")
    theirs = _queue(lambda *a: users.cli(campus, *a), "-d", "02", *CALENDAR)
    assert cli("cancel", str(theirs)).exit_code == 0  # the owner cancels it: campus is told
    assert query(rights_url, "select count(*) from resync.notification where recipient = %s", campus) == [(1,)]

    # They see their district only: the registry, the state tables, the reports, the requests.
    assert users.sql(abbott, "select code from resync.district") == [("01",)]
    assert users.sql(abbott, "select distinct district_id from state.calendar") == [("01",)]
    assert users.sql(abbott, "select distinct district_id from state_reports.attendance_by_year") == [("01",)]
    assert query(rights_url, "select count(distinct district_id) from state_reports.attendance_by_year") == [(3,)]
    assert users.sql(abbott, "select count(*) from resync.request") == [(0,)]
    # Nor another user's notifications, to read or to mark read.
    assert users.sql(abbott, "select count(*) from resync.notification") == [(0,)]
    assert users.sql(abbott, "update resync.notification set read_at = now()") == [(0,)]
    assert query(rights_url, "select read_at from resync.notification where recipient = %s", campus) == [(None,)]
    users.refused(abbott, "insert into resync.notification (recipient, request_id, status, message)"
                          " values (%s, %s, 'succeeded', 'forged')", campus, theirs)

    # The queue's function refuses another district; the queue's and the request's tables
    # take no writes at all.
    error = users.refused(abbott, "select resync.queue_request('resync', %s::jsonb, null)", _selection("02"))
    assert f"{abbott} may request districts 01 only, not 02." in str(error)
    users.refused(abbott, "select resync.queue_request('resync', %s::jsonb, null, 'someone-else')", _selection("01"))
    users.refused(abbott, "insert into resync.request (requested_by, selection) values (%s, %s::jsonb)",
                  abbott, _selection("02"))
    users.refused(abbott, "update resync.request set status = 'cancelled'")
    users.refused(abbott, "insert into resync_queue.procrastinate_jobs (queue_name, task_name, args)"
                          " values ('requests', 'resync.run_request', '{}')")
    users.refused(abbott, "select resync_queue.procrastinate_cancel_job_v1(1, true, false)")
    users.refused(abbott, "select resync.cancel_request(%s)", theirs, error=psycopg.errors.NoDataFound)

    # No state table, schedule, registry or rights row can be written.
    for statement in ("delete from state.calendar", "update state.calendar set name = 'x'",
                      "insert into state.calendar select * from state.calendar limit 1",
                      "truncate state.day",
                      "update resync.schedule set cron = '* * * * *'", "delete from resync.district",
                      "update resync.user_scope set state_level = true",
                      "select resync.set_user(current_user::text, 'admin', true, null)"):
        users.refused(abbott, statement)
    assert users.sql(abbott, "select resync.caller_districts()") == [(["01"],)]
    # A state table's partitions belong to the worker and are read through the table only, under
    # its policy: not even their own district's partition may be read directly.
    partitions = query(rights_url, "select relid::regclass::text, (select relowner::regrole::text from pg_class"
                                   " where oid = relid) from pg_partition_tree('state.calendar') where level > 0")
    assert partitions and {owner for _, owner in partitions} == {WORKER_ROLE}
    for partition, _ in partitions:
        users.refused(abbott, f"select * from {partition}")

    # What the CLI does for them, raw SQL may do too: queue a request for 01.
    queued = users.sql(abbott, "select resync.queue_request('resync', %s::jsonb, null)", _selection("01"))[0][0]
    assert users.sql(abbott, "select id, requested_by from resync.request") == [(queued, abbott)]
    assert query(rights_url, "select j.task_name, j.status from resync_queue.procrastinate_jobs j"
                             " join resync.request r on r.job_id = j.id where r.id = %s", queued) \
        == [("resync.run_request", "todo")]


def test_a_read_user_sees_every_district_and_requests_nothing(rights_url, cli, users):
    analyst = users.add("analyst", "--right", "read")
    owners = _queue(cli, "-d", "02", *CALENDAR)
    before = _requests(rights_url)

    assert "has the Read right: requesting a resync needs Write." in one_sentence(
        users.cli(analyst, "request", "-d", "01", *CALENDAR))
    users.refused(analyst, "select resync.queue_request('resync', %s::jsonb, null)", _selection("01"))
    assert _requests(rights_url) == before
    assert "Only its requester (postgres) or an administrator may cancel" in one_sentence(
        users.cli(analyst, "cancel", str(owners)))

    assert [r["id"] for r in json.loads(users.cli(analyst, "history", "--json").output)] == [owners]
    assert users.sql(analyst, "select count(distinct district_id) from state.calendar") == [(3,)]
    assert users.sql(analyst, "select count(distinct district_id) from state_reports.attendance_by_year") == [(3,)]
    users.refused(analyst, "delete from state.calendar")
    assert "Resync for" in users.cli(analyst, "run", "-d", "01", *CALENDAR, "--dry-run").output  # a look is fine


def test_a_state_level_write_user_requests_any_district_and_cancels_their_own(rights_url, cli, users):
    clerk = users.add("clerk", "--right", "write")
    as_clerk = lambda *args: users.cli(clerk, *args)  # noqa: E731
    first = _queue(as_clerk, "-d", "01", "-d", "02", *CALENDAR)
    second = _queue(as_clerk, "-d", "03", *CALENDAR)
    owners = _queue(cli, "-d", "01", *CALENDAR)
    assert {r["id"] for r in json.loads(as_clerk("history", "--json").output)} == {first, second, owners}

    assert "Only its requester (postgres) or an administrator may cancel" in one_sentence(
        as_clerk("cancel", str(owners)))
    users.refused(clerk, "select resync.cancel_request(%s)", owners)
    assert request_row(rights_url, owners)["status"] == "queued"
    assert as_clerk("cancel", str(first)).exit_code == 0
    assert request_row(rights_url, first)["status"] == "cancelled"
    assert "cancelled" in as_clerk("inbox").output
    users.refused(clerk, "update state.calendar set name = 'x'")
    users.refused(clerk, "update resync.schedule set enabled = false")


def test_an_administrator_can_do_everything(rights_url, cli, users):
    boss = users.add("boss", "--right", "admin")
    clerk = users.add("clerk", "--right", "write", "-d", "01")
    as_boss = lambda *args: users.cli(boss, *args)  # noqa: E731
    clerks = _queue(lambda *a: users.cli(clerk, *a), "-d", "01", *CALENDAR)

    # Users, districts, schedules.
    newcomer = users.name("newcomer")
    assert as_boss("user", "add", newcomer, "--right", "read", "-d", "02").exit_code == 0
    users.names.append(newcomer)
    assert {u["name"] for u in json.loads(as_boss("user", "list", "--json").output)} == {boss, clerk, newcomer}
    assert as_boss("user", "remove", newcomer).exit_code == 0
    assert as_boss("district", "add", "04", "--name", "Dune").exit_code == 0
    assert as_boss("schedule", "set", "weekly", "30 1 * * 6", "--as", "the-board").exit_code == 0
    assert query(rights_url, "select cron, updated_by from resync.schedule where name = 'weekly'") \
        == [("30 1 * * 6", "the-board")]

    # Requests for anyone, as anyone; anyone's cancelled; anyone's inbox.
    behalf = _queue(as_boss, "-d", "02", *CALENDAR, "--as", clerk)
    assert request_row(rights_url, behalf)["requested_by"] == clerk
    assert "Cancelled request" in as_boss("cancel", str(clerks)).output
    assert "cancelled" in as_boss("inbox", "--as", clerk).output
    assert {r["id"] for r in json.loads(as_boss("history", "--json").output)} == {clerks, behalf}
    assert as_boss("district", "remove", "04").exit_code == 0

    # A resync now, by dbt logged in as the administrator: the table stays the worker's.
    result = as_boss("run", "-d", "01", *CALENDAR, "--yes")
    assert result.exit_code == 0, result.output
    assert query(rights_url, "select tableowner from pg_tables where schemaname = 'state' and tablename = 'calendar'") \
        == [(WORKER_ROLE,)]
    assert users.sql(boss, "update resync.schedule set enabled = false where name = 'nightly'") == [(1,)]
    assert users.sql(boss, "select count(distinct district_id) from state.calendar") == [(3,)]


def test_the_worker_runs_users_requests_under_its_own_role_and_notifications_carry_an_id(
        rights_url, cli, users, workers):
    abbott = users.add("abbott", "--right", "write", "-d", "01")
    campus = users.add("campus", "--right", "write", "-d", "02")
    mine = _queue(lambda *a: users.cli(abbott, *a), "-d", "01", *CALENDAR)
    heard: list[str] = []
    listening = threading.Event()

    def listen() -> None:  # another district's user listens to every notification
        with psycopg.connect(users.login(campus), autocommit=True) as conn:
            conn.execute("listen resync_notification")
            listening.set()
            for note in conn.notifies(timeout=120, stop_after=1):
                heard.append(note.payload)

    listener = threading.Thread(target=listen)
    listener.start()
    assert listening.wait(30)
    process = workers.burst()
    listener.join(130)
    assert "Starting worker" in workers.log(process)

    done = request_row(rights_url, mine)
    assert done["status"] == "succeeded", done["error"]
    # All a listener hears is an id; the notification itself is not theirs to read.
    assert heard and heard[0].isdigit()
    assert users.sql(campus, "select count(*) from resync.notification where id = %s", int(heard[0])) == [(0,)]
    assert users.sql(abbott, "select request_id, status from resync.notification where id = %s", int(heard[0])) \
        == [(mine, "succeeded")]
    assert "succeeded" in users.cli(abbott, "inbox").output
    assert query(rights_url, "select tableowner from pg_tables where schemaname = 'state' and tablename = 'calendar'") \
        == [(WORKER_ROLE,)]
    # Its own role: no superuser, no bypass of row-level security, no administration.
    assert query(rights_url, "select rolsuper, rolbypassrls from pg_roles where rolname = %s", WORKER_ROLE) \
        == [(False, False)]
    with psycopg.connect(worker_url(rights_url), autocommit=True) as conn:
        for statement in ("update resync.district set name = 'x'", "delete from resync.request",
                          "select resync.add_user('intruder', 'admin', null)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_state_objects_made_before_rights_are_handed_to_the_worker(database_url):
    """A database whose state tables the owner built before rights existed (migration 061)."""
    with database.transaction(database_url) as conn:
        migrations.ensure_tool_schema(conn)
        conn.execute(sa.text("create schema state; create table state.calendar (district_id text);"
                             " create schema state_reports; create view state_reports.v as select 1 as one"))
        conn.execute(sa.text("delete from resync.schema_migration where name = '061_state_objects_owner.sql'"))
    with database.transaction(database_url) as conn:
        migrations.ensure_tool_schema(conn)
        owners = conn.execute(sa.text(
            "select n.nspname, c.relname, c.relowner::regrole::text, n.nspowner::regrole::text from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace where n.nspname in ('state', 'state_reports')"
            " order by 1, 2")).all()
    assert owners == [("state", "calendar", WORKER_ROLE, WORKER_ROLE), ("state_reports", "v", WORKER_ROLE, WORKER_ROLE)]
