"""Queueing and cancelling requests through the database's own functions.

Users cannot write the request table or the queue's (procrastinate's, schema resync_queue):
resync.queue_request and resync.cancel_request, SECURITY DEFINER functions of the tool schema,
check the caller's rights and do the writes, so that raw SQL can do no more than the CLI.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import settings
from .refusals import refusals

_T = settings.TOOL_SCHEMA


def queue_request(conn: Connection, kind: str, selection: dict, plan: dict | None, *,
                  requested_by: str | None = None, schedule_name: str | None = None) -> int:
    """Insert the request and its procrastinate job (task resync.run_request); returns its id.

    The requester is the login role; `requested_by` names another one, for an administrator
    (--as) or the worker (a schedule's run) only.
    """
    with refusals():
        return int(conn.execute(sa.text(
            f"select {_T}.queue_request(:kind, cast(:selection as jsonb), cast(:plan as jsonb), :by, :schedule)"
        ), {"kind": kind, "selection": json.dumps(selection),
            "plan": json.dumps(plan, default=str) if plan is not None else None,
            "by": requested_by, "schedule": schedule_name}).scalar())


def cancel_request(conn: Connection, request_id: int, *, by: str | None = None) -> str:
    """Cancel a request (its requester or an administrator); returns its job's status after.

    'doing': a worker holds it and will stop it and record the outcome; anything else: it
    ended here, cancelled.
    """
    with refusals():
        return str(conn.execute(sa.text(f"select {_T}.cancel_request(:id, :by)"),
                                {"id": request_id, "by": by}).scalar())
