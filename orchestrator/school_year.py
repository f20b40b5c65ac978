"""School years: named by their end year (2025 is 2024-2025), each starting on July 1."""

from __future__ import annotations

import datetime

from .errors import ResyncError

#: The end years a run accepts (resync_school_year() in macros/resync_scope.sql checks the same).
MIN_SCHOOL_YEAR, MAX_SCHOOL_YEAR = 2000, 2100


def current_school_year(today: datetime.date | None = None) -> int:
    """End year of the current school year: from July 1 on, the next calendar year.

    The same rule as resync_school_year() in macros/resync_scope.sql; a plan always passes the
    year explicitly, so a run that starts just before midnight on June 30 keeps its year.
    """
    today = today or datetime.date.today()
    return today.year + 1 if today.month >= 7 else today.year


def first_day(end_year: int) -> datetime.date:
    """July 1 of the year before the end year: the school year's first day."""
    return datetime.date(end_year - 1, 7, 1)


def check_day(day: datetime.date) -> datetime.date:
    """`day` when it falls in a school year a run accepts, else a ResyncError."""
    if not MIN_SCHOOL_YEAR <= current_school_year(day) <= MAX_SCHOOL_YEAR:
        last = datetime.date(MAX_SCHOOL_YEAR, 6, 30)
        raise ResyncError(f"{day} is outside the school years this tool knows, {first_day(MIN_SCHOOL_YEAR)}"
                          f" to {last}.")
    return day


def school_year_label(end_year: int) -> str:
    """2025 -> "2024-2025"."""
    return f"{end_year - 1}-{end_year}"


def parse_school_year(text: str) -> int | None:
    """A school year typed or posted as text (a form field): None when empty (the current one),
    the end year when it is one, else a ResyncError; the range is checked where it is used."""
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        shown = text[:20].encode("unicode_escape").decode()
        raise ResyncError(f"School year {shown!r} is not a year: give the end year, such as {current_school_year()}.")
    return int(text)
