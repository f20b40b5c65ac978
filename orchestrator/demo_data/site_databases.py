"""The demo's district sites: one database per district on a second embedded PostgreSQL server.

`make demo` starts that server (settings.embedded_site_pgdata, managed by `resync db`), creates a
database per demo district with the source tables of a District Edition, and a login role
`resync_reader` that may only connect and read. The state registers each district with a URL for
that role, so a pull reads the site as it would read a real district's server; the generator and
`resync demo change` write there as the server's superuser, as the district's own application would.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import Connection, make_url

from .. import database, settings, sources
from ..errors import ResyncError
from ..registry import District

#: The role a state reads the demo sites with: connect and select, nothing else.
READER = "resync_reader"
#: Where a site database keeps its tables (a district's own application schema).
SITE_SCHEMA = "public"


def server_url(start: bool = True) -> str:
    """The superuser URL of the site server: RESYNC_SITES_URL, else the embedded one (started when
    `start` and not running)."""
    if settings.configured_sites_url():
        return settings.configured_sites_url()
    pgdata = settings.embedded_site_pgdata()
    running = database.embedded_status(pgdata)
    if running or not start:
        if running is None:
            raise ResyncError("The embedded site server is not running; start it with `resync db start`.")
        return running
    return database.start_embedded(pgdata)


def database_name(code: str) -> str:
    return f"district_{code.lower()}"


def create_district_database(server: str, code: str, name: str | None = None) -> str:
    """A site database for district `code` (named `name`, default district_<code>) with the source
    tables (kept when it exists); the URL the state reads it with (role resync_reader, no
    password: the embedded server trusts local connections)."""
    name = name or database_name(code)
    with psycopg.connect(database.libpq_url(server), autocommit=True) as admin:
        if not admin.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        if not admin.execute("select 1 from pg_roles where rolname = %s", (READER,)).fetchone():
            admin.execute(sql.SQL("create role {} login").format(sql.Identifier(READER)))
    site = make_url(server).set(database=name).render_as_string(hide_password=False)
    with database.transaction(site) as conn:
        if sources.missing_tables(conn, SITE_SCHEMA):
            sources.create_source_tables(conn, SITE_SCHEMA)
        reader = sql.Identifier(READER).as_string(None)
        conn.execute(sa.text(f'grant connect on database "{name}" to {reader}'))
        conn.execute(sa.text(f"grant usage on schema {SITE_SCHEMA} to {reader}"))
        conn.execute(sa.text(f"grant select on all tables in schema {SITE_SCHEMA} to {reader}"))
        conn.execute(sa.text(f"alter default privileges in schema {SITE_SCHEMA} grant select on tables to {reader}"))
    database.dispose_engine(site)
    return make_url(server).set(username=READER, password=None, database=name).render_as_string(hide_password=False)


@contextlib.contextmanager
def district_source(state_conn: Connection, district: District) -> Iterator[tuple[Connection, str]]:
    """(connection in a transaction, schema) where demo data of `district` is written: its schema
    in the state database (on `state_conn`, the caller's transaction), or its site database when
    that is on a local embedded server (a transaction of its own, committed when the block ends)."""
    if district.site_url is None:
        yield state_conn, district.schema_name
        return
    url = make_url(district.site_url)
    host = url.query.get("host") or url.host or ""
    if isinstance(host, tuple):
        host = host[0]
    if not str(host).startswith("/"):
        raise ResyncError(
            f"District {district.code}'s site is not a local embedded server: demo data is written only"
            " there or to schema districts, never to a real district's database.")
    writer = url.set(username="postgres", password=None).render_as_string(hide_password=False)
    with database.transaction(writer) as conn:
        yield conn, SITE_SCHEMA
