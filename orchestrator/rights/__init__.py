"""Tool rights: Read and Write, state level and district level, enforced by PostgreSQL.

Users are PostgreSQL login roles; their right is a group role (resync_read, resync_write,
resync_admin), their district scope a row of the tool schema; the worker is resync_worker. The
rules live in the database (sql/tool/060_rights.sql: grants, row-level security, and the
SECURITY DEFINER functions through which users queue and cancel), so a user's raw SQL gets no
more than the CLI gives. This package asks the database who is calling and what they may do,
and turns its refusals into sentences:

- caller: who is asking (`whoami`), `require_admin`, `acting_as` (--as);
- users: `resync user add | list | set | grant | revoke | remove`, and a user's login URL;
- queueing: queue and cancel requests through the database's functions.
"""

from .caller import ADMIN, READ, RIGHTS, WORKER, WRITE, Caller, acting_as, check_request, require_admin, require_worker, whoami
from .queueing import cancel_request, queue_request
from .users import User, add, ensure, get, grant_districts, list_all, login_url, remove, revoke_districts, set_

__all__ = [
    "ADMIN", "READ", "RIGHTS", "WORKER", "WRITE", "Caller", "User", "acting_as", "add", "cancel_request",
    "check_request", "ensure", "get", "grant_districts", "list_all", "login_url", "queue_request", "remove",
    "require_admin", "require_worker", "revoke_districts", "set_", "whoami",
]
