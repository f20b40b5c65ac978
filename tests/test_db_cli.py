"""`resync db`: the embedded server's life cycle and its errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from dbt_helpers import dbt
from orchestrator import database, migrations, registry


@pytest.fixture
def resync_home(monkeypatch):
    """An embedded database home of its own; the server is stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="resync-home-"))
    folder.chmod(0o755)  # the server runs as an unprivileged user when we are root
    monkeypatch.setenv("RESYNC_HOME", str(folder))
    monkeypatch.delenv("RESYNC_DATABASE_URL", raising=False)
    yield folder
    database.stop_embedded(folder / "pgdata")
    shutil.rmtree(folder, ignore_errors=True)


def test_start_status_url_stop(resync_home, cli):
    assert cli("db", "status").exit_code == 1  # not running yet

    started = cli("db", "start", "--json")
    assert started.exit_code == 0, started.output
    assert json.loads(started.output)["pgdata"] == str(resync_home / "pgdata")

    second = cli("db", "start")
    assert second.exit_code == 1
    assert second.output.strip() == f"Error: The embedded database in {resync_home / 'pgdata'} is already running."

    status = json.loads(cli("db", "status", "--json").output)
    assert status["kind"] == "embedded" and status["running"] is True
    url = cli("db", "url").output.strip()
    assert database.display_url(url) == status["url"]
    database.check_reachable(url)

    exports = cli("db", "env").output
    assert "export RESYNC_PGDATABASE=postgres" in exports and "export DBT_PROFILES_DIR=" in exports

    stopped = json.loads(cli("db", "stop", "--json").output)
    assert stopped == {"stopped": True, "pgdata": str(resync_home / "pgdata"), "sites_stopped": True}
    again = cli("db", "stop")
    assert again.exit_code == 1 and again.output.strip() == "Error: The embedded database is not running."


def test_commands_start_the_embedded_database_when_needed(resync_home, cli):
    listed = cli("district", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output) == []
    assert database.embedded_status(resync_home / "pgdata") is not None


def test_an_external_database_has_no_embedded_server_to_manage(database_url, cli):
    for action in ("start", "stop"):
        result = cli("db", action)
        assert result.exit_code == 1
        assert result.output.strip() == f"Error: RESYNC_DATABASE_URL is set, so there is no embedded database to {action}."
    status = json.loads(cli("db", "status", "--json").output)
    assert status == {"kind": "external", "url": database.display_url(database_url), "running": True, "pgdata": None}


#: A password a shell would break on, or obey: quotes, a command substitution, a variable.
NASTY_PASSWORD = "it's $(touch pwned) `touch pwned2` ${HOME} \"x\""


def _with_password(url: str, password: str) -> str:
    # The test server trusts local connections: any password connects, so the URL stays usable.
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def _with_options(url: str, **options: str) -> str:
    return make_url(url).update_query_dict(options).render_as_string(hide_password=False)


def test_status_never_prints_the_password(database_url, monkeypatch, cli):
    url = _with_options(_with_password(database_url, NASTY_PASSWORD), password="also-secret")
    monkeypatch.setenv("RESYNC_DATABASE_URL", url)
    text = cli("db", "status")
    document = cli("db", "status", "--json")
    assert text.exit_code == document.exit_code == 0, text.output
    for output in (text.output, document.output):
        assert "pwned" not in output and "also-secret" not in output
    assert json.loads(document.output)["url"] == database.display_url(url)
    assert make_url(json.loads(document.output)["url"]).database == make_url(database_url).database


def test_db_env_quotes_everything_it_prints(database_url, monkeypatch, cli, tmp_path):
    url = _with_options(_with_password(database_url, NASTY_PASSWORD), options="-c search_path='$user'")
    monkeypatch.setenv("RESYNC_DATABASE_URL", url)
    exports = cli("db", "env").output
    shell = subprocess.run(
        ["bash", "-c", 'eval "$1" && printf "%s\n%s" "$RESYNC_PGPASSWORD" "$PGOPTIONS"', "bash", exports],
        cwd=tmp_path, capture_output=True, text=True, check=True)
    assert shell.stdout == f"{NASTY_PASSWORD}\n-c search_path='$user'"
    assert list(tmp_path.iterdir()) == []  # nothing ran


def test_every_libpq_option_of_the_url_reaches_dbt(database_url):
    with database.transaction(database_url) as conn:
        migrations.ensure_tool_schema(conn)
        registry.add(conn, "01", "Abbott")
    # options=-c ... is a libpq option dbt's profile has no field for: a read-only session shows it arrived.
    read_only = _with_options(database_url, options="-c default_transaction_read_only=on")
    refused = dbt(read_only, "run", "--select", "district", expect_success=False, pull_first=False)
    assert not refused.success and "read-only transaction" in refused.error
    assert dbt(database_url, "run", "--select", "district").success  # the same run without the option
    environment = database.dbt_environment(_with_options(
        database_url, sslmode="verify-full", sslrootcert="/etc/ca.pem", connect_timeout="3", application_name="etl"))
    assert {k: environment[k] for k in ("PGSSLMODE", "PGSSLROOTCERT", "RESYNC_PGCONNECT_TIMEOUT",
                                        "RESYNC_URL_APPNAME")} == {
        "PGSSLMODE": "verify-full", "PGSSLROOTCERT": "/etc/ca.pem", "RESYNC_PGCONNECT_TIMEOUT": "3",
        "RESYNC_URL_APPNAME": "etl"}


def test_an_option_dbt_cannot_be_given_is_refused(database_url, monkeypatch, cli):
    monkeypatch.setenv("RESYNC_DATABASE_URL", _with_options(database_url, keepalives_count="3"))
    result = cli("db", "env")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("Error: dbt's sessions cannot be given the database URL's option keepalives_count")


def test_an_option_with_spaces_reaches_the_cli_sessions_too(database_url):
    # SQLAlchemy writes the space as '+', which libpq keeps: the server refused "-c+search_path".
    url = _with_options(database_url, options="-c search_path=probe -c statement_timeout=4321")
    with database.connect(url) as conn:
        assert conn.execute("show statement_timeout").fetchone()[0] == "4321ms"
        assert conn.execute("show search_path").fetchone()[0] == "probe"
