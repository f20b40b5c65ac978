"""What `resync freshness` and `resync verify` look at: objects and school year, checked once."""

from __future__ import annotations

from .. import catalog, resync, state_config
from ..catalog import CampusObject
from ..errors import ResyncError
from ..school_year import MAX_SCHOOL_YEAR, MIN_SCHOOL_YEAR, current_school_year


def chosen_objects(names: list[str]) -> list[CampusObject]:
    """The named objects in run order; without names, every object the state subscribes to."""
    config = state_config.load()
    if not names:
        return config.subscribed_objects()
    chosen = resync.in_run_order([catalog.resolve(n) for n in names], check_dependencies=False)
    for obj in chosen:
        if not config.subscribes(obj):
            raise ResyncError(f"{config.name} does not subscribe to {obj.campus_name}, so the state holds none of it.")
    return chosen


def school_year(year: int | None) -> int:
    """`year` checked, or the current school year."""
    chosen = current_school_year() if year is None else int(year)
    if not MIN_SCHOOL_YEAR <= chosen <= MAX_SCHOOL_YEAR:
        raise ResyncError(f"School year {chosen} is out of range: give the end year, such as {current_school_year()}.")
    return chosen
