"""Time travel: the snapshot a features run records reads back the same rows after later builds,
a full refresh and the weekly upkeep (which expires every other old snapshot)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from test_dbt_models import COS, NOT_TESTS, T3, append, land_first_batch, land_second_batch, reading, utc

from orchestration.ingest.bronze_schemas import bronze_schema
from orchestration.resources import LakeResource, WarehouseResource
from orchestration.warehouse.build import build_warehouse
from orchestration.warehouse.ducklake import Warehouse
from orchestration.warehouse.snapshots import pin_snapshot, pinned_snapshots, read_at, upkeep_warehouse

REPO = Path(__file__).resolve().parents[2]
FEATURES = "select * from features.lot_sensor_features order by all"


def materialize_features(root: Path, warehouse: Warehouse) -> int:
    from orchestration.assets.features import lot_sensor_features

    result = dg.materialize(
        [lot_sensor_features],
        resources={"lake": LakeResource(root=str(root), clients_dir=str(REPO / "clients")),
                   "warehouse": WarehouseResource(catalog=warehouse.catalog, data_path=warehouse.data_path)},
        raise_on_error=True,
    )
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    return metadata["warehouse_snapshot_id"].value


def test_a_recorded_features_snapshot_reads_the_same_rows_after_builds_and_upkeep(tmp_path):
    bronze = tmp_path / "bronze"
    warehouse = Warehouse.in_folder(tmp_path / "warehouse")
    land_first_batch(bronze)
    land_second_batch(bronze)
    build_warehouse(warehouse, bronze, ["build", "--exclude", NOT_TESTS])
    recorded = materialize_features(tmp_path, warehouse)
    assert recorded == warehouse.published_snapshot()
    with read_at(warehouse, recorded) as con:
        training_set = con.execute(FEATURES).fetchall()
    assert training_set, "LOT-B has TEMP readings: the features table is not empty"
    pin_snapshot(warehouse, recorded, pinned_by="tests: training set", reason="time-travel test")

    # a later reading inside LOT-B changes its features; then an incremental build, a new
    # features run, a full refresh and the upkeep with no retention at all
    append(bronze, "sensor_readings", [reading(COS, "E1", "온도(°F)", "TEMP", 212.0, "degF", utc(2026, 10, 5, 7),
                                               f"{COS}/sensors/2026-10-05_late.csv", 2, T3)],
           bronze_schema("sensor_readings"))
    build_warehouse(warehouse, bronze, ["build", "--exclude", NOT_TESTS])
    later = materialize_features(tmp_path, warehouse)
    build_warehouse(warehouse, bronze, ["build", "--full-refresh", "--exclude", NOT_TESTS])
    done = upkeep_warehouse(warehouse, retention_days=0)

    assert later > recorded and done.snapshots_expired > 0
    with read_at(warehouse, recorded) as con:
        assert con.execute(FEATURES).fetchall() == training_set
        # the other tables of that snapshot are there too, as they were
        assert con.execute("select count(*) from main.fct_sensor_readings").fetchone() == (9,)
    with warehouse.connect_read_only() as con:
        assert con.execute(FEATURES).fetchall() != training_set
        assert con.execute("select count(*) from main.fct_sensor_readings").fetchone() == (10,)
        assert recorded in pinned_snapshots(con)
        surviving = {s for (s,) in con.execute("select snapshot_id from warehouse.snapshots()").fetchall()}
    assert later not in surviving  # unpinned and older than the (zero) retention: expired
    assert recorded in surviving
    with pytest.raises(Exception):
        read_at(warehouse, later).execute("select 1").fetchall()
