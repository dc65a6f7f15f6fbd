"""A failed run and a failed check each become an alert: in the alerts table, in the log and, when
configured, at the webhook."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest

from orchestration.alerts import check_failure_alert_sensor, read_alerts, run_failure_alert_sensor


@dg.asset(key=["bronze", "exploding"])
def exploding():
    raise RuntimeError("Delta commit refused for CJ-COS-01")


@dg.asset(key=["quality", "inspected"], check_specs=[dg.AssetCheckSpec("timeliness", asset=["quality", "inspected"])])
def inspected():
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(check_name="timeliness", passed=False, severity=dg.AssetCheckSeverity.WARN,
                              description="ES-FOD-01: a file landed 30 h after its last event")


@pytest.fixture
def webhook(monkeypatch):
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ALERT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hook")
    yield received
    server.shutdown()


def _run(instance, asset, tags=None):
    result = dg.materialize([asset], instance=instance, raise_on_error=False, tags=tags or {})
    return instance.get_run_by_id(result.run_id)


def test_failed_run_and_failed_check_raise_alerts(tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("LAKE_ROOT", str(tmp_path / "lake"))
    with dg.instance_for_test() as instance:
        failed = _run(instance, exploding, tags={"company": "CJ-COS-01"})
        assert failed.status == dg.DagsterRunStatus.FAILURE
        failure = instance.all_logs(failed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0].dagster_event
        run_failure_alert_sensor(dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor", dagster_event=failure, dagster_instance=instance,
            dagster_run=failed).for_run_failure())

        passed = _run(instance, inspected)
        assert passed.status == dg.DagsterRunStatus.SUCCESS
        success = instance.all_logs(passed.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)[0].dagster_event
        check_failure_alert_sensor(dg.build_run_status_sensor_context(
            sensor_name="check_failure_alert_sensor", dagster_event=success, dagster_instance=instance,
            dagster_run=passed))

    alerts = {a["kind"]: a for a in read_alerts(tmp_path / "lake")}
    assert alerts["run_failure"]["company_id"] == "CJ-COS-01"
    assert alerts["run_failure"]["run_id"] == failed.run_id
    assert "Delta commit refused" in alerts["run_failure"]["message"]
    assert alerts["check_failure"]["subject"] == "quality/inspected:timeliness"
    assert alerts["check_failure"]["severity"] == "WARN"
    log = (tmp_path / "lake" / "ops" / "alerts.log").read_text(encoding="utf-8")
    assert "run_failure" in log and "ES-FOD-01: a file landed 30 h" in log
    posted = [a["kind"] for body in webhook for a in body["alerts"]]
    assert posted == ["run_failure", "check_failure"]


def test_without_a_webhook_alerts_are_only_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKE_ROOT", str(tmp_path / "lake"))
    monkeypatch.delenv("ALERT_WEBHOOK_URL", raising=False)
    with dg.instance_for_test() as instance:
        passed = _run(instance, inspected)
        success = instance.all_logs(passed.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)[0].dagster_event
        check_failure_alert_sensor(dg.build_run_status_sensor_context(
            sensor_name="check_failure_alert_sensor", dagster_event=success, dagster_instance=instance,
            dagster_run=passed))
    assert [a["kind"] for a in read_alerts(tmp_path / "lake")] == ["check_failure"]
