"""The web page over HTTP, without a browser: signing in, CSRF, bad input, what the confirmation
restates, the reverse proxy's header, and the event stream's rights.

The application runs in-process (Starlette's test client) against a small state, except for the
event stream, read from a real `resync web` with a real HTTP client.
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
import warnings

import httpx
import psycopg
import pytest
import sqlalchemy as sa
with warnings.catch_warnings():  # Starlette 1.x would rather have httpx's fork httpx2; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from browser_helpers import WebServer
from orchestrator import database, requests, resync, settings
from orchestrator.school_year import current_school_year
from orchestrator.web.app import WebSettings, create_app
from rights_helpers import PASSWORD, one_sentence
from web_helpers import csrf_token, web_state  # noqa: F401
from queue_helpers import workers  # noqa: F401  (fixture)
from test_pull import two_sites  # noqa: F401  (fixture: districts on their sites)
from test_verify import excuses_changed, users  # noqa: F401  (fixtures)


@pytest.fixture
def app(web_state):  # noqa: F811
    return create_app(WebSettings(database_url=web_state.url))


def signed_in(app, name: str) -> TestClient:
    client = TestClient(app)
    token = csrf_token(client.get("/signin").text)
    answer = client.post("/signin", data={"user": name, "password": PASSWORD, "csrf_token": token},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def token_of(client: TestClient) -> str:
    return csrf_token(client.get("/").text)


def refusal(answer) -> str:
    found = re.search(r'id="(?:refusal|message|signin-error)">([^<]*)<', answer.text)
    assert found, answer.text
    return " ".join(html.unescape(found.group(1)).split())


def test_only_the_tools_users_sign_in(app, web_state):  # noqa: F811
    client = TestClient(app)
    token = csrf_token(client.get("/signin").text)
    outsider = f"{web_state.users['writer']}_outsider"
    with database.transaction(web_state.url) as conn:
        conn.execute(sa.text(f"create role \"{outsider}\" login password '{PASSWORD}'"))
    try:
        for name, sentence in [
            ("resync_worker", "resync_worker is the workers' service role; sign in as a user"),
            (outsider, f"{outsider} is not a user of the resync tool; sign in as a user"),
            ("nobody_at_all", "The database did not let nobody_at_all sign in with that password."),
        ]:
            answer = client.post("/signin", data={"user": name, "password": PASSWORD, "csrf_token": token})
            assert answer.status_code == 401
            assert refusal(answer).startswith(sentence)
    finally:
        with database.transaction(web_state.url) as conn:
            conn.execute(sa.text(f'drop role "{outsider}"'))
    assert client.get("/", follow_redirects=False).headers["location"] == "/signin"  # still signed out

    writer = signed_in(app, web_state.users["writer"])
    assert "Resync Data For The Current School Year" in writer.get("/").text
    writer.post("/signout", data={"csrf_token": token_of(writer)})
    assert writer.get("/", follow_redirects=False).status_code == 303


def test_every_form_needs_its_sessions_csrf_token(app, web_state):  # noqa: F811
    writer = signed_in(app, web_state.users["writer"])
    other = token_of(signed_in(app, web_state.users["abbott"]))
    choice = {"district": "01", "object": "Calendar"}
    before = web_state.requests()
    for token in (None, other, "forged"):
        data = {**choice, **({"csrf_token": token} if token else {})}
        for path in ("/plan", "/requests"):
            answer = writer.post(path, data=data)
            assert answer.status_code == 403
            assert "This form has expired or did not come from this page" in refusal(answer)
    assert web_state.requests() == before
    # The same form with its own token goes through (the page's htmx sends it as a header too).
    assert writer.post("/plan", data=choice, headers={"X-CSRF-Token": token_of(writer)}).status_code == 200
    assert writer.post("/signin", data={"user": "x", "password": "y"}).status_code == 403


@pytest.mark.parametrize("who, choice, sentence", [
    ("writer", {"object": "Calendar"}, "Choose at least one district in Select Districts."),
    ("writer", {"district": "01"}, "Choose at least one of the Subscribed Data Elements."),
    ("writer", {"district": "01", "object": "Calender"}, "Unknown object 'Calender'; `resync objects` lists them."),
    ("writer", {"district": "04", "object": "Calendar"}, "District 04 is not registered;"),
    ("abbott", {"district": ["01", "02"], "object": "Calendar"}, "may request districts 01 only, not 02."),
    ("analyst", {"district": "01", "object": "Calendar"}, "has the Read right: requesting a resync needs Write."),
])
def test_bad_input_is_a_sentence_on_the_page_and_queues_nothing(app, web_state, who, choice, sentence):  # noqa: F811
    client = signed_in(app, web_state.users[who])
    data = {**choice, "csrf_token": token_of(client)}
    before = web_state.requests()
    planned = client.post("/plan", data=data)
    assert planned.status_code == 422
    assert sentence in refusal(planned) and refusal(planned).endswith("Nothing was queued.")
    queued = client.post("/requests", data=data)
    assert queued.status_code == 422
    assert refusal(queued).startswith("Nothing was queued:") and sentence in refusal(queued)
    assert web_state.requests() == before


def test_an_object_the_state_does_not_subscribe_is_neither_offered_nor_accepted(app, web_state,  # noqa: F811
                                                                               state_without_attendance):
    client = signed_in(app, web_state.users["writer"])
    screen = client.get("/").text
    assert 'value="Calendar"' in screen and 'value="AttendanceExcuse"' not in screen
    before = web_state.requests()
    answer = client.post("/requests", data={"district": "01", "object": "AttendanceExcuse",
                                            "csrf_token": token_of(client)})
    assert "Utah does not subscribe to AttendanceExcuse, so it cannot be resynced" in refusal(answer)
    assert web_state.requests() == before


def test_the_confirmation_restates_rows_now_and_last_pulls_of_the_users_districts(app, web_state):  # noqa: F811
    year = current_school_year()
    with database.transaction(web_state.url) as conn:
        plan = resync.build_plan(conn, ["01", "02"], ["Calendar"], True, year)
    assert resync.execute(plan, web_state.url).ok  # pulls, then builds District, School, Calendar
    with database.transaction(web_state.url) as conn:
        calendars = conn.execute(sa.text(
            f"select count(*) from {settings.STATE_SCHEMA}.calendar where district_id = '01' and end_year = :y"),
            {"y": year}).scalar()
        pulled = conn.execute(sa.text(
            "select max(pulled_at) from resync.pull_log where district_id = '01' and table_name = 'calendar'")).scalar()

    abbott = signed_in(app, web_state.users["abbott"])
    page = abbott.post("/plan", data={"district": "01", "object": "Calendar", "check_dependencies": "on",
                                      "csrf_token": token_of(abbott)}).text
    rows = re.search(r'<tr data-object="Calendar">.*?</td>\s*<td>.*?</td>\s*<td>.*?</td>\s*<td>([\d,]+) rows? ·',
                     page, re.S)
    assert rows and int(rows.group(1).replace(",", "")) == calendars > 0
    last_pull = re.search(r'<tr data-table="calendar"><td>calendar</td>\s*<td>([^<]+)</td>', page)
    assert last_pull and last_pull.group(1).startswith(pulled.astimezone().strftime("%Y-%m-%d %H:%M"))
    assert "Campus (02)" not in page


def test_users_read_the_pull_log_of_their_districts_only(app, web_state):  # noqa: F811
    with database.transaction(web_state.url) as conn:
        plan = resync.build_plan(conn, ["01", "02"], ["District"], False, None)
    assert resync.execute(plan, web_state.url).ok

    def districts_seen(short: str) -> set[str]:
        with psycopg.connect(web_state.login(short)) as conn:
            return {r[0] for r in conn.execute("select district_id from resync.pull_log")}

    assert districts_seen("abbott") == {"01"}  # row-level security, not the page
    assert districts_seen("analyst") == {"01", "02"}
    with pytest.raises(psycopg.errors.InsufficientPrivilege), psycopg.connect(web_state.login("writer")) as conn:
        conn.execute("delete from resync.pull_log")


def test_behind_a_reverse_proxy_the_header_names_the_user(web_state):  # noqa: F811
    client = TestClient(create_app(WebSettings(database_url=web_state.url, remote_user_header="X-Remote-User")))
    assert client.get("/").status_code == 401  # no header: nobody
    as_abbott = client.get("/", headers={"X-Remote-User": web_state.users["abbott"]})
    assert as_abbott.status_code == 200
    assert "Abbott (01)" in as_abbott.text and "Campus (02)" not in as_abbott.text
    assert "Sign out" not in as_abbott.text and 'id="password"' not in client.get("/signin").text
    as_analyst = client.get("/", headers={"X-Remote-User": web_state.users["analyst"]})
    assert "Campus (02)" in as_analyst.text and 'id="request-resync"' not in as_analyst.text
    worker = client.get("/", headers={"X-Remote-User": "resync_worker"})
    assert worker.status_code == 403 and "the workers' service role" in refusal(worker)


def test_the_embedded_database_is_served_on_this_machine_only(cli, monkeypatch, tmp_path):
    monkeypatch.delenv("RESYNC_DATABASE_URL", raising=False)
    monkeypatch.setenv("RESYNC_HOME", str(tmp_path / "home"))
    result = cli("web", "--host", "0.0.0.0")
    assert one_sentence(result) == (
        "Error: The embedded database trusts every local connection, so its page checks no password: serve it"
        " on 127.0.0.1 or localhost, not 0.0.0.0 (or set RESYNC_DATABASE_URL to a server of your own).")
    assert not (tmp_path / "home").exists()  # refused before anything started


def test_the_event_stream_sends_a_user_only_their_own_notifications(web_state, tmp_path):  # noqa: F811
    abbott, writer = web_state.users["abbott"], web_state.users["writer"]
    with database.transaction(web_state.url) as conn:  # the owner, an administrator, queues for both
        mine = requests.submit_resync(conn, districts=["01"], objects=["District"], check_dependencies=False,
                                      school_year=None, requested_by=abbott).id
        theirs = requests.submit_resync(conn, districts=["01"], objects=["District"], check_dependencies=False,
                                        school_year=None, requested_by=writer).id
    server = WebServer(web_state.url, tmp_path / "web.log")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            token = csrf_token(client.get("/signin").text)
            client.post("/signin", data={"user": abbott, "password": PASSWORD, "csrf_token": token})
            after = re.search(r"/events\?after=(\d+)", client.get("/").text).group(1)
            with client.stream("GET", f"/events?after={after}") as stream:
                events = _events(stream.iter_lines())
                assert next(events)[0] == "listening"
                with database.transaction(web_state.url) as conn:  # the worker's side, ending both
                    requests.finish(conn, theirs, requests.FAILED, error="Ended by the test.")
                    requests.finish(conn, mine, requests.FAILED, error="Ended by the test.")
                kind, data = next(events)
    finally:
        server.stop()
    assert kind == "notification"
    assert f'data-request="{mine}"' in data and f"Request {mine} (" in data  # theirs, sent first, never came


def _events(lines):
    """(event, data) of a server-sent event stream, skipping keep-alive comments."""
    kind, data = None, []
    for line in lines:
        if line.startswith("event:"):
            kind = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line == "" and kind:
            yield kind, "\n".join(data)
            kind, data = None, []


def test_ok_queues_the_plan_the_confirmation_restated(app, web_state):  # noqa: F811
    """OK posts the confirmation's own form: the same plan as the CLI's for the same choice, with
    the school year the confirmation named."""
    client = signed_in(app, web_state.users["writer"])
    confirmation = client.post("/plan", data={"district": ["02", "01"], "object": "Calendar",
                                              "check_dependencies": "on", "csrf_token": token_of(client)}).text
    form = confirmation[confirmation.index('action="/requests"'):]
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    assert ("school_year", str(current_school_year())) in fields
    answer = client.post("/requests", content="&".join(f"{k}={v}" for k, v in fields),
                         headers={"Content-Type": "application/x-www-form-urlencoded"}, follow_redirects=False)
    request_id = int(answer.headers["location"].rsplit("/", 1)[1])
    with database.transaction(web_state.url) as conn:
        queued = requests.get(conn, request_id)
        expected = requests.plan_resync(conn, districts=["01", "02"], objects=["Calendar"],
                                           check_dependencies=True, school_year=current_school_year())
    assert queued.requested_by == web_state.users["writer"]
    assert queued.selection["school_year"] == current_school_year()
    assert queued.plan == json.loads(json.dumps(expected.as_dict(), default=str))


@pytest.mark.parametrize("year", ["abc", "2024; drop table state.day", "٢٠٢٤", "-1"])
def test_a_school_year_that_is_not_a_year_is_a_sentence_and_queues_nothing(app, web_state, year):  # noqa: F811
    """The confirmation's school year and the report's are end years: anything else is refused,
    not read as the current year."""
    client = signed_in(app, web_state.users["writer"])
    before = web_state.requests()
    answer = client.post("/requests", data={"district": "01", "object": "Calendar", "school_year": year,
                                            "csrf_token": token_of(client)})
    assert answer.status_code == 422
    assert refusal(answer).startswith("Nothing was queued: School year") and "is not a year" in refusal(answer)
    assert web_state.requests() == before
    report = client.get("/report", params={"school_year": year})
    assert "is not a year: give the end year" in refusal(report)


def test_make_demo_ends_by_saying_how_to_open_the_page():
    from orchestrator.cli.web import DEFAULT_PORT

    demo = (settings.project_dir() / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    last = " ".join(line.strip().removeprefix('@echo "').removesuffix('"') for line in demo.splitlines()[-2:])
    assert f"resync web  and open http://127.0.0.1:{DEFAULT_PORT}/" in last
    assert "state_admin, abbott_admin or analyst" in last


def test_freshness_and_verification_pages_with_the_repair_button_for_write_users(excuses_changed, users,  # noqa: F811
                                                                                 workers):  # noqa: F811
    """Districts on their sites; at 01's site one excuse edited, one inserted, one deleted
    (test_verify.excuses_changed). The pages use the CLI's API under each user's rights."""
    from generated_data import SCHOOL_YEAR
    from queue_helpers import query, request_row

    sites, edited, inserted, deleted = excuses_changed
    url, year = sites.state_url, str(SCHOOL_YEAR)
    reader = users.add("reader", "--right", "read", "-d", "01")
    writer = users.add("writer", "--right", "write", "-d", "01")
    app = create_app(WebSettings(database_url=url))
    as_reader = signed_in(app, reader)

    fresh = as_reader.get(f"/freshness?school_year={year}").text
    row = re.search(r'<tr data-district="01" data-object="AttendanceExcuse">(.*?)</tr>', fresh, re.S)
    assert row and 'class="verdict-stale">stale<' in row.group(1) and "changed at the site" in row.group(1)
    assert 'data-district="02"' not in fresh  # row-level security: the reader's districts only

    page = as_reader.get("/verification").text
    assert 'id="verify-button"' in page and 'id="repair-button"' not in page and "Campus (02)" not in page
    choice = {"district": "01", "object": "AttendanceExcuse", "school_year": year}
    assert as_reader.post("/verification", data={**choice, "action": "verify"}).status_code == 403  # no CSRF token
    for bad in ({**choice, "school_year": "20x5"}, {**choice, "object": "Calender"}):
        refused = as_reader.post("/verification", data={**bad, "action": "verify", "csrf_token": token_of(as_reader)})
        assert refused.status_code == 422 and refusal(refused).startswith("Nothing was verified:"), refused.text
    assert "is not a year" in refusal(as_reader.get("/freshness?school_year=20x5"))
    assert query(url, "select count(*) from resync.verification") == [(0,)]

    answer = as_reader.post("/verification", data={**choice, "action": "verify", "csrf_token": token_of(as_reader)},
                            follow_redirects=False)
    assert answer.status_code == 303, answer.text
    result = as_reader.get(answer.headers["location"]).text
    assert "Differences found: district 01: 3 row differences in AttendanceExcuse." in html.unescape(result)
    excuses = re.search(r'<tr data-table="attendance_excuse" data-level="site".*?</tr>', result, re.S).group(0)
    assert f"excuse_id {inserted}</span>" in excuses and f"excuse_id {deleted}</span>" in excuses
    assert f"excuse_id {edited} (description)" in excuses
    assert 'id="repair-button"' not in result
    refused = as_reader.post("/verification", data={**choice, "action": "repair", "csrf_token": token_of(as_reader)})
    assert refused.status_code == 422 and "requesting a resync needs Write" in refusal(refused)
    assert query(url, "select count(*) from resync.request") == [(0,)]

    as_writer = signed_in(app, writer)
    shown = as_writer.get(answer.headers["location"]).text  # the reader's verification of district 01
    form = shown[shown.index('<form id="repair"'):shown.index("</form>", shown.index('<form id="repair"'))]
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    repaired = as_writer.post("/verification", content=urllib.parse.urlencode([*fields, ("action", "repair")]),
                              headers={"Content-Type": "application/x-www-form-urlencoded"}, follow_redirects=False)
    assert repaired.status_code == 303, repaired.text
    queued = re.search(r'Queued repair request <a href="/requests/(\d+)">', as_writer.get(repaired.headers["location"]).text)
    request_id = int(queued.group(1))
    assert request_row(url, request_id)["requested_by"] == writer

    workers.burst()
    assert request_row(url, request_id)["status"] == "succeeded"
    again = as_writer.post("/verification", data={**choice, "action": "verify", "csrf_token": token_of(as_writer)})
    assert "The state equals the site of 01" in html.unescape(again.text)
    history = as_writer.get("/verification").text
    assert f'<a href="/requests/{request_id}">request {request_id}</a>' in history
    fresh = as_writer.get(f"/freshness?school_year={year}").text
    row = re.search(r'<tr data-district="01" data-object="AttendanceExcuse">(.*?)</tr>', fresh, re.S).group(1)
    assert 'class="verdict-fresh">fresh<' in row and f"request {request_id}" in row
