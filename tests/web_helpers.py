"""A small state for the web page's tests: three districts generated for the current school year
(the page resyncs the current one), and three users: a state-level Write user, a Write user of
district 01, a state-level Read user.

Roles belong to the whole server, so the users carry a prefix of their own and are dropped with
the database.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from orchestrator import database, demo_data, queue, registry, rights
from rights_helpers import PASSWORD

DISTRICTS = (("01", "Abbott"), ("02", "Campus"), ("03", "Cedar Valley"))
#: Small districts keep the browser tests fast; enough for every object to have rows.
SCHOOLS, STUDENTS = 1, 12
USERS = {"writer": ("write", ()), "abbott": ("write", ("01",)), "analyst": ("read", ())}


@dataclass
class WebState:
    url: str  # the database as its owner (a superuser: an administrator)
    users: dict[str, str]  # short name -> role name

    def login(self, short: str) -> str:
        return make_url(self.url).set(username=self.users[short], password=PASSWORD).render_as_string(
            hide_password=False)

    def requests(self) -> int:
        with database.transaction(self.url) as conn:
            return int(conn.execute(sa.text("select count(*) from resync.request")).scalar())


@pytest.fixture(scope="module")
def web_state(server_url):
    url = database.create_database(server_url, prefix="resync_test_web")
    prefix = f"w{uuid.uuid4().hex[:6]}_"
    names = {short: prefix + short for short in USERS}
    try:
        with database.transaction(url) as conn:
            queue.ensure_queue_schema(conn)
            districts = [registry.add(conn, code, name) for code, name in DISTRICTS]
        demo_data.generate(url, districts, schools=SCHOOLS, students=STUDENTS, seed=7)  # as of today
        with database.transaction(url) as conn:
            for short, (right, codes) in USERS.items():
                rights.add(conn, names[short], right, codes)
                conn.execute(sa.text(f"alter role \"{names[short]}\" password '{PASSWORD}'"))
        yield WebState(url, names)
    finally:
        for name in names.values():
            database.dispose_engine(make_url(url).set(username=name, password=PASSWORD).render_as_string(
                hide_password=False))
        database.drop_database(server_url, url)
        engine = sa.create_engine(database.sqlalchemy_url(server_url), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in names.values():
                conn.execute(sa.text(f'drop role if exists "{name}"'))
        engine.dispose()


def csrf_token(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)
