"""The bronze Delta tables as the warehouse reads them: in place, through DuckDB's `delta_scan`.

dbt's sources point at the Delta tables themselves (`external_location` in
`_bronze__sources.yml`); nothing is copied. The warehouse also holds a `bronze` schema of views
over the same tables, so analysts and the quality inspection can write `bronze.sensor_readings`.
A table no ingest has written yet exists as an empty Delta table with its schema, so every model
builds on a young lake too.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError, TableNotFoundError

from orchestration.ingest.bronze_schemas import CONTENT_SCHEMAS, REGISTRY_SCHEMAS, bronze_schema
from orchestration.lakehouse.bronze import INGEST_LOG_SCHEMA, LOG_TABLE, REJECTIONS_SCHEMA, REJECTIONS_TABLE

# Every bronze Delta table the warehouse reads, with the shape it has when still empty.
BRONZE_TABLES: dict[str, pa.Schema] = {
    **{name: bronze_schema(name) for name in CONTENT_SCHEMAS},
    **REGISTRY_SCHEMAS,
    REJECTIONS_TABLE: REJECTIONS_SCHEMA,
    LOG_TABLE: INGEST_LOG_SCHEMA,
}


def table_location(bronze_root: str | Path, name: str) -> str:
    root = str(bronze_root)
    return f"{root.rstrip('/')}/{name}" if "://" in root else str(Path(root).resolve() / name)


def ensure_bronze_tables(bronze_root: str | Path) -> dict[str, int]:
    """Create the bronze tables no ingest has written yet (empty, partitioned like the writers
    do); return every table's current Delta version."""
    from orchestration.lakehouse.storage import is_remote, storage_options

    options = storage_options() if is_remote(bronze_root) else None
    versions = {}
    for name, schema in BRONZE_TABLES.items():
        location = table_location(bronze_root, name)
        try:
            versions[name] = DeltaTable(location, storage_options=options).version()
            continue
        except TableNotFoundError:
            pass
        try:
            # the registry tables are overwritten whole, unpartitioned (lakehouse/registry.py)
            partitioned = name not in REGISTRY_SCHEMAS
            write_deltalake(location, schema.empty_table(), mode="append", storage_options=options,
                            partition_by=["company_id"] if partitioned else None)
        except DeltaError:  # an ingest created it at the same moment: theirs is as good
            pass
        versions[name] = DeltaTable(location, storage_options=options).version()
    return versions


def scan(bronze_root: str | Path, name: str) -> str:
    return f"delta_scan('{table_location(bronze_root, name)}')"


def create_bronze_views(con: duckdb.DuckDBPyConnection, bronze_root: str | Path) -> None:
    """`bronze.<table>` views in the warehouse over the Delta tables."""
    con.execute("create schema if not exists bronze")
    for name in BRONZE_TABLES:
        # replaced every build: a view's columns are those of the Delta schema when it was made
        # (dbt's `bronze_column` looks them up here), and bronze evolves
        con.execute(f"create or replace view bronze.{name} as select * from {scan(bronze_root, name)}")
