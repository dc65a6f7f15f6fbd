"""Delta reads through Arrow's own local filesystem: the same rows as deltalake's default reader,
and no Python object left for Arrow's threads to release while a process exits (the ingest racer
in test_concurrency aborted with -6 about once in thirty exits before)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.fs as pa_fs
import pytest
from deltalake import DeltaTable, write_deltalake

from orchestration.lakehouse.delta_reads import delta_dataset, local_root

# partition values a Delta writer percent-encodes on disk: a space, Hangul, a literal %2F
COMPANIES = ["CJ COS 01", "충북-식품-01", "JC%2FBAT", "EU-DC-01"]


@pytest.fixture
def table(tmp_path) -> DeltaTable:
    path = tmp_path / "청주 lake" / "sensor_readings"
    rows = pa.table({"company_id": [c for c in COMPANIES for _ in range(3)], "value": list(range(12))})
    write_deltalake(str(path), rows, partition_by=["company_id"])
    return DeltaTable(str(path))


def test_a_local_table_is_read_by_arrows_own_filesystem(table, tmp_path):
    assert local_root(table) == str(tmp_path / "청주 lake" / "sensor_readings") + "/"
    filesystem = delta_dataset(table).filesystem
    assert isinstance(filesystem, pa_fs.SubTreeFileSystem)
    assert isinstance(filesystem.base_fs, pa_fs.LocalFileSystem)


@pytest.mark.parametrize("company", [None, *COMPANIES])
def test_the_rows_are_those_of_deltalakes_own_reader(table, company):
    pruning = [("company_id", "=", company)] if company else None
    expected = table.to_pyarrow_dataset(file_pruning_predicate=pruning).to_table().sort_by("value")
    assert delta_dataset(table, company).to_table().sort_by("value").equals(expected)
    assert expected.num_rows == (3 if company else 12)


def test_a_table_in_an_object_store_keeps_deltalakes_reader():
    class InObjectStore:
        table_uri = "s3://bronze/sensor_readings"

    assert local_root(InObjectStore()) is None
