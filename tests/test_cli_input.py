"""Bad input, as a new user or an attacker types it: one sentence and a non-zero exit, never a
traceback, nothing written; with --json, one JSON error document on stdout instead."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from orchestrator import database


def _query(url: str, statement: str):
    with database.transaction(url) as conn:
        return conn.execute(sa.text(statement)).all()


def _rows(url: str, table: str) -> int:
    """Rows in a tool table; 0 when the refused command left not even the tool schema."""
    if not _query(url, f"select to_regclass('resync.{table}') is not null")[0][0]:
        return 0
    return _query(url, f"select count(*) from resync.{table}")[0][0]


def _one_sentence(result, exit_code: int = 1) -> str:
    """The single error line of a refused command (click prints usage lines above a usage error)."""
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    return errors[0]


# --- values a command must refuse --------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (("district", "add", "05\n", "--name", "Newline"), "District code '05\\n' is not valid"),
    (("district", "add", "05", "--name", "Abbott\nEvil"), "A district's name 'Abbott\\nEvil' holds a line break"),
    (("district", "add", "05", "--name", "x" * 120_000), "A district's name is 120,000 characters long"),
    (("district", "add", "05", "--name", "ok", "--schema", "district_05\n"), "Schema name 'district_05\\n' is not valid"),
    (("demo", "generate", "--as-of", "0001-01-01"), "0001-01-01 is outside the school years this tool knows"),
    (("demo", "generate", "--as-of", "9999-12-31"), "9999-12-31 is outside the school years this tool knows"),
    (("demo", "setup", "--as-of", "9999-12-31"), "9999-12-31 is outside the school years this tool knows"),
    (("objects", "--tree", ""), "Unknown object ''"),
])
def test_bad_values_are_refused_in_one_sentence(database_url, cli, args, message):
    result = cli(*args)
    sentence = _one_sentence(result, exit_code=2 if "--as-of" in args else 1)
    assert message in sentence
    assert _rows(database_url, "district") == 0


@pytest.mark.parametrize("args", [
    ("worker", "--stalled-after", "inf"),
    ("worker", "--heartbeat", "nan", "--stalled-after", "nan"),
    ("worker", "--heartbeat", "nan"),
    ("worker", "--graceful-timeout", "inf"),
    ("request", "-d", "01", "-o", "Calendar", "--wait", "--timeout", "nan"),
    ("wait", "1", "--timeout", "nan"),
])
def test_seconds_must_be_a_finite_number(database_url, cli, args):
    # nan passed a FloatRange (it compares false with every bound) and waited for ever.
    sentence = _one_sentence(cli(*args), exit_code=2)
    assert "is not a number of seconds" in sentence
    assert _rows(database_url, "request") == 0


@pytest.mark.parametrize("name, message", [
    ("", "Invalid value for '--as': '' names nobody"),
    ("   ", "Invalid value for '--as': '' names nobody"),
    ("alice\rbob   2026-01-01 00:00:00  succeeded", "Invalid value for '--as': The name 'alice\\rbob"),
    ("alice\nbob", "Invalid value for '--as': The name 'alice\\nbob' holds a line break"),
    ("a" * 120_000, "Invalid value for '--as': The name is 120,000 characters long; at most 200 are allowed."),
])
def test_a_requester_name_is_one_line_of_text(generated_url, cli, name, message):
    for args in (("request", "-d", "01", "-o", "Calendar", "--as", name), ("inbox", "--as", name),
                 ("cancel", "1", "--as", name), ("schedule", "run-now", "weekly", "--as", name)):
        assert message in _one_sentence(cli(*args), exit_code=2), args
    assert _rows(generated_url, "request") == 0  # nothing queued


def test_a_stored_control_character_is_shown_escaped(generated_url, cli):
    # A row written before names were checked (or by hand) cannot overwrite a line of the table.
    assert cli("request", "-d", "01", "-o", "Calendar", "--school-year", "2024", "--as", "mallory", "--yes").exit_code == 0
    _query(generated_url, "update resync.request set requested_by = E'mallory\\r1  alice' returning id")
    shown = cli("history")
    assert shown.exit_code == 0 and "\r" not in shown.output
    assert "mallory\\r1  alice" in shown.output


def test_an_invalid_database_url_is_one_sentence(monkeypatch, cli):
    for url in ("notaurl", "mysql://user@host/db", "postgresql://host:port/db"):
        monkeypatch.setenv("RESYNC_DATABASE_URL", url)
        for args in (("district", "list"), ("db", "status"), ("db", "env")):
            sentence = _one_sentence(cli(*args))
            assert sentence == ("Error: The database URL is not a PostgreSQL URL such as"
                                " postgresql://user:password@host:5432/db (RESYNC_DATABASE_URL sets it).")


def test_an_unusable_resync_home_is_one_sentence(monkeypatch, cli, tmp_path, generated_url):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RESYNC_HOME", str(blocker / "home"))
    monkeypatch.delenv("DBT_TARGET_PATH")  # dbt's folders then live under RESYNC_HOME too
    monkeypatch.delenv("DBT_LOG_PATH")
    # With the embedded database, which lives there; with an external one, dbt's folders do.
    assert "cannot hold dbt" in _one_sentence(cli("run", "-d", "01", "-o", "Calendar", "--school-year", "2024", "--yes"))
    monkeypatch.delenv("RESYNC_DATABASE_URL")
    assert _one_sentence(cli("district", "list")) == (
        f"Error: RESYNC_HOME ({blocker / 'home'}) cannot hold pgdata: Not a directory;"
        " point RESYNC_HOME at a folder you can write to.")


# --- --json: one document on stdout, errors included ------------------------------------------

def _json_error(result, exit_code: int = 1) -> str:
    assert result.exit_code == exit_code, result.output
    document = json.loads(result.stdout)  # exactly one document
    assert set(document) == {"ok", "error"} and document["ok"] is False
    return document["error"]


def test_input_errors_with_json_are_a_json_document(generated_url, cli):
    assert _json_error(cli("run", "-d", "01", "-o", "Calender", "--json")).startswith(
        "Unknown object 'Calender'; `resync objects` lists them. Did you mean Calendar")
    assert _json_error(cli("request", "-d", "99", "-o", "Calendar", "--json")) == \
        "District 99 is not registered; `resync district list` shows those that are."
    assert _json_error(cli("run", "--json", "--school-year", "soon"), exit_code=2) == \
        "Invalid value for '--school-year': 'soon' is not a valid integer."
    assert _json_error(cli("db", "start", "--json")) == \
        "RESYNC_DATABASE_URL is set, so there is no embedded database to start."
    assert _json_error(cli("district", "remove", "99", "--json")).startswith("District 99 is not registered")
    # A value after --, or an option's value, is not the flag.
    assert not cli("objects", "--tree", "Nothing").stdout.startswith("{")


def test_more_commands_speak_json(generated_url, cli):
    added = cli("district", "add", "05", "--name", "Eastwood", "--json")
    assert json.loads(added.stdout) == {"code": "05", "name": "Eastwood", "schema_name": "district_05",
                                        "site_url": None, "source": "schema district_05"}
    removed = cli("district", "remove", "05", "--json")
    assert json.loads(removed.stdout)["code"] == "05"
    assert json.loads(cli("db", "url", "--json").stdout) == {"url": generated_url}
    environment = json.loads(cli("db", "env", "--json").stdout)
    assert environment["RESYNC_PGDATABASE"] == database.parse_url(generated_url).database
    changed = json.loads(cli("schedule", "set", "nightly", "--disable", "--json").stdout)
    assert changed["name"] == "nightly" and changed["enabled"] is False
