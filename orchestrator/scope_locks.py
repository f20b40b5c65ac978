"""Requests that touch the same (district, object) pairs never run at the same time.

Why not procrastinate's job `lock`: it is one string per job, and two jobs exclude each other only
when their strings are equal. A request touches a *set* of (district, model) pairs and two requests
conflict when their sets overlap, which one string cannot express (a lock per district would
serialize a Calendar resync behind an unrelated Behavior one; a lock per request shape would let
`01+02 Calendar` run beside `02 Calendar`).

So the worker takes one session-level advisory lock per pair, on a connection of its own that it
keeps for the whole request. It only *tries* them: a request that finds one held does not wait
on it (holding a worker while unrelated requests queue behind it), it lets go of all and goes
back to the queue saying whose request holds the pair (orchestrator.worker). Never waiting, two
requests can never deadlock. The locks are released when the request ends, or by the server when
the worker's connection dies with it. Unrelated requests take disjoint locks and run side by side.

The keys live in PostgreSQL's single-bigint advisory key space. The models' own
transaction-scoped locks (macros/district_replace.sql) use the two-int4 key space, which never
conflicts with this one, so a worker never waits on the locks its own dbt run takes.
"""

from __future__ import annotations

import re
from typing import Iterable

import psycopg

from . import database

_KEY_SQL = "select hashtextextended('resync-request/' || %s || '/' || %s, 0)"
#: The application_name of a request's lock session: whoever finds a pair held can say by whom.
_SESSION_NAME = "resync-request-{}-locks"
_SESSION_PATTERN = re.compile(r"^resync-request-(\d+)-locks$")
# A bigint advisory key shows in pg_locks as classid (high half), objid (low half), objsubid 1.
_HOLDER_SQL = (
    "select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid"
    " where l.locktype = 'advisory' and l.granted and l.objsubid = 1 and l.database ="
    " (select oid from pg_database where datname = current_database())"
    " and (l.classid::bigint << 32 | l.objid::bigint) = %s and l.pid <> pg_backend_pid()"
)


class ScopeLocks:
    """The advisory locks of one request."""

    def __init__(self, url: str, pairs: Iterable[tuple[str, str]], request_id: int):
        self.pairs = sorted(set(pairs))
        self._url = url
        self._application_name = _SESSION_NAME.format(request_id)
        self._conn: psycopg.Connection | None = None
        self._keys: dict[tuple[str, str], int] = {}

    def try_acquire(self) -> tuple[str, str] | None:
        """Take every lock, or none: returns None when all are held, else the first pair that
        another session holds (and then holds nothing)."""
        self._conn = database.connect(self._url, autocommit=True, application_name=self._application_name)
        for pair in self.pairs:
            key = self._conn.execute(_KEY_SQL, pair).fetchone()[0]
            self._keys[pair] = key
            if not self._conn.execute("select pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                self._conn.execute("select pg_advisory_unlock_all()")
                return pair
        return None

    def holder(self, pair: tuple[str, str]) -> int | None:
        """The request whose lock session holds `pair`, when it can be told (else None)."""
        if self._conn is None or pair not in self._keys:
            return None
        for (name,) in self._conn.execute(_HOLDER_SQL, (self._keys[pair],)).fetchall():
            found = _SESSION_PATTERN.match(name or "")
            if found:
                return int(found.group(1))
        return None

    def release(self) -> None:
        """Closing the connection releases every session lock it holds."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
