"""Incremental models whose table in the warehouse predates their current contract.

An incremental build only appends rows, so a column added to such a model (say, the shift of
each hourly aggregate) would stay null for all history. A build that finds one rebuilds the
warehouse in full instead; afterwards incremental builds carry on as before.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb


def stale_incremental_models(warehouse_file: Path, manifest_path: Path) -> list[str]:
    """Names of incremental models whose existing table lacks a column their contract declares
    (a model not built yet is not stale: its first build is a full one anyway)."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    # the KPI marts' history (tag programme_kpis) is built by its own selection, not the warehouse build
    incremental = [node for node in manifest["nodes"].values()
                   if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"
                   and "programme_kpis" not in node.get("tags", [])]
    if not incremental or not Path(warehouse_file).exists():
        return []
    con = duckdb.connect(str(warehouse_file), read_only=True)
    try:
        stale = []
        for node in incremental:
            existing = {name for (name,) in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                [node["schema"], node["alias"]]).fetchall()}
            if existing and set(node["columns"]) - existing:
                stale.append(node["name"])
        return stale
    finally:
        con.close()


def build_args(stale: list[str], *, full_refresh: bool = False) -> list[str]:
    return ["build", "--full-refresh"] if full_refresh or stale else ["build"]
