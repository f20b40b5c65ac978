"""Tests talk to a real PostgreSQL.

By default an embedded server (pgserver) started once per session in a temporary folder;
RESYNC_TEST_DATABASE_URL, or the usual PG* variables, point the suite at another server.
Each test that asks for `database_url` gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from orchestrator import catalog, database, demo_data, migrations, queue, registry, settings
from orchestrator.cli import main

import generated_data


def _server_from_environment() -> str | None:
    if os.environ.get("RESYNC_TEST_DATABASE_URL"):
        return os.environ["RESYNC_TEST_DATABASE_URL"]
    if os.environ.get("PGHOST") or os.environ.get("PGDATABASE"):
        user = os.environ.get("PGUSER", "postgres")
        password = os.environ.get("PGPASSWORD", "")
        host = os.environ.get("PGHOST", "localhost")
        port = os.environ.get("PGPORT", "5432")
        dbname = os.environ.get("PGDATABASE", "postgres")
        if host.startswith("/"):
            return f"postgresql://{user}:{password}@/{dbname}?host={host}&port={port}"
        return f"postgresql://{user}:{password}@{host}:{port}/{dbname}"
    return None


@pytest.fixture(scope="session", autouse=True)
def isolated_dbt_paths(tmp_path_factory):
    """dbt's target/ and logs/ per test session, so parallel sessions never share a manifest."""
    folder = tmp_path_factory.mktemp("dbt")
    saved = {k: os.environ.get(k) for k in ("DBT_TARGET_PATH", "DBT_LOG_PATH")}
    os.environ["DBT_TARGET_PATH"] = str(folder / "target")
    os.environ["DBT_LOG_PATH"] = str(folder / "logs")
    yield folder
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session", autouse=True)
def isolated_resync_home():
    """RESYNC_HOME in a throwaway folder for the session, so that no test reaches the checkout's
    .resync (a developer's demo state) through a database URL left unset; an embedded server that
    something starts there anyway is stopped at the end. Tests that need a home of their own set it."""
    if os.environ.get("RESYNC_HOME"):
        yield None
        return
    # Under /tmp with open permissions: the server runs as an unprivileged user when we are root.
    home = Path(tempfile.mkdtemp(prefix="resync-home-"))
    home.chmod(0o755)
    os.environ["RESYNC_HOME"] = str(home)
    yield home
    os.environ.pop("RESYNC_HOME", None)
    for pgdata in (home / "pgdata", home / "sites" / "pgdata"):
        if pgdata.exists():
            database.stop_embedded(pgdata)
    shutil.rmtree(home, ignore_errors=True)


