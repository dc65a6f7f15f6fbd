"""A process killed during the first write of a bronze table leaves the table folder with data
files and an empty `_delta_log` ("No files in log segment" for every later reader). Readers take
it for no table, upkeep skips it, and the next ingest repairs it and starts the table cleanly."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from orchestration.lakehouse.bronze import BronzeLake, has_commit, repair_uncommitted
from orchestration.lakehouse.maintenance import bronze_tables, upkeep_bronze
from test_exactly_once import bronze_fingerprint, run_ingest


def leave_uncommitted(table_path, rows: pa.Table | None = None, age_seconds: float = 0) -> None:
    """The state a SIGKILL between the data files and the first commit leaves: written Parquet,
    a `_delta_log` folder without any entry."""
    if rows is not None:
        write_deltalake(str(table_path), rows, mode="append", partition_by=["company_id"])
    for entry in (table_path / "_delta_log").iterdir():
        entry.unlink() if entry.is_file() else shutil.rmtree(entry)
    old = time.time() - age_seconds
    for path in table_path.rglob("*"):
        os.utime(path, (old, old))


def test_readers_and_upkeep_ignore_a_table_without_commit(tmp_path):
    bronze = BronzeLake(tmp_path / "bronze")
    leave_uncommitted(tmp_path / "bronze" / "sensor_readings", pa.table({"company_id": ["A"], "x": [1]}))
    assert not has_commit(tmp_path / "bronze" / "sensor_readings")
    assert bronze.open("sensor_readings") is None
    assert bronze.hashes_in("sensor_readings", "A", "x") == set()
    assert bronze_tables(bronze) == []
    assert upkeep_bronze(bronze) == []
    # a fresh leftover may be a first write still in progress: left alone
    assert repair_uncommitted(tmp_path / "bronze" / "sensor_readings") == []


def test_the_next_ingest_repairs_it_and_lands_what_a_clean_run_lands(lake, tmp_path):
    clean = tmp_path / "clean"
    shutil.copytree(lake / "landing", clean / "landing")
    run_ingest(clean)
    expected = bronze_fingerprint(clean)

    # the killed run's orphan rows: a real ingest's table, its commits gone, ten minutes ago
    shutil.copytree(clean / "bronze" / "sensor_readings", lake / "bronze" / "sensor_readings")
    leave_uncommitted(lake / "bronze" / "sensor_readings", age_seconds=600)
    run_ingest(lake, run_id="after-crash")
    assert bronze_fingerprint(lake) == expected
    table = DeltaTable(str(lake / "bronze" / "sensor_readings"))
    assert table.version() == 0  # started cleanly, no orphan file survived
    on_disk = {p.resolve().as_uri() for p in (lake / "bronze" / "sensor_readings").rglob("*.parquet")}
    assert on_disk == {uri if uri.startswith("file:") else Path(uri).resolve().as_uri() for uri in table.file_uris()}
