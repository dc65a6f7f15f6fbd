"""Reading a Delta table's rows into Arrow.

A local table is scanned through Arrow's own local filesystem, not deltalake's default (a
Python-implemented filesystem handed to Arrow). With the default, Arrow's scan threads release
their last references to that Python object after the scan has returned, and when that happens
while the interpreter is finishing they call into Python as it goes away: the process aborts
("terminate called without an active exception", exit -6) after its work is done. A command or a
run worker that did everything right then reports a failure (seen in two ingest processes racing,
about once in thirty exits on a loaded machine; apache/arrow#34314). Tables in an object store
keep deltalake's handler, which knows their credentials.
"""

from __future__ import annotations

from urllib.parse import unquote, urlparse

import pyarrow.dataset as ds
import pyarrow.fs as pa_fs
from deltalake import DeltaTable


def local_root(table: DeltaTable) -> str | None:
    """The folder of a table on the local disk; None for one in an object store."""
    uri = table.table_uri
    if uri.startswith("file://"):
        return unquote(urlparse(uri).path)
    return uri if "://" not in uri else None


def delta_dataset(table: DeltaTable, company_id: str | None = None) -> ds.Dataset:
    """The table's current rows as a dataset; with `company_id`, only the files of that company's
    partition (the other partitions are not opened)."""
    root = local_root(table)
    filesystem = pa_fs.SubTreeFileSystem(root, pa_fs.LocalFileSystem()) if root is not None else None
    pruning = [("company_id", "=", company_id)] if company_id is not None else None
    return table.to_pyarrow_dataset(filesystem=filesystem, file_pruning_predicate=pruning)
