"""The lineage check: the dbt graph of state models must be exactly the catalog's parent edges.

Reads a dbt manifest (the `manifest.json` that `dbt parse` writes, as a dict) and compares the
`ref()` edges between state models with seeds/campus_objects.csv. CI runs it through
tests/test_lineage.py; every difference is named as an edge, parent -> child.
"""

from __future__ import annotations

from . import catalog

STATE_FOLDER = "state"
#: The dbt source holding the districts' tables as the state last pulled them.
LANDING = "landing"


def catalog_edges() -> set[tuple[str, str]]:
    """(parent model, child model) for every parent listed in the catalog."""
    index = catalog.by_campus_name()
    return {(index[parent].model_name, obj.model_name) for obj in catalog.load() for parent in obj.parents}


def folder_nodes(manifest: dict, folder: str = STATE_FOLDER) -> dict[str, dict]:
    """unique_id -> node of every model in models/<folder> (the state models by default)."""
    return {
        unique_id: node for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["fqn"][1:2] == [folder]
    }


def manifest_edges(manifest: dict) -> set[tuple[str, str]]:
    """(parent model, child model) for every ref() from one state model to another."""
    nodes = folder_nodes(manifest)
    return {
        (nodes[parent]["name"], node["name"])
        for node in nodes.values()
        for parent in node["depends_on"]["nodes"]
        if parent in nodes
    }


def differences(manifest: dict) -> list[str]:
    """One sentence per way the manifest's state graph departs from the catalog; [] when equal."""
    problems = []
    models = {node["name"]: node for node in folder_nodes(manifest).values()}
    objects = {obj.model_name: obj for obj in catalog.load()}
    for name in sorted(objects.keys() - models.keys()):
        problems.append(f"missing model: the catalog lists {objects[name].campus_name} ({name}), "
                        f"models/{STATE_FOLDER} has no such model")
    for name in sorted(models.keys() - objects.keys()):
        problems.append(f"extra model: models/{STATE_FOLDER}/{name} is not in the catalog")
    for name in sorted(models.keys() & objects.keys()):
        scope = (models[name]["config"].get("meta") or {}).get("resync_scope")
        if scope != objects[name].scope:
            problems.append(f"wrong scope: {name} has meta.resync_scope {scope!r}, "
                            f"the catalog says {objects[name].scope!r}")

    wanted, found = catalog_edges(), manifest_edges(manifest)
    missing, extra = wanted - found, found - wanted
    for parent, child in sorted(missing):
        if (child, parent) in extra:
            problems.append(f"misdirected ref(): {child} -> {parent} should be {parent} -> {child}")
        elif child in models:
            problems.append(f"missing ref(): {parent} -> {child} (the catalog lists {parent} "
                            f"as a parent of {child})")
    for parent, child in sorted(extra):
        if (child, parent) not in missing:
            problems.append(f"extra ref(): {parent} -> {child} (not a parent in the catalog)")
    return problems


def source_tables(graph, model_names) -> list[str]:
    """The landing tables the given models read (sorted), from dbt's graph: each model's parents,
    followed through staging (and any model that is not a state table) down to the sources. A
    parent that is itself a state model is not followed: it reads its own sources when it runs.

    `graph` is a dbt_invoker.ProjectGraph.
    """
    found: set[str] = set()
    for name in model_names:
        stack = list(graph.parents.get(graph.model_ids[name], ()))
        seen: set[str] = set()
        while stack:
            uid = stack.pop()
            if uid in seen:
                continue
            seen.add(uid)
            if uid in graph.sources:
                source_name, table, _ = graph.sources[uid]
                if source_name == LANDING:
                    found.add(table)
            elif uid in graph.folders and graph.folders[uid] != STATE_FOLDER:
                stack.extend(graph.parents.get(uid, ()))
    return sorted(found)
