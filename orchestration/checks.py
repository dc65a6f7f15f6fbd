"""Checks where operators look: on bronze (how much of a company's input was rejected, which
companies are late against their delivery cadence) and on the reports (written, within budget);
the feature tables' (orchestration/feature_checks.py) and the KPIs' (orchestration/kpi_checks.py)
join them in OPERATOR_CHECKS. dbt's tests are the warehouse's checks; the quality dimensions are
the quality inspection's."""


from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pyarrow.compute as pc

from orchestration.feature_checks import FEATURE_CHECKS
from orchestration.kpi_checks import KPI_CHECKS
from orchestration.lakehouse.bronze import LOG_TABLE
from orchestration.lakehouse.delta_reads import delta_dataset
from orchestration.lakehouse.registry import CADENCES, load_registry
from orchestration.partitions import company_partitions
from orchestration.resources import LakeResource

INGEST_LOG = dg.AssetKey(["bronze", LOG_TABLE])
QUALITY_REPORT = dg.AssetKey(["reports", "quality_report"])
REJECTION_WARN_ABOVE = 0.05  # of a company's source rows in its latest ingest run
REJECTION_ERROR_ABOVE = 0.5
REPORT_BUDGET_BYTES = 10 * 1024 * 1024  # an HTML report (shared plotly.js, not embedded)
WORKBOOK_BUDGET_BYTES = 5 * 1024 * 1024  # what a ministry mailbox takes as an attachment


def read_ledger(lake: LakeResource, columns: list[str], company_id: str | None = None):
    table = lake.bronze_lake().open(LOG_TABLE)
    if table is None:
        return None
    dataset = delta_dataset(table)
    where = (pc.field("company_id") == company_id) if company_id else None
    return dataset.to_table(columns=columns, filter=where)


@dg.asset_check(asset=INGEST_LOG, name="rejection_ratio", partitions_def=company_partitions,
                description=f"Rows rejected at ingest in the company's latest run, against all its source rows "
                f"(warn above {REJECTION_WARN_ABOVE:.0%}, error above {REJECTION_ERROR_ABOVE:.0%}).")
def rejection_ratio(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    company = context.partition_key
    ledger = read_ledger(lake, ["ingest_run_id", "ingested_at", "rows_landed", "rows_rejected"], company)
    return rejection_outcome(company, ledger.to_pylist() if ledger is not None else [])


def rejection_outcome(company: str, ledger_rows: list[dict]) -> dg.AssetCheckResult:
    """The rejection ratio of the company's latest ingest run, from its ledger rows."""
    if not ledger_rows:
        return dg.AssetCheckResult(passed=True, description=f"{company}: nothing ingested yet",
                                   metadata={"company": company, "files": 0})
    latest = max(ledger_rows, key=lambda r: r["ingested_at"])["ingest_run_id"]
    run = [r for r in ledger_rows if r["ingest_run_id"] == latest]
    landed = sum(r["rows_landed"] or 0 for r in run)
    rejected = sum(r["rows_rejected"] or 0 for r in run)
    ratio = rejected / (landed + rejected) if landed + rejected else 0.0
    return dg.AssetCheckResult(
        passed=ratio <= REJECTION_WARN_ABOVE,
        severity=dg.AssetCheckSeverity.ERROR if ratio > REJECTION_ERROR_ABOVE else dg.AssetCheckSeverity.WARN,
        description=f"{company}: {rejected} of {landed + rejected} source rows rejected ({ratio:.1%}) in run {latest}",
        metadata={"company": company, "files": len(run), "rows_landed": landed, "rows_rejected": rejected,
                  "rejected_ratio": ratio, "run_id": latest})


def company_lateness(lake: LakeResource, now: datetime | None = None) -> list[dict]:
    """Per registered company: its cadence, when it last delivered a file and how late it is now
    (hours past the cadence's grace; 0 when on time; backfill-only companies are never late)."""
    now = now or datetime.now(timezone.utc)
    ledger = read_ledger(lake, ["company_id", "ingested_at"])
    last: dict[str, datetime] = {}
    for row in (ledger.to_pylist() if ledger is not None else []):
        if row["ingested_at"] and row["ingested_at"] > last.get(row["company_id"], datetime.min.replace(tzinfo=timezone.utc)):
            last[row["company_id"]] = row["ingested_at"]
    states = []
    for company in load_registry(lake.registry_file):
        grace = CADENCES[company.delivery_cadence]
        delivered = last.get(company.company_id)
        if grace is None:
            late_h = 0.0
        elif delivered is None:
            late_h = float("inf")
        else:
            late_h = max(0.0, (now - delivered - timedelta(hours=grace)).total_seconds() / 3600)
        states.append({"company_id": company.company_id, "delivery_cadence": company.delivery_cadence,
                       "last_delivery": delivered.isoformat() if delivered else "never",
                       "hours_late": round(late_h, 1) if late_h != float("inf") else -1.0,
                       "late": late_h > 0})
    return states


@dg.asset_check(asset=INGEST_LOG, name="company_freshness",
                description="Every company delivered within its delivery cadence (clients/registry.yaml "
                "`delivery_cadence`: hourly, daily, weekly, monthly, or backfill = history only, never late). "
                "Fails naming the late companies; hourly_freshness_schedule evaluates it every hour.")
def company_freshness(lake: LakeResource) -> dg.AssetCheckResult:
    states = company_lateness(lake)
    late = [s for s in states if s["late"]]
    return dg.AssetCheckResult(
        passed=not late,
        severity=dg.AssetCheckSeverity.WARN,
        description=("late: " + ", ".join(
            f"{s['company_id']} ({s['delivery_cadence']}, last {s['last_delivery']})" for s in late)) if late
        else "every company delivered within its cadence",
        metadata={"late_companies": ", ".join(s["company_id"] for s in late) or "none",
                  "companies": dg.MetadataValue.md("\n".join(
                      ["| company | cadence | last delivery | hours late |", "|---|---|---|---|"]
                      + [f"| {s['company_id']} | {s['delivery_cadence']} | {s['last_delivery']} | "
                         f"{'never delivered' if s['hours_late'] < 0 else s['hours_late']} |" for s in states]))})


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.0f} KB"


