"""The tool's database functions refuse with one sentence; here it becomes a ResyncError."""

from __future__ import annotations

import contextlib
from typing import Iterator

from .. import database
from ..errors import ResyncError

#: SQLSTATEs the functions of sql/tool/060_rights.sql raise with a sentence for the user:
#: insufficient_privilege, invalid_parameter_value, no_data_found, duplicate_object,
#: dependent_objects_still_exist.
_SENTENCES = {"42501", "22023", "P0002", "42710", "2BP01"}


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        orig = getattr(exc, "orig", exc)
        if getattr(orig, "sqlstate", None) in _SENTENCES:
            raise ResyncError(database.refusal_sentence(exc)) from exc
        raise
