"""`resync db`: the embedded server's life cycle and its errors."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from orchestrator import database


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

    started = cli("db", "start")
    assert started.exit_code == 0, started.output
    assert str(resync_home / "pgdata") in started.output

    second = cli("db", "start")
    assert second.exit_code == 1
    assert second.output.strip() == f"Error: The embedded database in {resync_home / 'pgdata'} is already running."

    status = json.loads(cli("db", "status", "--json").output)
    assert status["kind"] == "embedded" and status["running"] is True
    url = cli("db", "url").output.strip()
    assert url == status["url"]
    database.check_reachable(url)

    exports = cli("db", "env").output
    assert "export RESYNC_PGDATABASE='postgres'" in exports and "export DBT_PROFILES_DIR=" in exports

    assert cli("db", "stop").exit_code == 0
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
    assert status == {"kind": "external", "url": database_url, "running": True, "pgdata": None}
