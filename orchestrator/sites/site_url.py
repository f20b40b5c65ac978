"""A district site's URL: checked, and stored without its password.

The password of a site is the deployment's secret: libpq finds it in ~/.pgpass, PGPASSFILE or a
service file, so the registry (readable by every administrator) never holds it. Every other
libpq option of the URL (sslmode, sslrootcert, options, connect_timeout, ...) is kept verbatim.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import ResyncError

_SCHEMES = ("postgresql", "postgres")


def without_password(url: str) -> str:
    """`url` with any password removed (from the user part and from a password= option)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hosts = netloc.rsplit("@", 1)
        netloc = userinfo.split(":", 1)[0] + "@" + hosts
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key == "password" for key, _ in pairs):
            query = urlencode([(k, v) for k, v in pairs if k != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def check(url: str) -> str:
    """The URL as it will be stored (without password); ResyncError for anything libpq would refuse."""
    import psycopg.conninfo

    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url or ""):
        raise ResyncError("A site URL cannot contain control characters.")
    text = url.strip()
    if urlsplit(text).scheme not in _SCHEMES:
        raise ResyncError(
            "A site URL starts with postgresql://, e.g. postgresql://resync_reader@district.example.org/campus.")
    try:
        psycopg.conninfo.conninfo_to_dict(text)
    except psycopg.ProgrammingError as exc:
        raise ResyncError(f"The site URL is not valid: {str(exc).strip().splitlines()[0]}") from exc
    return without_password(text)
