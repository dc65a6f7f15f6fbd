"""What a bronze Delta table holds now, in Dagster's own metadata vocabulary, so an asset page
shows the table's state (rows, version, files, schema, a preview) and not only one run's counts."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from orchestration.lakehouse.delta_reads import delta_dataset

PREVIEW_ROWS = 5


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name=f.name, type=str(f.type)) for f in schema])


def preview(table: pa.Table) -> dg.TableMetadataValue:
    records = [dg.TableRecord({k: (v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
                               for k, v in row.items()}) for row in table.to_pylist()]
    return dg.MetadataValue.table(records=records, schema=column_schema(table.schema))


def company_table_state(table_path: Path | str, company_id: str, storage_options: dict | None = None) -> dict:
    """Rows, files and current version of one company's partition of a bronze table, its column
    schema and its first rows. Row and file counts come from the Delta log's file statistics, so
    this reads no data files except for the preview."""
    try:
        table = DeltaTable(str(table_path), storage_options=storage_options)
    except TableNotFoundError:
        return {"dagster/row_count": 0, "delta_version": -1, "files": 0}
    actions = pa.table(table.get_add_actions(flatten=True)).to_pydict()
    partition = actions.get("partition.company_id", [None] * len(actions.get("num_records", [])))
    mine = [n for n, c in zip(actions.get("num_records", []), partition) if c == company_id]
    rows = delta_dataset(table)
    schema = rows.schema
    head = rows.head(PREVIEW_ROWS, filter=pc.field("company_id") == company_id) if mine else schema.empty_table()
    return {
        "dagster/row_count": int(sum(n or 0 for n in mine)),
        "delta_version": table.version(),
        "files": len(mine),
        "dagster/column_schema": column_schema(schema),
        "preview": preview(head),
    }
