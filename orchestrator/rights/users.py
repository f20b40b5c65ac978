"""The tool's users: PostgreSQL login roles with a right (a group role) and a district scope.

Adding, changing and removing users go through the tool schema's SECURITY DEFINER functions
(sql/tool/060_rights.sql), which only state-level administrators may use and which validate
everything (names, rights, registered districts) before changing anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url

from .. import settings
from ..errors import ResyncError
from .refusals import refusals

_T = settings.TOOL_SCHEMA
#: The worker's service role: not a user, but `resync db url --user` knows it.
SERVICE_ROLE = "resync_worker"


@dataclass(frozen=True)
class User:
    name: str
    right: str | None  # read, write or admin; None when the role was dropped outside the tool
    districts: tuple[str, ...] | None  # None: state level
    created_at: datetime
    created_by: str

    @property
    def level(self) -> str:
        return "state" if self.districts is None else "district"

    def scope(self) -> str:
        return "every district" if self.districts is None else ", ".join(self.districts) or "(none)"

    def as_dict(self) -> dict:
        return {**asdict(self), "level": self.level}


_SELECT = f"""
    select u.user_name, {_T}.right_of(u.user_name),
           case when not u.state_level then array(select d.district_code from {_T}.user_district d
                                                  where d.user_name = u.user_name order by 1) end,
           u.created_at, u.created_by
    from {_T}.user_scope u
"""


def _user(row) -> User:
    return User(name=row[0], right=row[1], districts=None if row[2] is None else tuple(row[2]),
                created_at=row[3], created_by=row[4])


def list_all(conn: Connection) -> list[User]:
    """Every user an administrator may see; anyone else sees themselves."""
    return [_user(r) for r in conn.execute(sa.text(_SELECT + " order by u.user_name"))]


def get(conn: Connection, name: str) -> User:
    row = conn.execute(sa.text(_SELECT + " where u.user_name = :n"), {"n": name}).one_or_none()
    if row is None:
        raise ResyncError(_unknown(name))
    return _user(row)


def add(conn: Connection, name: str, right: str, districts: Sequence[str] = (), *, existing_role: bool = False) -> User:
    """A new login role (no password: the server's authentication decides how it logs in), or
    with `existing_role` a role the server already has; state level unless districts are given."""
    with refusals():
        conn.execute(sa.text(f"select {_T}.add_user(:n, :r, cast(:d as text[]), :e)"),
                     {"n": name, "r": right, "d": list(dict.fromkeys(districts)), "e": existing_role})
    return get(conn, name)


def ensure(conn: Connection, name: str, right: str, districts: Sequence[str] = ()) -> User:
    """The user `name` as given: added unless this database has them (adopting the server's role
    of that name when there is one), their right and districts set when they do."""
    exists_here = conn.execute(sa.text(f"select count(*) from {_T}.user_scope where user_name = :n"),
                               {"n": name}).scalar()
    if exists_here:
        return set_(conn, name, right=right, districts=districts, state_level=not districts)
    role = conn.execute(sa.text("select count(*) from pg_roles where rolname = :n"), {"n": name}).scalar()
    return add(conn, name, right, districts, existing_role=bool(role))


def set_(conn: Connection, name: str, *, right: str | None = None, districts: Sequence[str] | None = None,
         state_level: bool = False) -> User:
    """Change a user's right, and their scope: exactly `districts`, or every district with
    `state_level`; what is not given stays."""
    if state_level and districts:
        raise ResyncError("Give either --district or --state-level, not both.")
    set_scope = state_level or bool(districts)
    with refusals():
        conn.execute(sa.text(f"select {_T}.set_user(:n, :r, :s, cast(:d as text[]))"),
                     {"n": name, "r": right, "s": set_scope,
                      "d": list(dict.fromkeys(districts)) if districts else None})
    return get(conn, name)


def grant_districts(conn: Connection, name: str, districts: Sequence[str]) -> User:
    """Add districts to a district-level user's scope."""
    user = _changeable(conn, name)
    if user.districts is None:
        raise ResyncError(f"{name} is state level and has every district already.")
    return set_(conn, name, districts=[*user.districts, *districts])


def revoke_districts(conn: Connection, name: str, districts: Sequence[str]) -> User:
    """Take districts from a district-level user's scope (never the last one)."""
    user = _changeable(conn, name)
    if user.districts is None:
        raise ResyncError(f"{name} is state level: `resync user set {name} --district CODE` narrows them"
                          " to some districts.")
    missing = [d for d in districts if d not in user.districts]
    if missing:
        raise ResyncError(f"{name} does not have district {', '.join(missing)}.")
    kept = [d for d in user.districts if d not in districts]
    if not kept:
        raise ResyncError(f"{name} would have no district left; `resync user remove {name}` removes the user.")
    return set_(conn, name, districts=kept)


def _changeable(conn: Connection, name: str) -> User:
    with refusals():
        conn.execute(sa.text(f"select {_T}.require_admin('change users'), {_T}.check_user_name(:n)"), {"n": name})
    return get(conn, name)


def remove(conn: Connection, name: str) -> None:
    """Drop the user's login role; their requests and notifications stay under their name."""
    with refusals():
        conn.execute(sa.text(f"select {_T}.remove_user(:n)"), {"n": name})


def login_url(conn: Connection, url: str, name: str) -> str:
    """`url` logging in as user `name` instead, without a password (on the embedded server none
    is asked; elsewhere libpq finds it in PGPASSWORD or ~/.pgpass)."""
    # Any user may ask (roles are no secret on the server: pg_roles is readable by all).
    if name != SERVICE_ROLE and conn.execute(sa.text(f"select {_T}.right_of(:n)"), {"n": name}).scalar() is None:
        raise ResyncError(_unknown(name))
    # URL.set would keep the password when given None.
    return make_url(url)._replace(username=name, password=None).render_as_string(hide_password=False)


def _unknown(name: str) -> str:
    printable = name if name.isprintable() else repr(name)
    return f"There is no user {printable}; `resync user list` shows them."
