"""Bronze tables keep a checkpoint near their latest commit, so a reader opening one (each of the
warehouse build's delta_scans, an ingest's exactly-once look-ups) replays a few JSON commits, not
the table's whole history."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from orchestration.lakehouse.bronze import CHECKPOINT_INTERVAL, BronzeLake
from orchestration.lakehouse.maintenance import upkeep_bronze
from orchestration.warehouse.bronze_sources import ensure_bronze_tables


def day_of_readings(company: str, day: int) -> pa.Table:
    return pa.table({"company_id": [company] * 3, "source_tag": ["TEMP", "PRES", "온도"],
                     "value": [float(day), day + 0.5, day + 0.25]})


def last_checkpoint(table: Path) -> int | None:
    marker = table / "_delta_log" / "_last_checkpoint"
    return json.loads(marker.read_text())["version"] if marker.exists() else None


def test_an_ingested_table_writes_a_checkpoint_every_tenth_commit(tmp_path):
    bronze = BronzeLake(tmp_path / "bronze")
    commits = CHECKPOINT_INTERVAL * 2 + 3
    for day in range(commits):
        bronze.append("sensor_readings", day_of_readings(f"청주-{day % 4}", day))
    table = tmp_path / "bronze" / "sensor_readings"
    assert DeltaTable(str(table)).version() == commits - 1
    # a reader opening it replays fewer commits than the interval
    assert commits - 1 - last_checkpoint(table) < CHECKPOINT_INTERVAL
    assert DeltaTable(str(table)).to_pyarrow_dataset().count_rows() == commits * 3


def test_the_tables_the_build_creates_empty_carry_the_interval(tmp_path):
    ensure_bronze_tables(tmp_path / "bronze")
    for name in ("sensor_readings", "ingest_log", "companies"):
        configuration = DeltaTable(str(tmp_path / "bronze" / name)).metadata().configuration
        assert configuration.get("delta.checkpointInterval") == str(CHECKPOINT_INTERVAL), name


def test_upkeep_gives_an_older_table_the_interval_and_a_checkpoint(tmp_path):
    """A table an earlier release wrote (Delta's default: a checkpoint every 100 commits) gets the
    interval at the weekly upkeep, and a checkpoint of the compacted version; its rows stay."""
    table = tmp_path / "bronze" / "equipment_events"
    for day in range(15):
        write_deltalake(str(table), day_of_readings("충주", day), mode="append", partition_by=["company_id"])
    assert last_checkpoint(table) is None
    before = DeltaTable(str(table)).to_pyarrow_table().sort_by("value")

    upkeep_bronze(tmp_path / "bronze", retention_hours=0)

    after = DeltaTable(str(table))
    assert after.metadata().configuration.get("delta.checkpointInterval") == str(CHECKPOINT_INTERVAL)
    assert last_checkpoint(table) == after.version()
    assert after.to_pyarrow_table().sort_by("value").equals(before)
    # later ingests checkpoint on their own
    for day in range(CHECKPOINT_INTERVAL):
        BronzeLake(tmp_path / "bronze").append("equipment_events", day_of_readings("충주", 100 + day))
    assert DeltaTable(str(table)).version() - last_checkpoint(table) < CHECKPOINT_INTERVAL
