"""Automation that decides *what* to rebuild after the warehouse changed: a company's quality
inspection and report re-run after a warehouse build that took new data of that company, and
only for that company (an eager condition would re-inspect every company after every build)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import dagster as dg

from orchestration.checks import read_ledger
from orchestration.jobs import quality_report_job
from orchestration.resources import LakeResource

WAREHOUSE_LANDING_FILES = dg.AssetKey(["warehouse", "fct_landing_files"])
QUALITY_INSPECTION = dg.AssetKey(["quality", "inspection"])
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def inspected_since(instance: dg.DagsterInstance, company: str, moment: datetime) -> bool:
    """Whether the company's quality inspection ran after `moment` (e.g. `make pipeline` ran it
    right after its own build, before the UI and this sensor ever started)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=QUALITY_INSPECTION, asset_partitions=[company]), limit=1).records
    return bool(records) and records[0].timestamp > moment.timestamp()


def companies_delivered_between(lake: LakeResource, after: datetime, until: datetime) -> list[str]:
    ledger = read_ledger(lake, ["company_id", "ingested_at", "status"])
    if ledger is None:
        return []
    return sorted({r["company_id"] for r in ledger.to_pylist()
                   if r["status"] in ("ingested", "partial") and r["ingested_at"]
                   and after < r["ingested_at"] <= until})


@dg.sensor(
    jobs=[quality_report_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After each warehouse build, requests quality_report_job for each company whose new "
    "files that build took in (inspection + report of that company only).",
)
def quality_after_warehouse_sensor(context: dg.SensorEvaluationContext, lake: LakeResource):
    cursor = json.loads(context.cursor) if context.cursor else {"storage_id": 0, "ingested_until": EPOCH.isoformat()}
    records = context.instance.fetch_materializations(WAREHOUSE_LANDING_FILES, limit=1, ascending=False).records
    if not records or records[0].storage_id <= cursor["storage_id"]:
        return dg.SkipReason("no warehouse build since the last look")
    build = records[0]
    built_at = datetime.fromtimestamp(build.timestamp, tz=timezone.utc)
    companies = [c for c in companies_delivered_between(lake, datetime.fromisoformat(cursor["ingested_until"]), built_at)
                 if not inspected_since(context.instance, c, built_at)]
    context.update_cursor(json.dumps({"storage_id": build.storage_id, "ingested_until": built_at.isoformat()}))
    if not companies:
        return dg.SkipReason(f"the warehouse build of {built_at:%Y-%m-%d %H:%M} UTC took no new company data "
                             "not inspected since")
    return [dg.RunRequest(run_key=f"quality:{company}:{build.storage_id}", partition_key=company,
                          job_name=quality_report_job.name, tags={"company": company}) for company in companies]
