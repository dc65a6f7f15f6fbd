"""Bronze Delta tables and the bookkeeping that makes every landing file land exactly once.

Each file is identified by the sha256 of its bytes. Three append-only tables, all partitioned
by company, record what happened to it:

- the dataset table (`bronze/<dataset>`) holds its good rows, each with `_source_hash`;
- `bronze/ingest_rejections` holds the rows (or the whole file) it could not use, with reasons;
- `bronze/ingest_log` gets one row per (file, mapping entry) once both of the above are committed.

Exactly once means once per (file content, dataset entry): one file read by several mapping
entries lands under each; the same bytes re-sent under another name are logged as a duplicate of
the first file. The mapping version each was read under is recorded; a changed mapping re-reads a
landed file only through `orchestration.ingest.retract --reingest`.

A Delta commit is atomic, so after a crash at any point a re-run can tell, per table, whether
that file's rows are already there and write only what is missing. A file is skipped only when
the log has it, and the log is written last.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import ColumnProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake.exceptions import TableNotFoundError

from orchestration.ingest.bronze_schemas import UTC_TS, bronze_schema
from orchestration.lakehouse.delta_reads import delta_dataset
from orchestration.lakehouse.storage import Location, as_location, child, is_remote

REJECTIONS_SCHEMA = pa.schema(
    [
        ("company_id", pa.string()),
        ("source_file", pa.string()),
        ("source_hash", pa.string()),
        ("dataset", pa.string()),
        ("dataset_entry", pa.string()),  # the mapping entry that read the file (null: the file as a whole)
        ("row_number", pa.int64()),
        ("column_name", pa.string()),
        ("reason", pa.string()),
        ("message", pa.string()),
        ("quarantined_at", UTC_TS),
        ("ingest_run_id", pa.string()),
    ]
)

INGEST_LOG_SCHEMA = pa.schema(
    [
        ("company_id", pa.string()),
        ("source_file", pa.string()),
        ("source_hash", pa.string()),
        ("dataset", pa.string()),
        ("dataset_entry", pa.string()),  # the mapping entry (`name:`); a file read by several has a row per entry
        ("status", pa.string()),  # ingested | partial | quarantined | duplicate | retracted
        ("source_rows", pa.int64()),  # data rows in the file = rows_landed + rows_rejected
        ("rows_landed", pa.int64()),  # data rows accepted
        ("rows_rejected", pa.int64()),  # data rows left out, each with its reason in ingest_rejections
        ("bronze_rows", pa.int64()),  # rows written to the dataset table (a wide row gives one per sensor)
        ("duplicate_of", pa.string()),  # status duplicate: the file whose identical content was landed first
        ("unmapped_columns", pa.string()),
        ("missing_columns", pa.string()),  # mapped (optional) columns this file lacks: their values did not load
        ("mapping_version", pa.string()),  # first 16 hex of the sha256 of the client mapping used
        ("file_size_bytes", pa.int64()),
        ("file_modified_at", UTC_TS),
        ("ingested_at", UTC_TS),
        ("ingest_run_id", pa.string()),
        # the hash of the earlier version of the same landing file whose rows this version replaces
        # (a client re-exporting an extended file): the warehouse keeps only the latest version's rows
        ("supersedes", pa.string()),
    ]
)

# Min/max statistics pay off on the columns readers filter by (time ranges, row lineage); on
# free-text and per-file constant columns they cost a third of the write and skip nothing.
_STATISTICS_COLUMNS = ("reading_ts", "start_ts", "end_ts", "inspected_at", "event_ts", "_source_row", "_ingested_at")
WRITER_PROPERTIES = WriterProperties(
    default_column_properties=ColumnProperties(statistics_enabled="NONE"),
    column_properties={name: ColumnProperties(statistics_enabled="CHUNK") for name in _STATISTICS_COLUMNS},
)

# Every reader of a table (the warehouse build's delta_scans, each ingest's exactly-once look-ups)
# replays the JSON commits since the last checkpoint when it opens it: 30-40 ms a table with 80
# commits, 10 ms from a checkpoint. Delta's default interval, 100 commits, is several days of
# one-commit-per-company ingests to replay; every tenth commit writes one (about 0.1 s).
CHECKPOINT_INTERVAL = 10
TABLE_PROPERTIES = {"delta.checkpointInterval": str(CHECKPOINT_INTERVAL)}

LOG_TABLE = "ingest_log"
REJECTIONS_TABLE = "ingest_rejections"


class BronzeLake:
    """The bronze tables under one root: a local folder, or an object store URI (`s3://…`) with
    the storage options to reach it (see storage.py)."""

    def __init__(self, bronze_root: Location, storage_options: dict[str, str] | None = None):
        self.root = as_location(bronze_root)
        self.storage_options = storage_options or None

    def table_path(self, name: str) -> Location:
        return child(self.root, name)

    def open(self, name: str) -> DeltaTable | None:
        try:
            return DeltaTable(str(self.table_path(name)), storage_options=self.storage_options)
        except TableNotFoundError:
            return None

    def hashes_in(self, name: str, company_id: str, column: str) -> set[str]:
        """The file hashes a table already holds for one company (reads one column of one partition)."""
        table = self.open(name)
        if table is None:
            return set()
        values = delta_dataset(table, company_id).to_table(
            columns=[column]
        )[column]
        return set(pc.unique(values).to_pylist()) - {None}

    def pairs_in(self, name: str, company_id: str, columns: tuple[str, str]) -> set[tuple]:
        """Distinct (a, b) pairs of two columns of one company's partition (a column the table
        does not have yet reads as null)."""
        table = self.open(name)
        if table is None:
            return set()
        dataset = delta_dataset(table, company_id)
        present = [c for c in columns if c in dataset.schema.names]
        values = dataset.to_table(columns=present)
        if values.num_rows == 0:
            return set()
        values = values.group_by(present).aggregate([])
        firsts = values[columns[0]].to_pylist()
        seconds = values[columns[1]].to_pylist() if columns[1] in present else [None] * len(firsts)
        return set(zip(firsts, seconds))

    def logged_hashes(self, company_id: str) -> set[str]:
        return self.hashes_in(LOG_TABLE, company_id, "source_hash")

    def append(self, name: str, rows: pa.Table) -> int | None:
        """Append rows in one Delta transaction; returns the new table version."""
        if rows.num_rows == 0:
            return None
        repair_uncommitted(self.table_path(name))
        # schema_mode="merge": a column added to a bronze schema later evolves the table
        # instead of failing the append.
        write_deltalake(
            str(self.table_path(name)),
            rows,
            mode="append",
            partition_by=["company_id"],
            schema_mode="merge",
            writer_properties=WRITER_PROPERTIES,
            configuration=TABLE_PROPERTIES,  # taken when this append creates the table, ignored after
            storage_options=self.storage_options,
        )
        table = self.open(name)
        return table.version() if table is not None else None

    def replace(self, name: str, rows: pa.Table) -> None:
        """Overwrite a table with a new snapshot (the registry); Delta's history keeps the old ones."""
        write_deltalake(str(self.table_path(name)), rows, mode="overwrite", schema_mode="overwrite",
                        configuration=TABLE_PROPERTIES, storage_options=self.storage_options)


