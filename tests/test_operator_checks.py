"""Checks where operators look: the rejection ratio of a company's latest ingest (kept per
company), which companies are late against their delivery cadence, and quality runs requested
only for the companies a warehouse build took new data of."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pyarrow as pa

from orchestration.assets.ingest import company_landing_files
from orchestration.automation import companies_delivered_between
from orchestration.checks import company_lateness, rejection_outcome, rejection_ratio
from orchestration.lakehouse.bronze import INGEST_LOG_SCHEMA, LOG_TABLE
from orchestration.lakehouse.registry import load_registry
from orchestration.partitions import company_partitions
from orchestration.resources import LakeResource

CLIENTS = Path(__file__).resolve().parent.parent / "clients"
NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def _ledger_row(company, hours_ago, run="r1", landed=100, rejected=0, status="ingested"):
    return {"company_id": company, "source_file": f"{company}/f{hours_ago}.csv", "source_hash": f"{company}{hours_ago}",
            "status": status, "rows_landed": landed, "rows_rejected": rejected,
            "ingested_at": NOW - timedelta(hours=hours_ago), "ingest_run_id": run}


def test_rejection_ratio_judges_the_latest_run_only():
    rows = [_ledger_row("A", 50, run="old", landed=10, rejected=90), _ledger_row("A", 1, run="new", landed=97, rejected=3)]
    assert rejection_outcome("A", rows).passed  # 3 % in the latest run; the old run's 90 % is history
    worse = rows + [_ledger_row("A", 0, run="newest", landed=40, rejected=60)]
    outcome = rejection_outcome("A", worse)
    assert not outcome.passed and outcome.severity == dg.AssetCheckSeverity.ERROR
    assert outcome.metadata["rows_rejected"].value == 60 and "60 of 100" in outcome.description
    warn = rejection_outcome("A", [_ledger_row("A", 0, landed=90, rejected=10)])
    assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN


def test_rejection_ratio_runs_with_the_ingest_and_is_kept_per_company(lake):
    company = load_registry(CLIENTS / "registry.yaml")[0].company_id
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(company_partitions.name, [company])
    result = dg.materialize([company_landing_files, rejection_ratio], partition_key=company, instance=instance,
                            resources={"lake": LakeResource(root=str(lake), clients_dir=str(CLIENTS))})
    evaluation = {e.check_name: e for e in result.get_asset_check_evaluations()}["rejection_ratio"]
    assert evaluation.partition == company
    assert evaluation.metadata["rows_landed"].value > 0


def test_lateness_follows_each_company_cadence(tmp_path):
    registry = tmp_path / "registry.yaml"
    registry.write_text((CLIENTS / "registry.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    companies = [c.company_id for c in load_registry(registry)]
    daily_on_time, daily_late, weekly, backfill = companies[:4]
    text = registry.read_text(encoding="utf-8")
    for company, cadence in ((weekly, "weekly"), (backfill, "backfill")):
        text = text.replace(f"company_id: {company}\n", f"company_id: {company}\n    delivery_cadence: {cadence}\n", 1)
    registry.write_text(text, encoding="utf-8")
    lake = LakeResource(root=str(tmp_path / "lake"), clients_dir=str(tmp_path))
    (tmp_path / "mappings").mkdir()
    rows = [_ledger_row(daily_on_time, 20), _ledger_row(daily_late, 30), _ledger_row(weekly, 100),
            _ledger_row(backfill, 24 * 90)]
    lake.bronze_lake().append(LOG_TABLE, pa.Table.from_pylist(rows, schema=INGEST_LOG_SCHEMA))
    states = {s["company_id"]: s for s in company_lateness(lake, now=NOW)}
    assert not states[daily_on_time]["late"]
    assert states[daily_late]["late"] and states[daily_late]["hours_late"] == 4.0  # 30 h against 26 h of grace
    assert not states[weekly]["late"] and not states[backfill]["late"]
    never = companies[4]
    assert states[never]["late"] and states[never]["last_delivery"] == "never"


def test_quality_is_requested_only_for_companies_with_new_data(tmp_path):
    lake = LakeResource(root=str(tmp_path / "lake"), clients_dir=str(CLIENTS))
    rows = [_ledger_row("A", 30), _ledger_row("B", 5), _ledger_row("C", 4, status="duplicate"), _ledger_row("D", 1)]
    lake.bronze_lake().append(LOG_TABLE, pa.Table.from_pylist(rows, schema=INGEST_LOG_SCHEMA))
    previous_build, this_build = NOW - timedelta(hours=10), NOW - timedelta(hours=2)
    assert companies_delivered_between(lake, previous_build, this_build) == ["B"]


def test_quality_sensor_requests_one_run_per_company_after_each_warehouse_build(tmp_path):
    from orchestration.automation import WAREHOUSE_LANDING_FILES, quality_after_warehouse_sensor

    lake = LakeResource(root=str(tmp_path / "lake"), clients_dir=str(CLIENTS))
    now = datetime.now(timezone.utc)
    first = [{**_ledger_row("A", 0), "ingested_at": now - timedelta(minutes=5)}]
    lake.bronze_lake().append(LOG_TABLE, pa.Table.from_pylist(first, schema=INGEST_LOG_SCHEMA))
    with dg.instance_for_test() as instance:
        def tick(cursor=None):
            context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"lake": lake})
            return quality_after_warehouse_sensor(context), context.cursor

        result, cursor = tick()
        assert isinstance(result, dg.SkipReason)  # no warehouse build yet
        instance.report_runless_asset_event(dg.AssetMaterialization(WAREHOUSE_LANDING_FILES))
        result, cursor = tick(cursor)
        assert [r.partition_key for r in result] == ["A"]
        result, cursor = tick(cursor)
        assert isinstance(result, dg.SkipReason)  # the same build is not looked at twice
        later = [{**_ledger_row("B", 0), "ingested_at": datetime.now(timezone.utc)}]
        lake.bronze_lake().append(LOG_TABLE, pa.Table.from_pylist(later, schema=INGEST_LOG_SCHEMA))
        instance.report_runless_asset_event(dg.AssetMaterialization(WAREHOUSE_LANDING_FILES))
        result, cursor = tick(cursor)
        assert [r.partition_key for r in result] == ["B"]


def test_quality_sensor_skips_companies_inspected_after_the_build(tmp_path):
    """The demo builds and inspects every company itself; the sensor's first tick when the UI starts
    must not inspect them again."""
    from orchestration.automation import QUALITY_INSPECTION, WAREHOUSE_LANDING_FILES, quality_after_warehouse_sensor

    lake = LakeResource(root=str(tmp_path / "lake"), clients_dir=str(CLIENTS))
    now = datetime.now(timezone.utc)
    rows = [{**_ledger_row(c, 0), "ingested_at": now - timedelta(minutes=5)} for c in ("A", "B")]
    lake.bronze_lake().append(LOG_TABLE, pa.Table.from_pylist(rows, schema=INGEST_LOG_SCHEMA))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(company_partitions.name, ["A", "B"])
        instance.report_runless_asset_event(dg.AssetMaterialization(WAREHOUSE_LANDING_FILES))
        instance.report_runless_asset_event(dg.AssetMaterialization(QUALITY_INSPECTION, partition="A"))
        context = dg.build_sensor_context(instance=instance, resources={"lake": lake})
        assert [r.partition_key for r in quality_after_warehouse_sensor(context)] == ["B"]
