"""The suite's own set-up for `make test`'s parallel workers (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import browser_helpers
import conftest

OUTSIDE_SERVERS = ("RESYNC_TEST_DATABASE_URL", "PGHOST", "PGDATABASE", "RESYNC_TEST_SITE_URL")


def test_servers_given_from_outside_run_the_suite_in_one_process(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    for key in OUTSIDE_SERVERS:
        monkeypatch.delenv(key, raising=False)
    assert conftest.pytest_xdist_auto_num_workers(None) is None  # xdist's own count: one per CPU
    for key, value in [("RESYNC_TEST_DATABASE_URL", "postgresql://postgres@db.example.org/postgres"),
                       ("RESYNC_TEST_SITE_URL", "postgresql://postgres@sites.example.org/postgres")]:
        with monkeypatch.context() as patch:
            patch.setenv(key, value)
            assert conftest.pytest_xdist_auto_num_workers(None) == 0, key


def test_the_longest_files_come_first_and_each_file_stays_together(request):
    files = list(dict.fromkeys(item.path.name for item in request.session.items))
    # Contiguous: a file's tests are not split around another file's.
    assert [item.path.name for item in request.session.items] == [
        name for name in files for item in request.session.items if item.path.name == name]
    listed = [name for name in conftest.LONGEST_FIRST if name in files]
    assert files[:len(listed)] == listed
    assert all((Path(__file__).parent / name).is_file() for name in conftest.LONGEST_FIRST)


def test_a_workers_screenshot_folders_reach_the_summary(monkeypatch, tmp_path):
    # Each xdist worker keeps its own list; the controller prints the summary.
    in_worker = [tmp_path / "web-screenshots0"]
    monkeypatch.setattr(browser_helpers, "SCREENSHOT_FOLDERS", in_worker)
    worker_config = SimpleNamespace(workeroutput={})
    conftest.pytest_sessionfinish(SimpleNamespace(config=worker_config))
    monkeypatch.setattr(browser_helpers, "SCREENSHOT_FOLDERS", [])
    conftest.pytest_testnodedown(SimpleNamespace(workeroutput=worker_config.workeroutput), None)
    assert browser_helpers.SCREENSHOT_FOLDERS == in_worker
