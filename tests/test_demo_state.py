"""`resync demo setup` (what `make demo` runs) also builds the state tables for every demo district."""

from __future__ import annotations

from dbt_helpers import checksums


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