def _embedded_server(prefix: str):
    """A throwaway embedded server in a temporary folder; (url, pgdata)."""
    # Under /tmp with open permissions: the server runs as an unprivileged user when we are root.
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    pgdata = folder / "pgdata"
    url = database.start_embedded(pgdata)
    admin = sa.create_engine(database.sqlalchemy_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(sa.text(f"alter system set {setting} = off"))
        conn.execute(sa.text("select pg_reload_conf()"))
    admin.dispose()
    return url, pgdata, folder


@pytest.fixture(scope="session")
def server_url():
    external = _server_from_environment()
    if external:
        yield external
        return
    url, pgdata, folder = _embedded_server("resync-test-")
    yield url
    database.stop_embedded(pgdata)
    shutil.rmtree(folder, ignore_errors=True)


#: Prefix of every scratch database the tests create.
TEST_PREFIX = "resync_test"


@pytest.fixture
def database_url(server_url, monkeypatch):
    """A fresh, empty database on the test server; the CLI and dbt are pointed at it."""
    url = database.create_database(server_url, prefix=TEST_PREFIX)
    monkeypatch.setenv("RESYNC_DATABASE_URL", url)
    for key, value in database.dbt_environment(url).items():
        monkeypatch.setenv(key, value)
    yield url
    database.drop_database(server_url, url)


class GeneratedTemplate:
    """A database holding the demo districts with generated sources; tests get clones of it."""

    def __init__(self, server_url: str, url: str):
        self.server_url = server_url
        self.url = url

    def clone(self) -> str:
        """A new database copied from the template (CREATE DATABASE ... TEMPLATE: no regeneration)."""
        return database.create_database(self.server_url, prefix=TEST_PREFIX, template_url=self.url)

    def drop(self, url: str) -> None:
        database.drop_database(self.server_url, url)


@pytest.fixture(scope="session")
def generated_template(server_url):
    """The demo districts 01, 02, 03 with sources generated as tests/generated_data.py says, once."""
    url = database.create_database(server_url, prefix=TEST_PREFIX)
    with database.transaction(url) as conn:
        # The queue too, as an administrator's first command installs it: workers log in as
        # resync_worker, which may not.
        queue.ensure_queue_schema(conn)
        districts = [registry.add(conn, code, name) for code, name, _ in generated_data.DISTRICTS]
    demo_data.generate(url, districts, schools=generated_data.SCHOOLS, students=generated_data.STUDENTS,
                       school_year=generated_data.SCHOOL_YEAR, seed=generated_data.SEED,
                       as_of=generated_data.AS_OF)
    # A template must have no open connections when it is copied.
    database.dispose_engine(url)
    yield GeneratedTemplate(server_url, url)
    database.drop_database(server_url, url)


@pytest.fixture
def generated_url(generated_template, monkeypatch):
    """Like `database_url`, but holding the three generated demo districts (a fresh copy per test)."""
    url = generated_template.clone()
    monkeypatch.setenv("RESYNC_DATABASE_URL", url)
    for key, value in database.dbt_environment(url).items():
        monkeypatch.setenv(key, value)
    yield url
    generated_template.drop(url)


@pytest.fixture(scope="session")
def state_template(generated_template):
    """The generated districts with every state table and report view built (`dbt run` after a
    pull), to copy from."""
    from dbt_helpers import dbt

    url = generated_template.clone()
    dbt(url, "run", school_year=generated_data.SCHOOL_YEAR)
    database.dispose_engine(url)  # a template must have no open connection when it is copied
    yield url
    generated_template.drop(url)


@pytest.fixture
def state_url(server_url, state_template, monkeypatch):
    """A fresh copy of the built template; the CLI and dbt point at it."""
    url = database.create_database(server_url, prefix=TEST_PREFIX, template_url=state_template)
    monkeypatch.setenv("RESYNC_DATABASE_URL", url)
    for key, value in database.dbt_environment(url).items():
        monkeypatch.setenv(key, value)
    yield url
    database.drop_database(server_url, url)


@pytest.fixture
def project_copy(tmp_path, monkeypatch):
    """A copy of the dbt project (models, macros, seeds shared) whose dbt_project.yml a test rewrites:
    configure({old: new, ...}) replaces text of the real one; the CLI and dbt then use the copy."""
    project = tmp_path / "project"
    (project / "dbt_project").mkdir(parents=True)
    for folder in ("models", "macros", "seeds", "tests"):
        (project / folder).symlink_to(settings.project_dir() / folder)
    shutil.copy(settings.dbt_project_dir() / "profiles.yml", project / "dbt_project" / "profiles.yml")
    source = (settings.dbt_project_dir() / "dbt_project.yml").read_text()
    monkeypatch.setenv("RESYNC_PROJECT_DIR", str(project))

    def configure(replacements: dict[str, str]) -> None:
        text = source
        for old, new in replacements.items():
            assert old in text, old
            text = text.replace(old, new)
        (project / "dbt_project" / "dbt_project.yml").write_text(text)

    return configure


@pytest.fixture
def state_without_attendance(project_copy):
    """A project whose state (Utah here) subscribes to everything but the attendance objects."""
    subscribed = [o.campus_name for o in catalog.load() if not o.attendance_object]
    project_copy({"state_name: Demo State": "state_name: Utah",
                  "subscribed_objects: all": f"subscribed_objects: [{', '.join(subscribed)}]"})


@pytest.fixture
def cli():
    """Invoke `resync ...` in-process; returns click's Result."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture(scope="session")
def site_server_url():
    """A second server, the district sites: one database per district, as `make demo` has."""
    external = os.environ.get("RESYNC_TEST_SITE_URL")
    if external:
        yield external
        return
    url, pgdata, folder = _embedded_server("resync-test-sites-")
    yield url
    database.stop_embedded(pgdata)
    shutil.rmtree(folder, ignore_errors=True)


class SiteDistricts:
    """The state database of a test and its districts' site databases on the site server."""

    def __init__(self, state_url: str, site_server: str):
        self.state_url = state_url
        self.site_server = site_server
        self.sites: dict[str, str] = {}  # code -> superuser URL of its site database

    def add(self, code: str, name: str) -> registry.District:
        """A new site database for district `code`, registered at the state with its reader URL."""
        import uuid
        from orchestrator.demo_data import site_databases

        database_name = f"{TEST_PREFIX}_site_{code.lower()}_{uuid.uuid4().hex[:8]}"
        reader = site_databases.create_district_database(self.site_server, code, database_name)
        self.sites[code] = sa.make_url(self.site_server).set(database=database_name).render_as_string(
            hide_password=False)
        with database.transaction(self.state_url) as conn:
            migrations.ensure_tool_schema(conn)
            return registry.add(conn, code, name, url=reader)

    def drop(self) -> None:
        for url in self.sites.values():
            database.drop_database(self.site_server, url)


@pytest.fixture
def site_districts(database_url, site_server_url):
    """Register districts whose data is on the site server: `site_districts.add("01", "Abbott")`."""
    sites = SiteDistricts(database_url, site_server_url)
    yield sites
    sites.drop()


@pytest.fixture
def demo_sites(site_server_url, monkeypatch):
    """`resync demo setup` creates its district databases on the test's site server, and they are
    dropped afterwards: superuser URLs of district_01 .. district_03."""
    from orchestrator.demo_data import site_databases

    monkeypatch.setenv("RESYNC_SITES_URL", site_server_url)
    urls = {code: sa.make_url(site_server_url).set(database=site_databases.database_name(code)).render_as_string(
        hide_password=False) for code, _ in demo_data.DEMO_DISTRICTS}
    yield urls
    for url in urls.values():
        database.drop_database(site_server_url, url)


# --- running in parallel (`make test`: pytest -n auto, each worker a process of its own) ------

def _external_servers() -> bool:
    return bool(_server_from_environment() or os.environ.get("RESYNC_TEST_SITE_URL"))


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_auto_num_workers(config):
    """`-n auto`: xdist's count (one worker per CPU), each worker with embedded servers of its
    own; none (one process, as without -n) on servers given from outside, where the workers would
    share roles (they are cluster-wide) and the demo's site databases (their names are fixed)."""
    if _external_servers() and not os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return 0
    return None


#: The test files that take longest, longest first (measured on a loaded 2-core machine). With
#: `--dist loadfile` a file runs on one worker, in collection order: these start first, so that the
#: workers finish together rather than one waiting while the other runs a long file last.
LONGEST_FIRST = ("test_verify.py", "test_readme.py", "test_state_models.py", "test_worker.py",
                 "test_incremental_aggregation.py", "test_resync_cli.py", "test_pull.py", "test_state_partitions.py",
                 "test_changed_only_pull.py", "test_weekly_sync.py",
                 "test_report_command.py", "test_schedules.py", "test_web_browser.py", "test_web.py")


def pytest_collection_modifyitems(items):
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file keeps its order


def pytest_sessionfinish(session):
    """A worker hands its screenshot folders to the controller, which prints the summary."""
    import browser_helpers

    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["screenshot_folders"] = [str(folder) for folder in browser_helpers.SCREENSHOT_FOLDERS]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    import browser_helpers

    output = getattr(node, "workeroutput", None) or {}
    browser_helpers.SCREENSHOT_FOLDERS.extend(Path(f) for f in output.get("screenshot_folders", []))


def pytest_terminal_summary(terminalreporter):
    """Name the folders of the screenshots the browser tests took (tests/browser_helpers.py)."""
    import browser_helpers

    for folder in browser_helpers.SCREENSHOT_FOLDERS:
        shots = sorted(folder.rglob("*.png"))
        if shots:
            terminalreporter.write_line(f"Web page screenshots ({len(shots)}): {folder}")
