"""Row counts of the warehouse tables a dbt build wrote, for their asset pages (`dagster/row_count`,
which the catalog plots over time). Counted once the build is published, from the published
warehouse, one `count(*)` per built table or incremental model; views are not counted, since that
would run their query (dagster-dbt's own `fetch_row_counts` skips them for the same reason, and
counts through dbt's adapter before our build is published)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import dagster as dg
import duckdb

COUNTED = ("table", "incremental")
ROW_COUNT = "dagster/row_count"


def built_table(manifest: Mapping[str, Any], unique_id: str) -> tuple[str, str] | None:
    """(schema, table) of a model or seed the build wrote as a table, or None (a view, a test...)."""
    node = manifest.get("nodes", {}).get(unique_id)
    if node is None or node.get("resource_type") not in ("model", "seed"):
        return None
    materialized = "table" if node["resource_type"] == "seed" else node.get("config", {}).get("materialized")
    if materialized not in COUNTED:
        return None
    return node["schema"], node.get("alias") or node["name"]


def count_rows(con: duckdb.DuckDBPyConnection, tables: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Rows of each table; a table the connection cannot read is left out (its page shows no count,
    rather than a wrong one)."""
    counts = {}
    for schema, table in dict.fromkeys(tables):
        try:
            counts[(schema, table)] = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
        except duckdb.Error:
            continue
    return counts


def _unique_id(event) -> str | None:
    value = event.metadata.get("unique_id")
    return getattr(value, "value", value)


def with_row_counts(events: list, manifest: Mapping[str, Any], con: duckdb.DuckDBPyConnection) -> Iterator:
    """The build's events, each table's materialisation carrying its row count."""
    tables = {uid: t for e in events if isinstance(e, (dg.Output, dg.AssetMaterialization))
              and (uid := _unique_id(e)) and (t := built_table(manifest, uid))}
    counts = count_rows(con, tables.values())
    for event in events:
        table = tables.get(_unique_id(event)) if isinstance(event, (dg.Output, dg.AssetMaterialization)) else None
        if table in counts:
            event = event.with_metadata({**event.metadata, ROW_COUNT: counts[table]})
        yield event
