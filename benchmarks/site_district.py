"""The benchmarks' district: one district of N students generated on a site database of its own,
registered in a throwaway state database; both dropped afterwards (a SIGTERM too).

    with site_district.generated(50_000, 2024) as (state_url, district, reader_url):
        ...
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from datetime import date
from typing import Iterator

from sqlalchemy.engine import make_url

from orchestrator import database, migrations, registry
from orchestrator.demo_data import generate, site_databases


@contextlib.contextmanager
def generated(students: int, school_year: int) -> Iterator[tuple[str, registry.District, str]]:
    # Stopped with SIGTERM, the scratch databases are still dropped (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    site_server = os.environ.get("RESYNC_TEST_SITE_URL") or site_databases.server_url()
    state_server = database.database_url()
    state_url = database.create_database(state_server, prefix="resync_bench")
    site_name = f"resync_bench_site_{os.getpid()}"
    site_admin = make_url(site_server).set(database=site_name).render_as_string(hide_password=False)
    try:
        reader = site_databases.create_district_database(site_server, "01", site_name)
        with database.transaction(state_url) as conn:
            migrations.ensure_tool_schema(conn)
            district = registry.add(conn, "01", "Benchmark", url=reader)
        started = time.perf_counter()
        # About 700 students per school, as in a mid-sized district.
        generate(state_url, [district], schools=max(3, students // 700), students=students,
                 school_year=school_year, as_of=date(school_year, 7, 1))
        print(f"generated {students:,} students in {time.perf_counter() - started:.0f} s", flush=True)
        yield state_url, district, reader
    finally:
        database.drop_database(state_server, state_url)
        database.drop_database(site_server, site_admin)
