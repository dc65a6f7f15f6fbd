"""`dbt docs generate` works and every mart, and every column of every mart, is described."""

from __future__ import annotations

from dagster_dbt import DbtCliResource

from orchestration.warehouse.build import dbt_environment
from orchestration.warehouse.dbt_project import warehouse_dbt_project
from orchestration.warehouse.ducklake import Warehouse
from orchestration.warehouse.environment import environment


def test_docs_generate_and_every_mart_column_is_described(tmp_path):
    with environment(**dbt_environment(Warehouse.in_folder(tmp_path / "warehouse"), tmp_path / "bronze")):
        invocation = DbtCliResource(project_dir=warehouse_dbt_project).cli(["docs", "generate"])
        invocation.wait()
    assert invocation.is_successful()
    assert (invocation.target_path / "index.html").is_file()
    assert (invocation.target_path / "catalog.json").is_file()

    manifest = invocation.get_artifact("manifest.json")
    marts = [node for node in manifest["nodes"].values()
             if node["resource_type"] == "model" and "marts" in node["fqn"]]
    assert {"dim_company", "fct_sensor_readings", "mart_oee_daily", "mart_defects_weekly",
            "mart_company_data_freshness"} <= {m["name"] for m in marts}

    undocumented = []
    for mart in marts:
        if not mart["description"].strip():
            undocumented.append(mart["name"])
        # the contract makes the declared columns exactly the table's columns
        assert mart["config"]["contract"]["enforced"], mart["name"]
        assert mart["columns"], mart["name"]
        for column in mart["columns"].values():
            if not (column.get("description") or "").strip():
                undocumented.append(f"{mart['name']}.{column['name']}")
            if not column.get("data_type"):
                undocumented.append(f"{mart['name']}.{column['name']} (no data_type)")
    assert undocumented == []

    oee = next(m for m in marts if m["name"] == "mart_oee_daily")
    assert "availability" in oee["description"] and "설비종합효율" in oee["description"]
