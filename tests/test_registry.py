"""The district registry commands and their errors."""

from __future__ import annotations

import json

import sqlalchemy as sa

from orchestrator import database


def test_add_list_remove(database_url, cli):
    result = cli("district", "add", "01", "--name", "Abbott")
    assert result.exit_code == 0, result.output
    assert "district_01" in result.output
    assert cli("district", "add", "02", "--name", "Campus").exit_code == 0

    listed = json.loads(cli("district", "list", "--json").output)
    assert listed == [
        {"code": "01", "name": "Abbott", "schema_name": "district_01", "site_url": None, "source": "schema district_01"},
        {"code": "02", "name": "Campus", "schema_name": "district_02", "site_url": None, "source": "schema district_02"},
    ]
    text = cli("district", "list").output
    assert "Abbott" in text and "Campus" in text

    assert cli("district", "remove", "01").exit_code == 0
    listed = json.loads(cli("district", "list", "--json").output)
    assert [d["code"] for d in listed] == ["02"]
    # The source schema survives removal: it may be a replicated or foreign schema.
    with database.transaction(database_url) as conn:
        assert conn.execute(sa.text("select 1 from pg_namespace where nspname = 'district_01'")).scalar()


def test_code_stays_a_string(database_url, cli):
    assert cli("district", "add", "007", "--name", "Bond").exit_code == 0
    assert json.loads(cli("district", "list", "--json").output)[0]["code"] == "007"


def test_malformed_code_is_refused(database_url, cli):
    for bad in ("0-1", "a b", "", "x" * 17, "01;drop"):
        result = cli("district", "add", bad, "--name", "X")
        assert result.exit_code == 1
        assert "is not valid" in result.output
        assert "Traceback" not in result.output
    assert json.loads(cli("district", "list", "--json").output) == []


def test_duplicate_and_unknown(database_url, cli):
    assert cli("district", "add", "01", "--name", "Abbott").exit_code == 0
    dup = cli("district", "add", "01", "--name", "Again")
    assert dup.exit_code == 1 and "already registered" in dup.output
    unknown = cli("district", "remove", "99")
    assert unknown.exit_code == 1 and "not registered" in unknown.output


def test_missing_schema_is_refused_and_nothing_written(database_url, cli):
    result = cli("district", "add", "05", "--name", "Nowhere", "--schema", "no_such_schema")
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert json.loads(cli("district", "list", "--json").output) == []


def test_schema_without_source_tables_is_refused(database_url, cli):
    with database.transaction(database_url) as conn:
        conn.execute(sa.text("create schema half_empty; create table half_empty.calendar (x int)"))
    result = cli("district", "add", "05", "--name", "Half", "--schema", "half_empty")
    assert result.exit_code == 1
    assert "lacks the source tables" in result.output


def test_existing_schema_can_be_shared_once(database_url, cli):
    assert cli("district", "add", "01", "--name", "Abbott").exit_code == 0
    again = cli("district", "add", "02", "--name", "Copy", "--schema", "district_01")
    assert again.exit_code == 1 and "already holds district 01" in again.output


def test_unreachable_database(monkeypatch, cli):
    monkeypatch.setenv("RESYNC_DATABASE_URL", "postgresql://nobody:x@127.0.0.1:1/none")
    result = cli("district", "list")
    assert result.exit_code == 1
    assert "could not be reached" in result.output
    assert "Traceback" not in result.output
