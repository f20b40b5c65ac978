"""The landing's keys per range, kept from one changed-only pull of a table for the next.

A changed-only pull finds deletes by counting a table's keys per range (key >> KEY_BITS) at the
district and in the landing, and reading the keys of the ranges that differ (pull._apply_vanished).
After it the landing holds, range for range, as many keys as the district counted. Kept with the
pull's snapshot (resync.pull_snapshot, in the same transaction), those counts stay the landing's
until the next pull of the table, because only pulls write the landing; that pull adds the keys
its changed rows bring into the year (new keys, or rows moved from another year) instead of
counting the landing again: in the largest district a scan of 23 million rows, 5 to 10 s of each
nightly run. Any other pull of the table (full, first, another school year, which may move rows
between years) leaves no counts, so the landing is counted after it. The weekly full pull, which
compares every row, remains the backstop for a landing written by other means.

    counts = pull_snapshots.recorded(...)[table].key_counts   # None: count the landing
    held = with_entering(counts, entering(cursor, ...))       # before the changed rows are applied
    pull_snapshots.record(..., [(table, year, columns, counts_after), ...])
"""

from __future__ import annotations

from psycopg import sql

#: A changed-only pull counts keys at both ends per range of 2^KEY_BITS (key >> KEY_BITS) to
#: find deletes: small enough that a day's scattered deletes read few keys, large enough that
#: the counts are few. Kept counts say the width they were counted in (another is not used).
KEY_BITS = 6


def entering(cursor, district_code: str, key: str, landing: sql.Composable,
             incoming: sql.Composable, in_year: sql.Composable) -> dict[int, int]:
    """Per range, the keys of `incoming` (the changed rows, all of the pull's year) that the
    landing does not hold in that year yet (`in_year`: the pull's condition on the landing's
    year, on rows aliased "landing"): what applying them adds to the year's count."""
    cursor.execute(sql.SQL(
        "select incoming.{key} >> {bits}, count(*) from {incoming} as incoming where not exists"
        " (select from {landing} as landing where landing.district_id = %s"
        " and landing.{key} = incoming.{key}{in_year}) group by 1").format(
        key=sql.Identifier(key), bits=sql.Literal(KEY_BITS), incoming=incoming, landing=landing, in_year=in_year),
        (district_code,))
    return dict(cursor.fetchall())


def with_entering(counts: dict[int, int], added: dict[int, int]) -> dict[int, int]:
    """The kept counts with the entering keys added (in place: the kept counts serve one pull)."""
    for start, count in added.items():
        counts[start] = counts.get(start, 0) + count
    return counts


def as_arrays(counts: dict[int, int] | None) -> tuple[int | None, list[int] | None, list[int] | None]:
    """(range width in bits, ranges, counts) as pull_snapshot keeps them; Nones for no counts."""
    if counts is None:
        return None, None, None
    ranges = sorted(counts)
    return KEY_BITS, ranges, [counts[r] for r in ranges]


def from_arrays(bits: int | None, ranges: list[int] | None, counts: list[int] | None) -> dict[int, int] | None:
    """The kept counts, or None when there are none or they were counted in other ranges."""
    if bits != KEY_BITS or ranges is None or counts is None or len(ranges) != len(counts):
        return None
    return dict(zip(ranges, counts))
