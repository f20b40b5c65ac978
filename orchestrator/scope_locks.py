"""Requests that touch the same (district, object) pairs never run at the same time.

Why not procrastinate's job `lock`: it is one string per job, and two jobs exclude each other only
when their strings are equal. A request touches a *set* of (district, model) pairs and two requests
conflict when their sets overlap, which one string cannot express (a lock per district would
serialize a Calendar resync behind an unrelated Behavior one; a lock per request shape would let
`01+02 Calendar` run beside `02 Calendar`).

So the worker takes one session-level advisory lock per pair, in sorted key order (two requests
wanting overlapping sets queue instead of deadlocking), on a connection of its own that it keeps
for the whole request. They are released when the request ends, or by the server when the
worker's connection dies with it. Unrelated requests take disjoint locks and run side by side.

The keys live in PostgreSQL's single-bigint advisory key space. The models' own
transaction-scoped locks (macros/district_replace.sql) use the two-int4 key space, which never
conflicts with this one, so a worker never waits on the locks its own dbt run takes.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterable

import psycopg

from . import database

_KEY_SQL = "select hashtextextended('resync-request/' || %s || '/' || %s, 0)"


class ScopeLocks:
    """The advisory locks of one request; `cancel()` (from another thread) interrupts a wait."""

    def __init__(self, url: str, pairs: Iterable[tuple[str, str]], application_name: str):
        self.pairs = sorted(set(pairs))
        self._url = url
        self._application_name = application_name
        self._conn: psycopg.Connection | None = None
        self._cancelled = threading.Event()

    def acquire(self, on_wait: Callable[[tuple[str, str]], None] | None = None) -> None:
        """Take every lock, waiting for other requests that hold some; raises when cancelled."""
        self._conn = database.connect(self._url, autocommit=True, application_name=self._application_name)
        keyed = sorted((self._conn.execute(_KEY_SQL, pair).fetchone()[0], pair) for pair in self.pairs)
        for key, pair in keyed:
            if self._cancelled.is_set():
                raise LockWaitCancelled()
            if self._conn.execute("select pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                continue
            if on_wait:
                on_wait(pair)
            try:
                self._conn.execute("select pg_advisory_lock(%s)", (key,))
            except psycopg.errors.QueryCanceled as exc:
                raise LockWaitCancelled() from exc

    def cancel(self) -> None:
        self._cancelled.set()
        conn = self._conn
        if conn is not None and not conn.closed:
            conn.cancel_safe()

    def release(self) -> None:
        """Closing the connection releases every session lock it holds."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class LockWaitCancelled(Exception):
    """The request was cancelled or the worker told to stop while it waited for its locks."""
