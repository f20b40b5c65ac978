"""The administrators' page in a real headless browser (Debian's chromium), as its users use it.

`resync web` runs as a subprocess against a small state (tests/web_helpers.py); a real worker,
logged in as resync_worker, runs what the page queues. Each step leaves a screenshot; the folder
is named at the end of the test run.
"""

from __future__ import annotations

import pytest

from browser_helpers import WebServer, browser, require_browser, screenshot_root, skip_module_without_browser  # noqa: F401
from orchestrator import catalog, database, reports, requests, resync
from orchestrator.school_year import current_school_year, school_year_label
from queue_helpers import request_row, wait_until, workers  # noqa: F401
from rights_helpers import PASSWORD
from web_helpers import web_state  # noqa: F401

skip_module_without_browser()

from selenium.webdriver.support.ui import Select  # noqa: E402  (selenium only matters with a browser)


@pytest.fixture(scope="module", autouse=True)
def needs_browser():
    """First: without chromium under CI=true, each test fails before anything is set up."""
    require_browser()


@pytest.fixture(scope="module")
def web(web_state, tmp_path_factory):  # noqa: F811
    server = WebServer(web_state.url, tmp_path_factory.mktemp("web") / "resync-web.log")
    yield server
    server.stop()


@pytest.fixture
def state_env(web_state, monkeypatch):  # noqa: F811
    """The test's environment points at the web state (the workers fixture reads it)."""
    monkeypatch.setenv("RESYNC_DATABASE_URL", web_state.url)
    for key, value in database.dbt_environment(web_state.url).items():
        monkeypatch.setenv(key, value)
    return web_state


def sign_in(browser, web, name: str) -> None:  # noqa: F811
    browser.driver.get(web.url + "/")
    browser.wait_for("#user").send_keys(name)
    browser.find("#password").send_keys(PASSWORD)
    browser.find("#signin").click()
    browser.wait_for("#objects")


def options(browser, select: str) -> list[str]:  # noqa: F811
    return [o.text for o in browser.all(f"{select} option")]


def queue_as_owner(web_state, districts: list[str]) -> int:  # noqa: F811
    with database.transaction(web_state.url) as conn:
        return requests.submit_resync(conn, districts=districts, objects=["District"], check_dependencies=False,
                                      school_year=None).id


def test_a_state_user_requests_with_dependencies_and_sees_it_finish_live(browser, web, state_env, workers):  # noqa: F811
    writer = state_env.users["writer"]
    sign_in(browser, web, writer)
    assert browser.find("h1").text == (
        f"Resync Data For The Current School Year ({school_year_label(current_school_year())})")
    assert options(browser, "#districts") == ["Abbott (01)", "Campus (02)", "Cedar Valley (03)"]

    districts = Select(browser.find("#districts"))
    districts.select_by_visible_text("Abbott (01)")
    districts.select_by_visible_text("Campus (02)")
    browser.find("#check-dependencies").click()
    Select(browser.find("#objects")).select_by_value("AttDayAggregation")
    aggregation = catalog.resolve("AttDayAggregation")
    parents = [o.campus_name for o in catalog.with_dependencies([aggregation]) if o != aggregation]
    marked = [o.get_attribute("value") for o in browser.all("#objects option.dependency")]
    assert marked == parents  # the catalog's closure, which the lineage test holds equal to dbt's graph
    assert all("needed by AttDayAggregation" in o.text for o in browser.all("#objects option.dependency"))
    assert browser.find("#dependency-summary").text.startswith(f"Check dependencies adds {len(parents)} objects")
    browser.shot("parents-marked")

    before = state_env.requests()
    browser.find("#request-resync").click()
    dialog = browser.wait_for("#confirm", 90, "the confirmation")
    assert dialog.find_element("css selector", "#confirm-districts").text == "Abbott (01), Campus (02)"
    assert school_year_label(current_school_year()) in browser.find("#confirm-scope").text
    in_order = [row.get_attribute("data-object") for row in browser.all("#confirm-objects tbody tr")]
    assert in_order == [o.campus_name for o in resync.in_run_order([aggregation], True)]  # dbt's run order
    assert sorted(in_order) == sorted([*parents, "AttDayAggregation"])
    assert browser.all("#confirm-pulls tbody tr")  # the landing tables pulled first
    assert "Rows involved" in browser.find("#confirm-estimate").text
    assert state_env.requests() == before  # nothing is queued before OK
    browser.shot("confirmation")

    browser.find("#confirm-ok").click()
    browser.wait_for("#request-status")
    request_id = int(browser.driver.current_url.rsplit("/", 1)[1])
    assert request_row(state_env.url, request_id)["requested_by"] == writer  # the login role
    assert browser.data("#request-status", "status") == "queued"
    browser.driver.execute_script("window.stillThisPage = true")
    browser.shot("queued")

    workers.burst()  # a real worker, as resync_worker, runs it to the end
    # Read in one script: the live updates replace these elements as they come.
    wait_until(lambda: browser.data("#request-status", "status") == "succeeded", 60,
               "the page to show the request succeeded")
    states = browser.driver.execute_script(
        "return [...document.querySelectorAll('#progress-grid td.cell')]"
        ".map(c => c.dataset.district + ' ' + c.dataset.state)")
    assert set(states) == {"01 success", "02 success"} and len(states) == 2 * len(in_order)
    note = browser.wait_for(f"#notification-list li[data-request='{request_id}']", 30, "the notification")
    assert f"Request {request_id}" in note.text and "succeeded" in note.text
    assert browser.driver.execute_script("return window.stillThisPage") is True  # no reload
    browser.shot("finished-and-notified")

    browser.driver.get(web.url + "/history")
    assert browser.wait_for(f"#history tr[data-request='{request_id}']").text.startswith(str(request_id))
    browser.shot("history")

    # The attendance report of what was just resynced, with its charts (`resync report --html`'s page).
    with database.transaction(state_env.url) as conn:  # the reports' months too, then their views:
        months = resync.build_plan(conn, ["01", "02"], ["SchoolMonth"], False, None)  # an administrator's part
    assert resync.execute(months, state_env.url).ok
    reports.build_views(state_env.url, current_school_year())
    browser.driver.get(web.url + "/report")
    browser.driver.switch_to.frame(browser.wait_for("iframe#report"))
    charts = browser.wait_for("figure svg", what="the report's charts")
    assert charts.size["height"] > 20 and "Abbott" in browser.find("body").text
    browser.driver.switch_to.default_content()
    browser.shot("attendance-report")


