"""`resync user`: users are PostgreSQL login roles with a right (a group role) and a district scope."""

from __future__ import annotations

import json

import psycopg
import pytest

from orchestrator import database, rights
from queue_helpers import query
from rights_helpers import PASSWORD, Users, one_sentence


@pytest.fixture
def users(generated_url, cli, monkeypatch):
    found = Users(generated_url, cli, monkeypatch)
    yield found
    found.drop_all()


def _listed(cli) -> dict[str, dict]:
    result = cli("user", "list", "--json")
    assert result.exit_code == 0, result.output
    return {u["name"]: u for u in json.loads(result.output)}


def _member(url: str, name: str, group: str) -> bool:
    return query(url, "select pg_has_role(%s, %s, 'MEMBER')", name, group)[0][0]


def test_add_list_change_and_remove_a_user(generated_url, cli, users):
    ana = users.name("ana")
    users.names.append(ana)
    added = cli("user", "add", ana, "--right", "write", "-d", "01")
    assert added.exit_code == 0 and f"Added {ana}: write, district level (01)." in added.output
    listed = _listed(cli)[ana]
    assert (listed["right"], listed["level"], listed["districts"], listed["created_by"]) == \
        ("write", "district", ["01"], "postgres")
    assert query(generated_url, "select rolcanlogin, rolsuper from pg_roles where rolname = %s", ana) == [(True, False)]
    assert _member(generated_url, ana, "resync_write") and not _member(generated_url, ana, "resync_admin")
    assert ana in cli("user", "list").output

    assert "(01, 02)" in cli("user", "grant", ana, "-d", "02").output
    assert "(02)" in cli("user", "revoke", ana, "-d", "01").output
    assert "would have no district left" in one_sentence(cli("user", "revoke", ana, "-d", "02"))
    assert cli("user", "set", ana, "--right", "read").exit_code == 0
    assert _member(generated_url, ana, "resync_read") and not _member(generated_url, ana, "resync_write")
    assert "An administrator has every district" in one_sentence(cli("user", "set", ana, "--right", "admin"))
    changed = cli("user", "set", ana, "--right", "admin", "--state-level")
    assert changed.exit_code == 0 and "admin, state level (every district)" in changed.output
    assert _listed(cli)[ana]["districts"] is None

    # `resync db url --user` logs in as that role.
    url = cli("db", "url", "--user", ana).output.strip()
    with psycopg.connect(url, password=PASSWORD) as conn:
        assert conn.execute("select session_user").fetchone()[0] == ana
    assert cli("db", "url", "--user", "resync_worker").output.strip().startswith("postgresql://resync_worker@")
    with database.transaction(generated_url) as conn:  # a deployment's URL: its password is not passed on
        assert rights.login_url(conn, "postgresql://owner:secret@db.example.org:5432/state", ana) \
            == f"postgresql://{ana}@db.example.org:5432/state"

    removed = cli("user", "remove", ana)
    assert removed.exit_code == 0 and "dropped their login role" in removed.output
    assert ana not in _listed(cli)
    assert query(generated_url, "select count(*) from pg_roles where rolname = %s", ana) == [(0,)]


def test_a_role_the_server_has_becomes_a_user_only_when_asked(generated_url, cli, users):
    plain = users.name("plain")
    users.names.append(plain)
    query(generated_url, f'create role "{plain}" login')
    refused = one_sentence(cli("user", "add", plain, "--right", "read"))
    assert f"A role named {plain} already exists on the server" in refused
    assert plain not in _listed(cli)
    assert cli("user", "add", plain, "--right", "read", "--existing-role").exit_code == 0
    assert _listed(cli)[plain]["right"] == "read"


@pytest.mark.parametrize("args, message", [
    (["add", "{taken}", "--right", "read"], "{taken} is a user already"),
    (["add", "bad\nname", "--right", "read"], "A user name is 1 to 63 characters, without control characters"),
    (["add", "tab\there", "--right", "read"], "A user name is 1 to 63 characters, without control characters"),
    (["add", "pg_reader", "--right", "read"], "pg_reader is a name reserved"),
    (["add", "{new}", "--right", "read", "-d", "01", "-d", "99"], "District 99 is not registered"),
    (["add", "{new}", "--right", "admin", "-d", "01"], "An administrator has every district"),
    (["grant", "{taken}", "-d", "99"], "District 99 is not registered"),
    (["set", "{taken}", "-d", "01", "--state-level"], "Give either --district or --state-level, not both."),
    (["remove", "{nobody}"], "There is no user {nobody}"),
    (["set", "{nobody}", "--right", "write"], "There is no user {nobody}"),
    (["grant", "{nobody}", "-d", "01"], "There is no user {nobody}"),
    (["remove", "bad\x07name"], "A user name is 1 to 63 characters"),
])
def test_bad_input_is_one_sentence_and_changes_nothing(generated_url, cli, users, args, message):
    taken = users.add("taken", "--right", "write", "-d", "02")
    names = {"taken": taken, "new": users.name("new"), "nobody": users.name("nobody")}
    users.names.append(names["new"])
    before = (_listed(cli), query(generated_url, "select rolname from pg_roles order by 1"))
    refused = one_sentence(cli("user", *[a.format(**names) for a in args]))
    assert message.format(**names) in refused
    assert (_listed(cli), query(generated_url, "select rolname from pg_roles order by 1")) == before


def test_unknown_user_for_a_login_url_and_removing_oneself(generated_url, cli, users):
    nobody = users.name("nobody")
    assert f"There is no user {nobody}" in one_sentence(cli("db", "url", "--user", nobody))
    boss = users.add("boss", "--right", "admin")
    assert "You cannot remove yourself" in one_sentence(users.cli(boss, "user", "remove", boss))
    assert boss in _listed(cli)
