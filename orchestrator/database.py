"""Database access: the embedded PostgreSQL server, the URL everything uses, and connections."""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from . import settings
from .errors import ResyncError

# pgserver logs every step at INFO, and warns on every start when XDG_RUNTIME_DIR is unset (it
# then falls back to a folder under /tmp, which is fine): the CLI's users need neither.
logging.getLogger("pgserver").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


# --- the embedded server -------------------------------------------------------------------

def embedded_status(pgdata: Path | None = None) -> str | None:
    """The URL of the running embedded server, or None when it is not running."""
    from pgserver.utils import PostmasterInfo

    pgdata = pgdata or settings.embedded_pgdata()
    if not (pgdata / "PG_VERSION").exists():
        return None
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running() or info.status != "ready":
        return None
    return _embedded_url(info.socket_dir)


def _embedded_url(socket_dir) -> str:
    return f"postgresql://postgres:@/postgres?host={socket_dir}"


def start_embedded(pgdata: Path | None = None) -> str:
    """Start the embedded server (creating its data directory on first use); return its URL.

    The server keeps running after this process exits (cleanup_mode=None): it is a service that
    `resync db stop` ends.
    """
    import pgserver

    pgdata = settings.writable_folder(pgdata or settings.embedded_pgdata())
    try:
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as exc:  # pgserver raises plain subprocess errors
        raise ResyncError(f"The embedded database in {pgdata} could not start: {exc}") from exc
    return _embedded_url(server.get_postmaster_info().socket_dir)


def stop_embedded(pgdata: Path | None = None) -> bool:
    """Stop the embedded server; False when it was not running."""
    from pgserver._commands import pg_ctl

    pgdata = pgdata or settings.embedded_pgdata()
    if embedded_status(pgdata) is None:
        return False
    import os

    user = "pgserver" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    except Exception as exc:  # pgserver raises plain subprocess errors
        raise ResyncError(f"The embedded database in {pgdata} could not stop: {exc}") from exc
    return True


# --- the URL -------------------------------------------------------------------------------

def database_url(start: bool = True) -> str:
    """The URL of the database every command uses (see settings for the order).

    With the embedded server, `start` starts it when it is not running yet, so a command never
    fails only because nobody ran `resync db start` first.
    """
    url = settings.configured_database_url()
    if url:
        parse_url(url)
        return url
    running = embedded_status()
    if running:
        return running
    if not start:
        raise ResyncError("The embedded database is not running; start it with `resync db start`.")
    return start_embedded()


_NOT_A_URL = ("The database URL is not a PostgreSQL URL such as postgresql://user:password@host:5432/db"
              " (RESYNC_DATABASE_URL sets it).")


def parse_url(url: str) -> URL:
    """`url` parsed; anything but a PostgreSQL URL is a ResyncError (RESYNC_DATABASE_URL is typed
    by people). The message does not repeat the URL: it may hold a password."""
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError) as exc:  # no scheme; a port that is not a number
        raise ResyncError(_NOT_A_URL) from exc
    if parsed.drivername.split("+")[0] not in ("postgresql", "postgres"):
        raise ResyncError(_NOT_A_URL)
    return parsed


def sqlalchemy_url(url: str) -> URL:
    return parse_url(url).set(drivername="postgresql+psycopg")


def display_url(url: str) -> str:
    """`url` without its password (in the authority or as a `password` option): safe to print."""
    return _libpq_text(parse_url(url)._replace(password=None).difference_update_query(["password"]))


