"""Where things are: the project's folders, the embedded database's home, the database URL.

Resolution order for the database, the same for the CLI, the worker and a plain `dbt` run:
1. RESYNC_DATABASE_URL, when set (a real deployment);
2. otherwise the embedded PostgreSQL whose data directory is $RESYNC_HOME/pgdata
   (RESYNC_HOME defaults to `.resync` in the project checkout).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ResyncError

PACKAGE_DIR = Path(__file__).resolve().parent
SQL_DIR = PACKAGE_DIR / "sql"

#: Schema holding the tool's own tables (district registry, requests, watermarks, ...).
TOOL_SCHEMA = "resync"
#: Schema holding the state tables that dbt builds.
STATE_SCHEMA = os.environ.get("RESYNC_STATE_SCHEMA", "state")


def project_dir() -> Path:
    """The checkout holding dbt_project/, models/ and macros/."""
    override = os.environ.get("RESYNC_PROJECT_DIR")
    if override:
        return Path(override).resolve()
    return PACKAGE_DIR.parent


def dbt_project_dir() -> Path:
    return project_dir() / "dbt_project"


def resync_home() -> Path:
    """Project-local folder for the embedded database and caches (documented in the README)."""
    return Path(os.environ.get("RESYNC_HOME") or project_dir() / ".resync").resolve()


def home_folder(*parts: str) -> Path:
    """A folder under RESYNC_HOME, created when missing (see writable_folder)."""
    return writable_folder(resync_home().joinpath(*parts))


def writable_folder(folder: Path) -> Path:
    """`folder`, created when missing; one that cannot be created or written is a ResyncError
    (naming RESYNC_HOME when it lies there), not a traceback from whatever first writes there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        usable = os.access(folder, os.W_OK | os.X_OK)
    except OSError as exc:
        usable, reason = False, exc.strerror or str(exc)
    else:
        reason = "permission denied"
    if usable:
        return folder
    home = resync_home()
    if folder.is_relative_to(home):
        raise ResyncError(f"RESYNC_HOME ({home}) cannot hold {folder.relative_to(home)}: {reason};"
                          " point RESYNC_HOME at a folder you can write to.")
    raise ResyncError(f"The folder {folder} cannot be used: {reason}.")


def embedded_pgdata() -> Path:
    return resync_home() / "pgdata"


def embedded_site_pgdata() -> Path:
    """The second embedded server: the demo's district sites, one database per district."""
    return resync_home() / "sites" / "pgdata"


def configured_sites_url() -> str | None:
    """The server the demo creates its district site databases on (a superuser URL), when one is
    configured with RESYNC_SITES_URL; else the embedded site server."""
    return os.environ.get("RESYNC_SITES_URL") or None


def configured_database_url() -> str | None:
    """The external database URL when one is configured, else None (use the embedded server)."""
    return os.environ.get("RESYNC_DATABASE_URL") or None
