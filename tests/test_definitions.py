"""The code location loads, every job resolves, and lineage runs from landing to KPIs."""

from __future__ import annotations

import json

import dagster as dg

from orchestration.definitions import defs
from orchestration.warehouse.dbt_project import warehouse_dbt_project


def test_definitions_load_and_every_job_resolves():
    definitions = defs()
    for job in definitions.jobs or []:
        definitions.resolve_job_def(job.name)
    assert {"registry_job", "ingest_company_job", "warehouse_job"} <= {j.name for j in definitions.jobs}


def test_dbt_manifest_parses_with_bronze_sources_mapped_to_ingest_assets():
    manifest = json.loads(warehouse_dbt_project.manifest_path.read_text(encoding="utf-8"))
    sources = {s["name"]: s for s in manifest["sources"].values()}
    for dataset in ("sensor_readings", "production_lots", "quality_inspections", "equipment_events", "companies"):
        assert sources[dataset]["meta"]["dagster"]["asset_key"] == ["bronze", dataset]
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert {"dim_company", "dim_equipment", "fct_sensor_readings", "fct_production_lots",
            "fct_quality_inspections"} <= models


def test_lineage_is_continuous_from_bronze_to_kpis():
    graph = defs().resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"bronze/sensor_readings", "warehouse/fct_sensor_readings", "features/lot_sensor_features",
            "kpis/programme_outputs"} <= keys

    def upstream(key: str) -> set[str]:
        seen, todo = set(), [dg.AssetKey.from_user_string(key)]
        while todo:
            for parent in graph.get(todo.pop()).parent_keys:
                if parent.to_user_string() not in seen:
                    seen.add(parent.to_user_string())
                    todo.append(parent)
        return seen

    assert "bronze/sensor_readings" in upstream("features/lot_sensor_features")
    assert "bronze/quality_inspections" in upstream("kpis/programme_outputs")
    assert "bronze/companies" in upstream("kpis/programme_outputs")
    # the KPIs follow the quality inspection (they count its scores) and feed the officers' dashboard
    assert "quality/inspection" in upstream("kpis/programme_outputs")
    assert "ml/defect_model" in upstream("kpis/programme_outputs")
    assert "ml/unit_scores" in upstream("kpis/watch_list")
    assert "kpis/watch_list" in upstream("reports/programme_kpi_dashboard")


def test_dbt_tests_become_asset_checks():
    graph = defs().resolve_asset_graph()
    checks = {key.asset_key.to_user_string() for key in graph.asset_check_keys}
    assert "warehouse/fct_sensor_readings" in checks


def test_quality_inspection_declares_the_bronze_tables_it_reads():
    graph = defs().resolve_asset_graph()
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey(["quality", "inspection"])).parent_keys}
    assert {"bronze/sensor_readings", "bronze/ingest_rejections", "warehouse/fct_sensor_readings"} <= parents