#: The URL's libpq options that dbt's profile passes itself, and the variables it reads them from
#: (dbt_project/profiles.yml): dbt gives libpq these explicitly, overriding libpq's variables.
_PROFILE_OPTIONS = {
    "host": "RESYNC_PGHOST", "port": "RESYNC_PGPORT", "user": "RESYNC_PGUSER", "password": "RESYNC_PGPASSWORD",
    "dbname": "RESYNC_PGDATABASE", "connect_timeout": "RESYNC_PGCONNECT_TIMEOUT",
    "keepalives_idle": "RESYNC_PGKEEPALIVES_IDLE", "application_name": "RESYNC_URL_APPNAME",
}
#: Every other libpq option, as the environment variable libpq reads it from when a connection
#: does not set it (dbt-postgres does not): so the sessions that move the data keep the URL's
#: sslmode, certificates, `options=-c ...` and the rest.
_LIBPQ_VARIABLES = {
    "hostaddr": "PGHOSTADDR", "passfile": "PGPASSFILE", "service": "PGSERVICE", "options": "PGOPTIONS",
    "client_encoding": "PGCLIENTENCODING", "sslmode": "PGSSLMODE", "sslnegotiation": "PGSSLNEGOTIATION",
    "sslcompression": "PGSSLCOMPRESSION", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
    "sslrootcert": "PGSSLROOTCERT", "sslcrl": "PGSSLCRL", "sslcrldir": "PGSSLCRLDIR", "sslsni": "PGSSLSNI",
    "ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION", "ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
    "requirepeer": "PGREQUIREPEER", "require_auth": "PGREQUIREAUTH", "channel_binding": "PGCHANNELBINDING",
    "gssencmode": "PGGSSENCMODE", "gssdelegation": "PGGSSDELEGATION", "gsslib": "PGGSSLIB",
    "krbsrvname": "PGKRBSRVNAME", "target_session_attrs": "PGTARGETSESSIONATTRS",
    "load_balance_hosts": "PGLOADBALANCEHOSTS",
}


def _option_text(value) -> str:
    # A URL may repeat an option (host=a&host=b); libpq takes such lists comma-separated.
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def dbt_environment(url: str) -> dict[str, str]:
    """The variables dbt_project/profiles.yml and libpq read, so dbt's sessions connect exactly as
    the CLI's do: the same server and database, and every libpq option of the URL."""
    parsed = parse_url(url)
    options = {key: _option_text(value) for key, value in parsed.query.items()}
    authority = {"host": parsed.host, "port": parsed.port, "user": parsed.username,
                 "password": parsed.password, "dbname": parsed.database}
    options.update({key: str(value) for key, value in authority.items() if value not in (None, "")})
    if "," in options.get("host", ""):
        raise ResyncError("dbt connects to one host: the database URL names several.")
    unknown = sorted(set(options) - set(_PROFILE_OPTIONS) - set(_LIBPQ_VARIABLES))
    if unknown:
        raise ResyncError(
            f"dbt's sessions cannot be given the database URL's option {', '.join(unknown)} (libpq reads"
            " no variable for it): set it in a connection service file and name it with service=.")
    defaults = {"host": "localhost", "port": "5432", "user": "postgres", "password": "", "dbname": "postgres"}
    environment = {variable: options.get(key, defaults.get(key))
                   for key, variable in _PROFILE_OPTIONS.items() if key in options or key in defaults}
    environment.update({variable: options[key] for key, variable in _LIBPQ_VARIABLES.items() if key in options})
    environment["RESYNC_STATE_SCHEMA"] = settings.STATE_SCHEMA
    environment["DBT_PROFILES_DIR"] = str(settings.dbt_project_dir())
    return environment


# --- connections ---------------------------------------------------------------------------

_engines: dict[str, Engine] = {}


def engine(url: str | None = None) -> Engine:
    """One pooled engine per URL for the life of the process (dispose_engine closes one)."""
    url = url or database_url()
    if url not in _engines:
        _engines[url] = sa.create_engine(sqlalchemy_url(url), pool_pre_ping=True, future=True)
    return _engines[url]


def dispose_engine(url: str) -> None:
    """Close the pooled connections to `url` (before its database is dropped or copied)."""
    cached = _engines.pop(url, None)
    if cached is not None:
        cached.dispose()


def error_reason(exc: BaseException) -> str:
    """The first line of a database error (the driver's own message when SQLAlchemy wraps one)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _unreachable(exc: BaseException) -> ResyncError:
    return ResyncError(f"The database could not be reached or failed: {error_reason(exc)}")


#: SQLSTATE of insufficient_privilege: a missing grant, a row-level security refusal, or a
#: refusal raised by the tool's own functions (orchestrator/sql/tool/060_rights.sql).
REFUSED = "42501"


def is_refusal(exc: BaseException) -> bool:
    """True when PostgreSQL refused the statement for lack of a right."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) == REFUSED


def refusal_sentence(exc: BaseException) -> str:
    """The refusal as one sentence: the tool's functions write sentences, PostgreSQL's grants don't."""
    reason = error_reason(exc)
    return reason if reason.endswith(".") else f"PostgreSQL refused: {reason}."


