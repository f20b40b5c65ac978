"""CI's lineage check: the dbt graph of state models is exactly the catalog's parent edges."""

from __future__ import annotations

import copy

import pytest
from dbt_helpers import parsed_manifest

from orchestrator import lineage


@pytest.fixture
def manifest() -> dict:
    return copy.deepcopy(parsed_manifest())


def _node(manifest: dict, model: str) -> dict:
    return manifest["nodes"][f"model.state_resync.{model}"]


def test_state_graph_matches_the_catalog(manifest):
    problems = lineage.differences(manifest)
    assert not problems, "the dbt graph differs from seeds/campus_objects.csv:\n" + "\n".join(problems)
    assert lineage.manifest_edges(manifest) == lineage.catalog_edges()


def test_a_missing_ref_is_named(manifest):
    _node(manifest, "enrollment")["depends_on"]["nodes"].remove("model.state_resync.calendar")
    assert lineage.differences(manifest) == [
        "missing ref(): calendar -> enrollment (the catalog lists calendar as a parent of enrollment)"]


def test_an_extra_ref_is_named(manifest):
    _node(manifest, "alpss")["depends_on"]["nodes"].append("model.state_resync.school_month")
    assert lineage.differences(manifest) == [
        "extra ref(): school_month -> alpss (not a parent in the catalog)"]


def test_a_misdirected_ref_is_named(manifest):
    _node(manifest, "day")["depends_on"]["nodes"].remove("model.state_resync.period_schedule")
    _node(manifest, "period_schedule")["depends_on"]["nodes"].append("model.state_resync.day")
    assert lineage.differences(manifest) == [
        "misdirected ref(): day -> period_schedule should be period_schedule -> day"]


def test_a_missing_model_and_a_wrong_scope_are_named(manifest):
    del manifest["nodes"]["model.state_resync.alpss"]
    _node(manifest, "school")["config"]["meta"]["resync_scope"] = "district_year"
    assert lineage.differences(manifest) == [
        "missing model: the catalog lists ALPSS (alpss), models/state has no such model",
        "wrong scope: school has meta.resync_scope 'district_year', the catalog says 'district'",
    ]
