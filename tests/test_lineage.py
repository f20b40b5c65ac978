"""CI's lineage check: the dbt graph of state models is exactly the catalog's parent edges."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from orchestrator import lineage, settings


@pytest.fixture(scope="session")
def manifest() -> dict:
    """The manifest `dbt parse` writes (parsing needs no database)."""
    from dbt.cli.main import dbtRunner

    target = Path(os.environ["DBT_TARGET_PATH"]) / "lineage"
    project = str(settings.dbt_project_dir())
    result = dbtRunner().invoke(["parse", "--project-dir", project, "--profiles-dir", project,
                                 "--target-path", str(target), "--log-level", "none"])
    assert result.success, result.exception
    return json.loads((target / "manifest.json").read_text())


def _node(manifest: dict, model: str) -> dict:
    return manifest["nodes"][f"model.state_resync.{model}"]


def test_state_graph_matches_the_catalog(manifest):
    problems = lineage.differences(manifest)
    assert not problems, "the dbt graph differs from seeds/campus_objects.csv:\n" + "\n".join(problems)
    assert lineage.manifest_edges(manifest) == lineage.catalog_edges()


def test_a_missing_ref_is_named(manifest):
    broken = copy.deepcopy(manifest)
    _node(broken, "enrollment")["depends_on"]["nodes"].remove("model.state_resync.calendar")
    assert lineage.differences(broken) == [
        "missing ref(): calendar -> enrollment (the catalog lists calendar as a parent of enrollment)"]


def test_an_extra_ref_is_named(manifest):
    broken = copy.deepcopy(manifest)
    _node(broken, "alpss")["depends_on"]["nodes"].append("model.state_resync.school_month")
    assert lineage.differences(broken) == [
        "extra ref(): school_month -> alpss (not a parent in the catalog)"]


def test_a_misdirected_ref_is_named(manifest):
    broken = copy.deepcopy(manifest)
    _node(broken, "day")["depends_on"]["nodes"].remove("model.state_resync.period_schedule")
    _node(broken, "period_schedule")["depends_on"]["nodes"].append("model.state_resync.day")
    assert lineage.differences(broken) == [
        "misdirected ref(): day -> period_schedule should be period_schedule -> day"]


def test_a_missing_model_and_a_wrong_scope_are_named(manifest):
    broken = copy.deepcopy(manifest)
    del broken["nodes"]["model.state_resync.alpss"]
    _node(broken, "school")["config"]["meta"]["resync_scope"] = "district_year"
    assert lineage.differences(broken) == [
        "missing model: the catalog lists ALPSS (alpss), models/state has no such model",
        "wrong scope: school has meta.resync_scope 'district_year', the catalog says 'district'",
    ]