@contextlib.contextmanager
def transaction(url: str | None = None) -> Iterator[Connection]:
    """One transaction: committed when the block ends, rolled back (nothing half-written) on error."""
    try:
        with engine(url).begin() as conn:
            yield conn
    except sa.exc.OperationalError as exc:
        raise _unreachable(exc) from exc
    except Exception as exc:  # the driver's error, wrapped by SQLAlchemy or not (a raw cursor's)
        if is_refusal(exc):
            raise ResyncError(refusal_sentence(exc)) from exc
        raise


def libpq_url(url: str) -> str:
    """`url` as libpq reads it: a SQLAlchemy form such as postgresql+psycopg://... works too."""
    return _libpq_text(parse_url(url))


def _libpq_text(parsed: URL) -> str:
    """`parsed` written out for libpq. SQLAlchemy writes a space in an option as `+`, which libpq
    keeps as a plus (options=-c+search_path=x fails): here every option value is %-encoded."""
    options = "&".join(f"{quote(key, safe='')}={quote(value, safe='')}"
                       for key, values in parsed.query.items()
                       for value in (values if isinstance(values, tuple) else (values,)))
    base = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    return base + (f"?{options}" if options else "")


def connect(url: str, **kwargs):
    """A plain psycopg connection (for LISTEN, advisory locks, ...); kwargs go to psycopg.connect.

    A database that cannot be reached is a ResyncError, as with transaction().
    """
    import psycopg

    try:
        return psycopg.connect(libpq_url(url), **kwargs)
    except psycopg.OperationalError as exc:
        raise _unreachable(exc) from exc


async def connect_async(url: str, **kwargs):
    """connect() for asyncio: a psycopg AsyncConnection."""
    import psycopg

    try:
        return await psycopg.AsyncConnection.connect(libpq_url(url), **kwargs)
    except psycopg.OperationalError as exc:
        raise _unreachable(exc) from exc


async def listening(url: str, channels: list[str]):
    """An autocommit AsyncConnection that LISTENs on `channels`; iterate `.notifies()`, then close it."""
    conn = await connect_async(url, autocommit=True)
    try:
        for channel in channels:
            await conn.execute(f'listen "{channel}"')
    except BaseException:
        await conn.close()
        raise
    return conn


def check_reachable(url: str) -> None:
    with transaction(url) as conn:
        conn.execute(sa.text("select 1"))


def run_script(conn: Connection, script: str) -> None:
    """Run a multi-statement SQL file inside the connection's transaction.

    Through the driver's own cursor with no parameters, so `%` in the SQL (format('%I')) is
    not read as a placeholder.
    """
    with conn.connection.cursor() as cursor:
        cursor.execute(script)


# --- scratch databases (tests and benchmarks) -----------------------------------------------

def autocommit(url: str, *statements: str) -> None:
    """Run `statements` outside a transaction (create/drop database, vacuum), on a connection of
    their own."""
    engine = sa.create_engine(sqlalchemy_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def create_database(server_url: str, prefix: str = "resync_scratch", template_url: str | None = None) -> str:
    """A new, uniquely named database on the server of `server_url` (a copy of the database of
    `template_url` when given, which must then have no open connection); its URL."""
    import uuid

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    source = make_url(template_url).database if template_url else None
    template = f' template "{source}"' if source else ""
    admin = sa.create_engine(sqlalchemy_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'create database "{name}"{template}'))
            if source:
                # The copy has everything inside the database, but not the grants on the database
                # itself (the worker's role may create schemas there): copy those too.
                grants = conn.execute(sa.text(
                    "select a.privilege_type, a.grantee::regrole::text from pg_database d,"
                    " aclexplode(d.datacl) a where d.datname = :t and a.grantee <> 0 and a.grantee <> d.datdba"
                ), {"t": source}).all()
                for privilege, grantee in grants:
                    conn.execute(sa.text(f'grant {privilege} on database "{name}" to {grantee}'))
    finally:
        admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    """Drop the database of `url`, ending its sessions (ours first)."""
    dispose_engine(url)
    admin = sa.create_engine(sqlalchemy_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{make_url(url).database}" with (force)'))
    finally:
        admin.dispose()
