"""Acting as the tool's users in tests: through the CLI and through raw SQL (psycopg as that role).

Roles belong to the whole server while each test has a database of its own, so every test's
users carry a prefix of their own and are dropped when the test ends.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from orchestrator import database

#: The tests' users log in with it on a server that asks for a password (the embedded one does not).
PASSWORD = "resync-test-user"


class Users:
    def __init__(self, url: str, cli, monkeypatch):
        self.url = url  # the test database, as its owner (a superuser: the default administrator)
        self.prefix = f"u{uuid.uuid4().hex[:6]}_"
        self._cli = cli
        self._monkeypatch = monkeypatch
        self.names: list[str] = []

    def name(self, short: str) -> str:
        return self.prefix + short

    def add(self, short: str, *options: str) -> str:
        """`resync user add <prefix><short> <options>` as the owner; returns the role's name."""
        name = self.name(short)
        result = self._cli("user", "add", name, *options)
        assert result.exit_code == 0, result.output
        self.names.append(name)
        self.sql_as_owner(f'alter role "{name}" password \'{PASSWORD}\'')
        return name

    def login(self, name: str) -> str:
        return make_url(self.url).set(username=name, password=PASSWORD).render_as_string(hide_password=False)

    def cli(self, name: str, *args: str, input: str | None = None):
        """`resync <args>` logged in as `name` (RESYNC_DATABASE_URL names that role)."""
        with self._monkeypatch.context() as patch:
            patch.setenv("RESYNC_DATABASE_URL", self.login(name))
            return self._cli(*args, input=input)

    def sql(self, name: str, statement: str, *params: Any) -> list[tuple]:
        """One statement as `name`, in its own transaction; its rows."""
        with psycopg.connect(self.login(name), autocommit=True) as conn:
            cursor = conn.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else [(cursor.rowcount,)]

    def refused(self, name: str, statement: str, *params: Any,
                error: type[psycopg.Error] = psycopg.errors.InsufficientPrivilege) -> psycopg.Error:
        """PostgreSQL itself refuses `statement` run as `name`; returns the error."""
        with pytest.raises(error) as caught:
            self.sql(name, statement, *params)
        return caught.value

    def sql_as_owner(self, statement: str, *params: Any) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            cursor = conn.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []

    def drop_all(self) -> None:
        for name in self.names:
            database.dispose_engine(self.login(name))
            if self.sql_as_owner("select count(*) from pg_roles where rolname = %s", name)[0][0]:
                # What an administrator created (a district's source schema) is theirs.
                self.sql_as_owner(f'drop owned by "{name}"')
                self.sql_as_owner(f'drop role "{name}"')


def one_sentence(result) -> str:
    """A refused command: exit 1, one line, no traceback; returns the line."""
    text = result.output.strip()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    return text
