"""The district registry: which districts the state syncs, and where each one's sources live."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import names, settings, sources
from .sites import site_url
from .errors import ResyncError

_CODE = re.compile(r"[A-Za-z0-9]{1,16}")
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class District:
    code: str
    name: str
    schema_name: str | None  # a schema of the state database that another tool keeps, or
    site_url: str | None = None  # the district's own server (stored without its password)

    @property
    def source(self) -> str:
        """Where its data is read from, for people."""
        return self.site_url if self.site_url else f"schema {self.schema_name}"

    def as_dict(self) -> dict:
        return {**asdict(self), "source": self.source}


def validate_code(code: str) -> str:
    if not _CODE.fullmatch(code or ""):  # not match(): `$` also matches before a final newline
        raise ResyncError(
            f"District code {code!r} is not valid: use 1 to 16 letters and digits, such as 01."
        )
    return code


def default_schema(code: str) -> str:
    return f"district_{code.lower()}"


def add(conn: Connection, code: str, name: str, schema: str | None = None, url: str | None = None,
        *, check_site: bool = True) -> District:
    """Register a district.

    With `url`, its data lives on its own PostgreSQL server (a site), read with the URL's role;
    the URL is stored without its password, and the site must answer and hold the source tables
    (unless `check_site` is false). Otherwise the sources are a schema of the state database:
    `schema`, which must exist and hold the source tables (a replica that another tool keeps), or
    by default district_<code>, created with every source table when it does not exist yet.
    """
    validate_code(code)
    name = names.check(name, "A district's name", if_empty="A district needs a name: pass --name.")
    if get(conn, code, required=False):
        raise ResyncError(f"District {code} is already registered.")
    if url is not None:
        if schema is not None:
            raise ResyncError("A district's data is at a site (--url) or in a schema (--schema), not both.")
        district = District(code, name, None, site_url.check(url))
        if check_site:
            _check_site(district)
        conn.execute(sa.text(
            f'insert into "{settings.TOOL_SCHEMA}".district (code, name, site_url) values (:c, :n, :u)'
        ), {"c": code, "n": name, "u": district.site_url})
        return district
    if schema is None:
        schema = default_schema(code)
        if not sources.schema_exists(conn, schema):
            sources.create_source_schema(conn, schema)
    elif not _SCHEMA.fullmatch(schema):
        raise ResyncError(f"Schema name {schema!r} is not valid: use lower-case letters, digits and _.")
    elif not sources.schema_exists(conn, schema):
        raise ResyncError(f"Schema {schema} does not exist in the state database.")
    missing = sources.missing_tables(conn, schema)
    if missing:
        raise ResyncError(f"Schema {schema} lacks the source tables {', '.join(missing)}.")
    taken = conn.execute(sa.text(
        f'select code from "{settings.TOOL_SCHEMA}".district where schema_name = :s'), {"s": schema}
    ).scalar()
    if taken:
        raise ResyncError(f"Schema {schema} already holds district {taken}.")
    conn.execute(sa.text(
        f'insert into "{settings.TOOL_SCHEMA}".district (code, name, schema_name) values (:c, :n, :s)'
    ), {"c": code, "n": name, "s": schema})
    return District(code, name, schema)


def _check_site(district: District) -> None:
    """The site answers with its role and has every source table (read in a read-only snapshot)."""
    from .sites.reader import SourceReader

    with SourceReader(district, state_url="") as source:
        found = source.describe(list(sources.SOURCE_TABLES))
    missing = [table for table, relation in found.items() if relation is None]
    if missing:
        raise ResyncError(f"The site of district {district.code} lacks the source tables {', '.join(missing)}.")


def get(conn: Connection, code: str, required: bool = True) -> District | None:
    row = conn.execute(sa.text(
        f'select code, name, schema_name, site_url from "{settings.TOOL_SCHEMA}".district where code = :c'
    ), {"c": code}).one_or_none()
    if row is None and required:
        raise ResyncError(f"District {code} is not registered; `resync district list` shows those that are.")
    return District(*row) if row else None


def list_all(conn: Connection) -> list[District]:
    rows = conn.execute(sa.text(
        f'select code, name, schema_name, site_url from "{settings.TOOL_SCHEMA}".district order by code'
    ))
    return [District(*r) for r in rows]


NONE_REGISTERED = "No districts are registered; add one with `resync district add`."


def resolve(conn: Connection, codes: Sequence[str] | None, *, none_registered: str = NONE_REGISTERED
            ) -> list[District]:
    """The districts a command acts on: those named by code, each once and in the order given
    (every code valid and registered), or without codes every registered district, by code.

    Raises ResyncError with `none_registered` when no codes are given and no district is registered.
    """
    if codes:
        unique = list(dict.fromkeys(codes))
        for code in unique:
            validate_code(code)
        return [get(conn, code) for code in unique]
    found = list_all(conn)
    if not found:
        raise ResyncError(none_registered)
    return found


def remove(conn: Connection, code: str) -> District:
    """Unregister a district. Its source (schema or site) and its rows at the state are left as
    they are; its copy in the landing is dropped (by the registry's trigger: the landing holds
    registered districts only)."""
    validate_code(code)
    district = get(conn, code)
    conn.execute(sa.text(f'delete from "{settings.TOOL_SCHEMA}".district where code = :c'), {"c": code})
    return district
