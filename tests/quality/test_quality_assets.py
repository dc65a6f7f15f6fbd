"""The Dagster assets: one partition (company) inspected and reported, with one asset check per
dimension whose outcome and severity follow clients/quality.yaml."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from contract_warehouse import COMPANY, build_contract_warehouse

from orchestration.resources import LakeResource, WarehouseResource
from orchestration.warehouse.ducklake import Warehouse

REPO = Path(__file__).resolve().parents[2]


def test_inspection_and_report_assets_for_one_company(tmp_path):
    from orchestration.assets.quality import quality_inspection, quality_report
    from orchestration.partitions import company_partitions

    lake = tmp_path / "lake"
    warehouse = Warehouse.in_folder(lake / "warehouse")
    build_contract_warehouse(warehouse, defects=True)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(company_partitions.name, [COMPANY])
    result = dg.materialize(
        [quality_inspection, quality_report],
        partition_key=COMPANY,
        instance=instance,
        resources={"lake": LakeResource(root=str(lake), clients_dir=str(REPO / "clients")),
                   "warehouse": WarehouseResource(catalog=warehouse.catalog, data_path=warehouse.data_path)},
        raise_on_error=True,
    )
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(checks) == {"completeness", "validity", "uniqueness", "consistency", "timeliness", "overall"}
    # the planted late file makes a sixth of the sensor rows late: timeliness ~83, below warn (95), above error (80)
    timeliness = checks["timeliness"]
    assert not timeliness.passed and timeliness.severity == dg.AssetCheckSeverity.WARN
    assert timeliness.metadata["company"].value == COMPANY
    assert {e.partition for e in checks.values()} == {COMPANY}  # kept per company in the Checks tab
    assert checks["consistency"].passed  # 2 orphan inspections among ~8,600 rows stay above 99
    # the inspection was published: a read-only reader sees the quality schema, at the snapshot
    # the materialisation names
    inspected = [m for m in result.get_asset_materialization_events()
                 if m.asset_key == dg.AssetKey(["quality", "inspection"])][0].materialization.metadata
    assert inspected["warehouse_snapshot_id"].value == warehouse.published_snapshot()
    con = warehouse.connect_read_only()
    try:
        n = con.execute("select count(*) from quality.dq_latest where company_id = ?", [COMPANY]).fetchall()[0][0]
    finally:
        con.close()
    assert n > 0
    report = lake / "reports" / "quality" / f"{COMPANY}.html"
    assert report.exists()
    materialized = [m for m in result.get_asset_materialization_events()
                    if m.asset_key == dg.AssetKey(["reports", "quality_report"])]
    assert materialized[0].materialization.metadata["path"].value == str(report)
