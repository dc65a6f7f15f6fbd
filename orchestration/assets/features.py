"""Stage 3a: ML features from the warehouse marts."""

import dagster as dg
from dagster_dbt import get_asset_key_for_model
from deltalake import write_deltalake

from orchestration.assets.warehouse import warehouse_models
from orchestration.features.lot_sensor import FEATURE_TABLE, build_lot_sensor_features
from orchestration.resources import LakeResource, WarehouseResource


@dg.asset(
    key=["features", "lot_sensor_features"],
    group_name="features",
    deps=[get_asset_key_for_model([warehouse_models], m)
          for m in ("fct_sensor_readings", "fct_production_lots", "fct_quality_inspections")],
    pool="warehouse",
    automation_condition=dg.AutomationCondition.eager(),
    description="One row per production lot and standard tag: sensor aggregates during the lot "
    "(mean, std, min, max, p95, first, last) with the lot's inspection outcome as label. "
    f"Warehouse table `{FEATURE_TABLE}`; also a Delta table under lake/gold for training jobs.",
)
def lot_sensor_features(context: dg.AssetExecutionContext, lake: LakeResource,
                        warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.transaction("features/lot_sensor_features") as tx:
        rows = build_lot_sensor_features(tx.con)
        features = tx.con.sql(f"select * from {FEATURE_TABLE}").to_arrow_table()
        lots = tx.con.execute(f"select count(distinct lot_key), count(distinct lot_key) filter (where lot_failed) "
                              f"from {FEATURE_TABLE}").fetchall()[0]
    gold_path = lake.gold / "lot_sensor_features"
    write_deltalake(str(gold_path), features, mode="overwrite", schema_mode="overwrite", partition_by=["company_id"])
    return dg.MaterializeResult(metadata={
        "rows": rows, "lots": lots[0], "failed_lots": lots[1], "warehouse_snapshot_id": tx.snapshot_id,
        "warehouse_table": FEATURE_TABLE, "delta_table": dg.MetadataValue.path(str(gold_path)),
        "preview": dg.MetadataValue.md(features.slice(0, 10).to_pandas().to_markdown(index=False)
                                       if features.num_rows else "no rows"),
    })