def has_commit(table_path: Location) -> bool:
    """Whether a local table folder holds at least one Delta commit (a JSON entry or a checkpoint)
    in its `_delta_log`. A process killed during the first write of a table leaves the folder with
    data files and an empty log: no reader may take that for a table."""
    log = Path(str(table_path)) / "_delta_log"
    return log.is_dir() and any(entry.name.endswith((".json", ".checkpoint.parquet")) for entry in log.iterdir())


def repair_uncommitted(table_path: Location, *, min_age_seconds: float = 300.0) -> list[Path]:
    """Remove what a killed first write left behind: a local table folder without any commit.
    Nothing references its files (Delta only reads what a commit adds), so they are garbage; only
    files older than `min_age_seconds` go, so a first write in progress elsewhere is never touched.
    The next append then starts the table at version 0. Object stores: nothing to do (delta-rs
    ignores uncommitted objects; vacuum removes them)."""
    import time

    if is_remote(table_path):
        return []
    folder = Path(str(table_path))
    if not folder.is_dir() or has_commit(folder):
        return []
    now = time.time()
    files = [path for path in folder.rglob("*") if path.is_file()]
    if any(now - path.stat().st_mtime < min_age_seconds for path in files):
        return []
    for path in files:
        path.unlink(missing_ok=True)
    return files


def conform(rows: pa.Table, schema: pa.Schema) -> pa.Table:
    """Order and cast columns to the bronze schema so every commit has the same shape.

    Text columns are handed to the Delta writer dictionary-encoded (Delta stores them as plain
    strings): splitting a batch by partition then moves small integer indices instead of copying
    every repeated file name, hash and tag, which halves the write of a large export."""
    columns, fields = [], []
    for field in schema:
        column = rows[field.name] if field.name in rows.column_names else pa.nulls(rows.num_rows, field.type)
        # The partition column stays plain: delta-rs cannot split a batch on a dictionary column.
        if pa.types.is_string(field.type) and field.name != "company_id":
            if not (pa.types.is_dictionary(column.type) and column.type.value_type == field.type):
                column = pc.dictionary_encode(column.cast(field.type))
            field = pa.field(field.name, column.type)
        else:
            column = column.cast(field.type)
        columns.append(column)
        fields.append(field)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def with_lineage(
    rows: pa.Table, *, dataset: str, source_file: str, source_hash: str, ingested_at, run_id: str,
    dataset_entry: str | None = None, mapping_version: str | None = None,
) -> pa.Table:
    n = rows.num_rows
    lineage = {
        "_source_file": constant(source_file, n, pa.string()),
        "_source_hash": constant(source_hash, n, pa.string()),
        "_ingested_at": constant(ingested_at, n, UTC_TS),
        "_ingest_run_id": constant(run_id, n, pa.string()),
        "_dataset_entry": constant(dataset_entry or dataset, n, pa.string()),
        "_mapping_version": constant(mapping_version, n, pa.string()),
    }
    for name, values in lineage.items():
        rows = rows.append_column(name, values)
    return conform(rows, bronze_schema(dataset))


def constant(value, length: int, type_: pa.DataType) -> pa.Array:
    """A column of one repeated value, built in Arrow rather than as a Python list (text as a
    one-entry dictionary, so a 64-character hash is not copied onto every row)."""
    if pa.types.is_string(type_):
        return pa.DictionaryArray.from_arrays(pa.nulls(length, pa.int32()).fill_null(0), pa.array([value], type_))
    return pa.nulls(length, type_).fill_null(pa.scalar(value, type_))


def rows_of(records: Iterable[dict], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(list(records), schema=schema)
