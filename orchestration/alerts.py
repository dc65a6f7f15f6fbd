"""Alerts for the people who run the platform: a failed run, a failed check.

Each alert is appended to the `ops/alerts` Delta table under the lake (the history an operator or
the post-management watch list can query), written to `ops/alerts.log`, and, when the environment
names one (`ALERT_WEBHOOK_URL`, off by default), POSTed as JSON to a webhook such as Slack's
incoming webhooks or a mail relay. A webhook that fails never fails the sensor: the alert is
already recorded.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from orchestration import settings
from orchestration.lakehouse.delta_reads import delta_dataset

log = logging.getLogger("orchestration.alerts")

ALERTS_SCHEMA = pa.schema([
    ("raised_at", pa.timestamp("us", tz="UTC")),
    ("kind", pa.string()),  # run_failure | check_failure
    ("severity", pa.string()),  # ERROR | WARN
    ("job_name", pa.string()),
    ("run_id", pa.string()),
    ("company_id", pa.string()),  # the run's partition/company tag, when it has one
    ("subject", pa.string()),  # the check or the step that failed
    ("message", pa.string()),
])


@dataclass(frozen=True)
class Alert:
    kind: str
    severity: str
    job_name: str
    run_id: str
    company_id: str | None
    subject: str
    message: str
    raised_at: datetime


def alerts_table(lake_root: Path | None = None) -> Path:
    return Path(lake_root or settings.lake_root()) / "ops" / "alerts"


def raise_alerts(alerts: list[Alert], lake_root: Path | None = None) -> None:
    if not alerts:
        return
    table = alerts_table(lake_root)
    table.parent.mkdir(parents=True, exist_ok=True)
    rows = pa.Table.from_pylist([asdict(a) for a in alerts], schema=ALERTS_SCHEMA)
    write_deltalake(str(table), rows, mode="append")
    with open(table.parent / "alerts.log", "a", encoding="utf-8") as out:
        for a in alerts:
            line = (f"{a.raised_at.isoformat()} {a.severity} {a.kind} job={a.job_name} run={a.run_id} "
                    f"company={a.company_id or '-'} {a.subject}: {a.message}")
            out.write(line + "\n")
            log.warning(line)
    webhook = os.environ.get("ALERT_WEBHOOK_URL")
    if webhook:
        _post(webhook, alerts)


def _post(url: str, alerts: list[Alert]) -> None:
    text = "\n".join(f"[{a.severity}] {a.kind} {a.job_name} {a.company_id or ''} {a.subject}: {a.message}"
                     for a in alerts)
    body = json.dumps({"text": text, "alerts": [{**asdict(a), "raised_at": a.raised_at.isoformat()}
                                                 for a in alerts]}, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=5).close()
    except OSError as error:  # recorded above; a dead webhook must not hide the next alert
        log.error(f"alert webhook {url} failed: {error}")


def read_alerts(lake_root: Path | None = None) -> list[dict]:
    table = alerts_table(lake_root)
    if not (table / "_delta_log").exists():
        return []
    return delta_dataset(DeltaTable(str(table))).to_table().to_pylist()


def _root_cause(error) -> str:
    """Dagster wraps the asset's own exception; the innermost cause is the one that names the file."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def _company_of(run: dg.DagsterRun) -> str | None:
    return run.tags.get("company") or run.tags.get("dagster/partition")


def failed_checks(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[Alert]:
    """The asset checks of a run that did not pass, one alert each."""
    alerts = []
    for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if evaluation.passed:
            continue
        description = evaluation.description or ""
        partition = getattr(evaluation, "partition", None)
        alerts.append(Alert(
            kind="check_failure", severity=evaluation.severity.value, job_name=run.job_name, run_id=run.run_id,
            company_id=partition or _company_of(run),
            subject=f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}",
            message=description[:2000] or "check failed", raised_at=datetime.now(timezone.utc)))
    return alerts


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed run (and the checks it failed) in lake/ops/alerts and its log, "
    "and posts it to ALERT_WEBHOOK_URL when set.",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext):
    run = context.dagster_run
    step_failures = context.get_step_failure_events()
    # the step's own error says what went wrong; the run's message only that some step failed
    errors = [f"{e.step_key}: {_root_cause(e.event_specific_data.error)}" for e in step_failures
              if e.event_specific_data and e.event_specific_data.error]
    message = " | ".join(errors) or context.failure_event.message or "run failed"
    failed_steps = ", ".join(e.step_key for e in step_failures if e.step_key) or "-"
    alert = Alert(kind="run_failure", severity="ERROR", job_name=run.job_name, run_id=run.run_id,
                  company_id=_company_of(run), subject=failed_steps, message=message[:2000],
                  raised_at=datetime.now(timezone.utc))
    raise_alerts([alert, *failed_checks(context.instance, run)])


@dg.run_status_sensor(
    name="check_failure_alert_sensor",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every asset check that failed in a successful run (a warn-level quality "
    "dimension, a dbt test that warned) in lake/ops/alerts and its log, and posts it to "
    "ALERT_WEBHOOK_URL when set.",
)
def check_failure_alert_sensor(context: dg.RunStatusSensorContext):
    raise_alerts(failed_checks(context.instance, context.dagster_run))


ALERT_SENSORS = [run_failure_alert_sensor, check_failure_alert_sensor]
