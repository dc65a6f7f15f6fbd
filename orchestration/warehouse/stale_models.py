"""Incremental models whose table in the warehouse predates their current contract.

An incremental build only appends rows, so a column added to such a model (say, the shift of
each hourly aggregate) would stay null for all history, and a column a contract dropped (the
readings' stored md5 key) would stay on disk, null for new rows. A build that finds either
rebuilds the warehouse in full instead; afterwards incremental builds carry on as before.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.warehouse.dbt_project import parsed_manifest
from orchestration.warehouse.ducklake import table_columns


def stale_incremental_models(con: duckdb.DuckDBPyConnection, manifest_path: Path) -> list[str]:
    """Names of incremental models whose existing table (in `con`'s current catalog) lacks a
    column they declare, or - under an enforced contract - has one it no longer declares (a model
    not built yet is not stale: its first build is a full one anyway)."""
    columns = table_columns(con)  # one look at the catalog for all of them
    stale = []
    for node in incremental_models(manifest_path):
        if "programme_kpis" in node.get("tags", []):
            continue  # the KPI marts' history is built by its own selection, not the warehouse build
        existing = columns.get((node["schema"], node["alias"]), set())
        declared = set(node["columns"])
        enforced = node.get("contract", {}).get("enforced", False)
        if existing and (declared - existing or (enforced and existing - declared)):
            stale.append(node["name"])
    return stale


def incremental_models(manifest_path: Path) -> list[dict]:
    manifest = parsed_manifest(manifest_path)
    return [node for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"]


def build_args(stale: list[str], *, full_refresh: bool = False, unchanged: list[str] | None = None) -> list[str]:
    """The dbt command of a warehouse build: in full when a model is stale or asked for; else
    everything but what nothing changed for since the last published build (`unchanged`,
    orchestration/warehouse/changed_inputs.py) and what the default selector `warehouse` leaves
    out (an `--exclude` turns the default selector off); else everything. One value per flag:
    dagster-dbt takes one value after --exclude and adds its own selection."""
    if full_refresh or stale:
        return ["build", "--full-refresh"]
    if unchanged:
        return ["build", "--exclude", " ".join(["tag:programme_kpis", "resource_type:unit_test", *unchanged])]
    return ["build"]