def report_file_outcome(path: str | None, budget_bytes: int, company: str | None = None) -> dg.AssetCheckResult:
    """Whether the file a report's latest materialisation wrote is there, not empty and within budget."""
    size = Path(path).stat().st_size if path and Path(path).is_file() else 0
    state = ("never written" if path is None else "missing" if not Path(path).is_file()
             else "empty" if not size else f"{_size(size)} of {_size(budget_bytes)}")
    return dg.AssetCheckResult(
        passed=0 < size <= budget_bytes,
        description=f"{(company + ': ') if company else ''}{path or 'no file'}: {state}",
        metadata={**({"company": company} if company else {}), "path": dg.MetadataValue.path(path or ""),
                  "bytes": size, "budget_bytes": budget_bytes})


def report_file_check(asset: dg.AssetKey, path_key: str, budget_bytes: int, *, per_company: bool,
                      what: str) -> dg.AssetChecksDefinition:
    """`report_written` on a report asset: the file its latest materialisation (of the company, for a
    per-company report) names under `path_key` exists and stays within `budget_bytes`."""

    @dg.asset_check(asset=asset, name="report_written", partitions_def=company_partitions if per_company else None,
                    description=f"{what} exists and stays within {budget_bytes / 2**20:g} MB.")
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        company = context.partition_key if per_company else None
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[company] if company else None), limit=1).records
        value = records[0].asset_materialization.metadata.get(path_key) if records else None
        return report_file_outcome(str(value.value) if value is not None else None, budget_bytes, company)

    return _check


REPORT_CHECKS = [
    report_file_check(QUALITY_REPORT, "path", REPORT_BUDGET_BYTES, per_company=True,
                      what="The company's quality report (it opens offline, charts embedded)"),
    report_file_check(dg.AssetKey(["reports", "ai_demonstration"]), "report", REPORT_BUDGET_BYTES, per_company=True,
                      what="The company's AI demonstration report"),
    report_file_check(dg.AssetKey(["reports", "programme_kpi_dashboard"]), "path", REPORT_BUDGET_BYTES,
                      per_company=False, what="The officers' KPI dashboard"),
    report_file_check(dg.AssetKey(["reports", "programme_kpi_workbook"]), "path", WORKBOOK_BUDGET_BYTES,
                      per_company=False, what="The quarterly KPI workbook"),
]


OPERATOR_CHECKS = [rejection_ratio, company_freshness, *REPORT_CHECKS, *FEATURE_CHECKS, *KPI_CHECKS]

freshness_check_job = dg.define_asset_job(
    "freshness_check_job", selection=dg.AssetSelection.checks(company_freshness),
    description="Evaluate which companies are late against their delivery cadence.")

hourly_freshness_schedule = dg.ScheduleDefinition(
    name="hourly_freshness_schedule", job=freshness_check_job, cron_schedule="5 * * * *",
    execution_timezone="Asia/Seoul", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour: which company is late against its delivery cadence (check company_freshness).")
