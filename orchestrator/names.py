"""Names people type and others read back: requesters (`--as`) and district names.

A name is shown in tables, histories and notifications, so it must be one line of printable text
of a sensible length: a carriage return in a requester's name once overwrote a line of `resync
history`, and a 120 KB name filled every screen it appeared on.
"""

from __future__ import annotations

from .errors import ResyncError
from .text_table import visible

#: Longer than any person's or district's name; short enough for a table column.
MAX_LENGTH = 200


def check(value: str | None, what: str, *, if_empty: str) -> str:
    """`value` without surrounding spaces, or ResyncError: `if_empty` when there is nothing left,
    else a sentence about `what` (e.g. "The requester's name")."""
    name = (value or "").strip()
    if not name:
        raise ResyncError(if_empty)
    if len(name) > MAX_LENGTH:
        raise ResyncError(f"{what} is {len(name):,} characters long; at most {MAX_LENGTH} are allowed.")
    if not name.isprintable():
        raise ResyncError(f"{what} '{visible(name)[:60]}' holds a line break or another control character;"
                          " use one line of plain text.")
    return name
