"""The Dagster ingest asset: one company partition, one day or file at a time, exactly once."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow.compute as pc
from deltalake import DeltaTable

from orchestration.assets.ingest import company_landing_files
from orchestration.lakehouse.registry import load_registry
from orchestration.partitions import company_partitions
from orchestration.resources import LakeResource

REPO = Path(__file__).resolve().parents[2]
CLIENTS = REPO / "clients"
COMPANY = load_registry(CLIENTS / "registry.yaml")[0].company_id


def ingest(lake: Path, instance: dg.DagsterInstance, only_files: str = "") -> dg.ExecuteInJobResult:
    return dg.materialize(
        [company_landing_files], partition_key=COMPANY, instance=instance,
        resources={"lake": LakeResource(root=str(lake), clients_dir=str(CLIENTS))},
        run_config={"ops": {"company_landing_files": {"config": {"only_files": only_files}}}},
    )


def logged_files(lake: Path) -> list[str]:
    log = DeltaTable(str(lake / "bronze" / "ingest_log")).to_pyarrow_table(columns=["source_file"])
    return sorted(log["source_file"].to_pylist())


def test_one_day_of_one_company_then_the_rest_exactly_once(lake):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(company_partitions.name, [COMPANY])
    company_files = sorted(p.relative_to(lake / "landing").as_posix()
                           for p in (lake / "landing" / COMPANY).rglob("*") if p.is_file())
    first_day = sorted({name.rsplit("_", 1)[-1].split(".")[0] for name in company_files})[0]
    assert first_day.isdigit(), company_files

    result = ingest(lake, instance, only_files=f"*{first_day}*")
    assert result.success
    day_files = [f for f in company_files if first_day in f]
    assert logged_files(lake) == day_files

    assert ingest(lake, instance).success
    assert logged_files(lake) == company_files

    readings = DeltaTable(str(lake / "bronze" / "sensor_readings")).to_pyarrow_table()
    before = readings.num_rows
    assert ingest(lake, instance).success  # a re-run of the partition lands nothing new
    assert DeltaTable(str(lake / "bronze" / "sensor_readings")).to_pyarrow_table().num_rows == before
    assert logged_files(lake) == company_files
    # every landed row points back to a file of this company
    assert set(pc.unique(readings["_source_file"]).to_pylist()) <= set(company_files)
    # the operator sees in the run's metadata how many files the filtered run took
    new_files = [m.metadata["files_new"].value for m in result.asset_materializations_for_node("company_landing_files")
                 if "files_new" in m.metadata]
    assert new_files == [len(day_files)]


def test_a_run_that_lands_nothing_materialises_nothing_and_state_is_on_the_asset(lake):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(company_partitions.name, [COMPANY])
    first = ingest(lake, instance)
    materialised = {m.asset_key.to_user_string(): m.metadata
                    for m in first.asset_materializations_for_node("company_landing_files")}
    assert "bronze/sensor_readings" in materialised and "bronze/ingest_log" in materialised
    readings = DeltaTable(str(lake / "bronze" / "sensor_readings")).to_pyarrow_table(columns=["company_id"])
    state = materialised["bronze/sensor_readings"]
    assert state["dagster/row_count"].value == readings.num_rows
    assert state["delta_version"].value == DeltaTable(str(lake / "bronze" / "sensor_readings")).version()
    assert state["files"].value >= 1
    assert "reading_ts" in {c.name for c in state["dagster/column_schema"].schema.columns}
    assert len(state["preview"].records) == 5

    # nothing new: the run succeeds, materialises nothing, so automation downstream starts nothing
    again = ingest(lake, instance)
    assert again.success
    assert again.asset_materializations_for_node("company_landing_files") == []


def test_landing_sensor_requests_nothing_on_a_tick_without_change(lake):
    from orchestration.sensors import landing_sensor

    resources = {"lake": LakeResource(root=str(lake), clients_dir=str(CLIENTS))}
    with dg.instance_for_test() as instance:
        first = landing_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        assert {r.partition_key for r in first.run_requests if r.partition_key} >= {COMPANY}
        second = landing_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=resources))
        assert [r for r in second.run_requests if r.partition_key] == []
