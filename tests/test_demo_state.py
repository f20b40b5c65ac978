"""`resync demo setup` (what `make demo` runs) also builds the state tables for every demo district."""

from __future__ import annotations

import json

from sqlalchemy.engine import make_url

from dbt_helpers import checksums
from orchestrator import database
from orchestrator.demo_data import demo_districts
from queue_helpers import query
from rights_helpers import PASSWORD


def test_demo_setup_builds_the_state_tables_for_every_district(database_url, demo_sites, cli):
    result = cli("demo", "setup", "--students", "12", "--school-year", "2024", "--as-of", "2024-02-01")
    assert result.exit_code == 0, result.output
    assert "State tables: Resynced 19 objects for districts 01, 02, 03" in result.output
    for code in ("01", "02", "03"):
        rows = {model: n for model, (n, _) in checksums(database_url, code).items()}
        assert rows["enrollment"] > 0 and rows["att_day_aggregation"] > 0, (code, rows)
        assert rows["calendar"] > 0 and rows["person_identity"] > 0, (code, rows)
    # The report views are built too, and setup ends with each district's attendance summary.
    assert "Attendance reports (schema state_reports)" in result.output
    summary_lines = [line.split() for line in result.output.splitlines()
                     if line.strip().split(" ")[0] in ("01", "02", "03") and "%" in line]
    assert [line[0] for line in summary_lines] == ["01", "02", "03"]
    for line in summary_lines:
        attendance_rate = float(line[3].rstrip("%"))
        assert 80 < attendance_rate < 100, line


def test_demo_setup_adds_three_users_in_use(database_url, demo_sites, cli, monkeypatch):
    result = cli("demo", "setup", "--students", "8", "--school-year", "2024", "--as-of", "2024-02-01")
    assert result.exit_code == 0, result.output
    users = [line.split() for line in result.output.splitlines()]
    assert ["state_admin", "admin", "every", "district"] in users
    assert ["abbott_admin", "write", "01"] in users
    assert ["analyst", "read", "every", "district"] in users
    with database.transaction(database_url) as conn:  # as a second `make demo` does: nothing changes
        assert [(u.name, u.right, u.districts) for u in demo_districts.add_users(conn)] == [
            ("state_admin", "admin", None), ("abbott_admin", "write", ("01",)), ("analyst", "read", None)]

    def as_user(name: str, *args: str):
        query(database_url, f"alter role {name} password '{PASSWORD}'")  # for a server that asks
        with monkeypatch.context() as patch:
            patch.setenv("RESYNC_DATABASE_URL", make_url(cli("db", "url", "--user", name).output.strip())
                         .set(password=PASSWORD).render_as_string(hide_password=False))
            return cli(*args)

    listed = json.loads(as_user("state_admin", "user", "list", "--json").output)
    assert {(u["name"], u["right"]) for u in listed} == {
        ("state_admin", "admin"), ("abbott_admin", "write"), ("analyst", "read")}
    mine = as_user("abbott_admin", "request", "-d", "01", "-o", "Calendar", "--school-year", "2024", "--yes", "--json")
    assert mine.exit_code == 0, mine.output
    assert "abbott_admin may request districts 01 only, not 02." in as_user(
        "abbott_admin", "request", "-d", "02", "-o", "Calendar", "--school-year", "2024").output
    assert "has the Read right" in as_user("analyst", "request", "-d", "01", "-o", "Calendar").output
    assert [r["requested_by"] for r in json.loads(as_user("analyst", "history", "--json").output)] == ["abbott_admin"]
