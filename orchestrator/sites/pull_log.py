"""The pull log read back: when each district's landing tables were last pulled.

Pulls write it (sites.pull); users read the rows of the districts they see (row-level security,
sql/tool/062_pull_log_readers.sql).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import settings


@dataclass(frozen=True)
class LastPull:
    district: str
    table: str
    end_year: int | None  # None: the whole table (not year-scoped)
    pulled_at: datetime
    rows_read: int
    rows_written: int
    last_written_at: datetime | None  # the latest pull of the pair that wrote rows; None: none did

    def as_dict(self) -> dict:
        return asdict(self)


def last_pulls(conn: Connection, districts: Sequence[str], tables: Sequence[str],
               school_year: int) -> dict[tuple[str, str], LastPull]:
    """(district, table) -> its latest pull covering `school_year`; a pair never pulled is absent."""
    rows = conn.execute(sa.text(
        f'select distinct on (district_id, table_name) district_id, table_name, end_year, pulled_at, rows_read,'
        " rows_inserted + rows_updated + rows_deleted,"
        " max(pulled_at) filter (where rows_inserted + rows_updated + rows_deleted > 0)"
        " over (partition by district_id, table_name)"
        f" from \"{settings.TOOL_SCHEMA}\".pull_log"
        " where district_id = any(:d) and table_name = any(:t) and (end_year is null or end_year = :y)"
        " order by district_id, table_name, pulled_at desc"
    ), {"d": list(districts), "t": list(tables), "y": school_year})
    return {(r[0], r[1]): LastPull(*r) for r in rows}