def test_a_read_user_sees_everything_but_no_request_button(browser, web, state_env):  # noqa: F811
    queued = queue_as_owner(state_env, ["02"])
    sign_in(browser, web, state_env.users["analyst"])
    assert options(browser, "#districts") == ["Abbott (01)", "Campus (02)", "Cedar Valley (03)"]
    assert options(browser, "#objects")  # the data elements are there to see
    assert browser.all("#request-resync") == []
    assert "has the Read right" in browser.find("#read-only").text
    browser.shot("read-user-screen")

    # A request forged from the page (its own CSRF token) is refused by the database.
    _refused_and_nothing_queued(browser, state_env, ["01"], "has the Read right: requesting a resync needs Write.")
    browser.driver.get(web.url + "/history")
    assert browser.wait_for(f"#history tr[data-request='{queued}']")  # every district's requests
    browser.shot("read-user-history")
    browser.driver.get(web.url + "/freshness")
    assert browser.wait_for("#freshness tr[data-district='03'][data-object='Calendar']")
    browser.shot("read-user-freshness")
    browser.driver.get(web.url + "/verification")
    assert browser.wait_for("#verify-button") and browser.all("#repair-button") == []  # Verify, no Repair
    browser.shot("read-user-verification")


def test_a_district_user_sees_only_their_district(browser, web, state_env):  # noqa: F811
    theirs = queue_as_owner(state_env, ["02"])
    mine = queue_as_owner(state_env, ["01"])
    sign_in(browser, web, state_env.users["abbott"])
    assert options(browser, "#districts") == ["Abbott (01)"]
    assert browser.all("#request-resync")
    browser.shot("district-user-screen")

    _refused_and_nothing_queued(browser, state_env, ["02"], "may request districts 01 only, not 02.")
    browser.driver.get(web.url + "/history")
    browser.wait_for(f"#history tr[data-request='{mine}']")
    assert browser.all(f"#history tr[data-request='{theirs}']") == []
    browser.driver.get(f"{web.url}/requests/{theirs}")
    assert f"There is no request {theirs}" in browser.wait_for("#message").text
    browser.shot("district-user-cannot-see-02")
    browser.driver.get(web.url + "/verification")
    assert browser.wait_for("#repair-button") and options(browser, "#districts") == ["Abbott (01)"]
    browser.shot("district-user-verification")


def _refused_and_nothing_queued(browser, state, districts: list[str], sentence: str) -> None:  # noqa: F811
    """POST /plan and /requests for Calendar from the signed-in page with its CSRF token,
    bypassing the form's choices: both refused with `sentence`, nothing queued."""
    before = state.requests()
    for path in ("/plan", "/requests"):
        answer = browser.driver.execute_async_script("""
            const [path, districts, done] = arguments;
            const body = new URLSearchParams();
            body.append("csrf_token", document.querySelector("input[name=csrf_token]").value);
            districts.forEach(d => body.append("district", d));
            body.append("object", "Calendar");
            fetch(path, {method: "POST", body}).then(r => r.text()).then(done);
        """, path, districts)
        assert sentence in answer, answer
    assert state.requests() == before
