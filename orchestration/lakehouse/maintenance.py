"""Bronze table upkeep: every ingest commit adds small Parquet files (one per company and
dataset), which over a programme's three years slows every reader. Compaction rewrites them into
large files holding the same rows; vacuum then deletes the files no version within the retention
window still needs.

The warehouse reads bronze in place and keys what it took on ingest batches, not files, so
compaction never makes it take rows twice (dbt_project/models/intermediate/int_sensor_reading_batches.sql).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deltalake import DeltaTable

from orchestration.ingest.bronze_schemas import CONTENT_SCHEMAS, REGISTRY_SCHEMAS
from orchestration.lakehouse.bronze import (LOG_TABLE, REJECTIONS_TABLE, TABLE_PROPERTIES, WRITER_PROPERTIES, BronzeLake,
                                            has_commit)
from orchestration.lakehouse.storage import Location, is_remote

# Readers of an older version (a long query, a time-travel query) keep their files for a week.
RETENTION_HOURS = 7 * 24
BRONZE_TABLE_NAMES = (*CONTENT_SCHEMAS, *REGISTRY_SCHEMAS, REJECTIONS_TABLE, LOG_TABLE)


@dataclass(frozen=True)
class TableUpkeep:
    table: str
    files_before: int
    files_after: int
    files_vacuumed: int


def bronze_tables(bronze: BronzeLake | Path) -> list[Location]:
    """Every Delta table under the bronze root. A local root is listed; on an object store (where
    listing is slow) the tables the platform writes are looked up."""
    bronze = bronze if isinstance(bronze, BronzeLake) else BronzeLake(bronze)
    if is_remote(bronze.root):
        return [bronze.table_path(name) for name in sorted(BRONZE_TABLE_NAMES) if bronze.open(name) is not None]
    root = Path(bronze.root)
    return sorted(path for path in root.iterdir() if has_commit(path)) if root.is_dir() else []


def compact_and_vacuum(table_path: Location, *, retention_hours: int = RETENTION_HOURS,
                       storage_options: dict[str, str] | None = None) -> TableUpkeep:
    table = DeltaTable(str(table_path), storage_options=storage_options)
    before = len(table.file_uris())
    table.optimize.compact(writer_properties=WRITER_PROPERTIES)
    # a retention shorter than the week is the caller's deliberate choice (tests, a full disk)
    vacuumed = table.vacuum(retention_hours=retention_hours, dry_run=False,
                            enforce_retention_duration=retention_hours >= RETENTION_HOURS)
    adopt_table_properties(table)
    table = DeltaTable(str(table_path), storage_options=storage_options)
    after = len(table.file_uris())
    # readers start from here instead of replaying the compaction's commit and those before it
    table.create_checkpoint()
    return TableUpkeep(Path(str(table_path)).name, before, after, len(vacuumed))


def adopt_table_properties(table: DeltaTable) -> None:
    """Give a table made before its properties were set (bronze.TABLE_PROPERTIES) those properties.
    Changing them is a metadata commit, which Delta lets conflict with any write committing at the
    same moment, so it is made here, in the weekly upkeep, once per table, not on the ingests' path."""
    configuration = table.metadata().configuration
    missing = {name: value for name, value in TABLE_PROPERTIES.items() if configuration.get(name) != value}
    if missing:
        table.alter.set_table_properties(missing)


def upkeep_bronze(bronze: BronzeLake | Path, *, retention_hours: int = RETENTION_HOURS) -> list[TableUpkeep]:
    bronze = bronze if isinstance(bronze, BronzeLake) else BronzeLake(bronze)
    return [compact_and_vacuum(path, retention_hours=retention_hours, storage_options=bronze.storage_options)
            for path in bronze_tables(bronze)]
