"""Every staging and state model, and every one of their columns, is documented in its folder's yml."""

from __future__ import annotations

import re

import pytest
from dbt_helpers import parsed_manifest, project_models

from orchestrator import sources

#: One ('name', 'type') pair per column in a staging model's union_district_sources call.
_CONTRACT_COLUMN = re.compile(r"cast\((\w+) as [^)]+\) as \w+")


@pytest.mark.parametrize("folder", ["staging", "state"])
def test_every_model_and_documented_column_has_a_description(folder):
    models = project_models(parsed_manifest(), folder)
    assert models
    undocumented = [name for name, node in models.items() if not node["description"].strip()]
    undocumented += [f"{name}.{column}" for name, node in models.items()
                     for column, info in node["columns"].items() if not info["description"].strip()]
    assert not undocumented, f"no description: {undocumented}"


def test_one_staging_model_per_source_table_with_its_contract_documented():
    models = project_models(parsed_manifest(), "staging")
    assert set(models) == {f"stg_{t}" for t in (*sources.SOURCE_TABLES, "delete_log")}
    for name, node in models.items():
        contract = ["district_id", *_CONTRACT_COLUMN.findall(node["raw_code"])]
        assert list(node["columns"]) == contract, f"{name}: yml columns differ from the model's"
