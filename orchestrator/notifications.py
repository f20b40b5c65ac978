"""What a requester is told when a request ends: stored for `resync inbox`, published with pg_notify.

The stored row is the notification of record (a requester who was not listening still finds it in
the inbox); the pg_notify on NOTIFICATION_CHANNEL, which carries its id only, lets a listening
client read and show it the moment the transaction that ended the request commits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import settings

if TYPE_CHECKING:
    from .requests import Request

NOTIFICATION_CHANNEL = "resync_notification"

_T = f'"{settings.TOOL_SCHEMA}"'


@dataclass
class Notification:
    id: int
    recipient: str
    request_id: int
    status: str
    message: str
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None

    def as_dict(self) -> dict:
        return {**asdict(self), "unread": self.unread}


def message_for(request: "Request") -> str:
    """One or two sentences: which request, what it was, how it ended, and why when it failed."""
    took = request.seconds()
    timing = f" in {took:g} s" if took is not None and request.status != "cancelled" else ""
    text = f"Request {request.id} ({request.describe()}) {request.status}{timing}."
    summary = _rows_summary(request.results)
    if summary:
        text += f" {summary}"
    if request.error:
        text += f" {request.error}"
    return text


def _rows_summary(results: dict | None) -> str:
    """`N rows replaced.` when the results say so (the shape is `resync run --json`'s)."""
    if not results:
        return ""
    total = results.get("rows_replaced")
    if total is None:
        rows = [item.get("rows_replaced") for item in results.get("objects", []) if isinstance(item, dict)]
        rows = [r for r in rows if isinstance(r, int)]
        total = sum(rows) if rows else None
    return f"{total:,} rows replaced." if isinstance(total, int) else ""


def send(conn: Connection, request: "Request", *, recipient: str | None = None) -> Notification:
    """Store the notification of a finished request for `recipient` (its requester unless said)
    and publish it."""
    message = message_for(request)
    row = conn.execute(sa.text(
        f"insert into {_T}.notification (recipient, request_id, status, message)"
        " values (:r, :q, :s, :m) returning id, recipient, request_id, status, message, created_at, read_at"
    ), {"r": recipient or request.requested_by, "q": request.id, "s": request.status, "m": message}).one()
    notification = Notification(**row._mapping)
    # The id alone: anyone may LISTEN; the text is read under row-level security (recipient only).
    conn.execute(sa.text("select pg_notify(:c, :p)"), {"c": NOTIFICATION_CHANNEL, "p": str(notification.id)})
    return notification


def inbox(conn: Connection, recipient: str, *, limit: int = 50, mark_read: bool = True) -> list[Notification]:
    """The recipient's notifications, newest first, each saying whether it was unread; then marks them read."""
    rows = conn.execute(sa.text(
        f"select id, recipient, request_id, status, message, created_at, read_at from {_T}.notification"
        " where recipient = :r order by id desc limit :n"
    ), {"r": recipient, "n": limit})
    found = [Notification(**r._mapping) for r in rows]
    unread = [n.id for n in found if n.unread]
    if mark_read and unread:
        conn.execute(sa.text(f"update {_T}.notification set read_at = now() where id = any(:ids)"), {"ids": unread})
    return found


def get(conn: Connection, notification_id: int, recipient: str) -> Notification | None:
    """One notification of `recipient` (None when it is someone else's or not visible to the
    caller: row-level security lets only its recipient and administrators read it)."""
    row = conn.execute(sa.text(
        f"select id, recipient, request_id, status, message, created_at, read_at from {_T}.notification"
        " where id = :id and recipient = :r"
    ), {"id": notification_id, "r": recipient}).one_or_none()
    return Notification(**row._mapping) if row else None


def unread_count(conn: Connection, recipient: str) -> int:
    return int(conn.execute(sa.text(
        f"select count(*) from {_T}.notification where recipient = :r and read_at is null"), {"r": recipient}
    ).scalar())
