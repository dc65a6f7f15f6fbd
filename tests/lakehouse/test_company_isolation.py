"""One company's trouble stays with that company: a faulty registry entry or mapping fails only its
runs, a company with an ingest in progress gets no second run, and the instance the project writes
serialises runs per company and recovers dead ones."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from orchestration.assets.ingest import company_landing_files
from orchestration.lakehouse.landing_to_bronze import ingest_landing
from orchestration.lakehouse.registry import RegistryError, load_registry, read_registry
from orchestration.partitions import company_partitions
from orchestration.resources import LakeResource

REPO = Path(__file__).resolve().parents[2]
CLIENTS = REPO / "clients"
COMPANIES = [c.company_id for c in load_registry(CLIENTS / "registry.yaml")]


@pytest.fixture
def faulty_clients(tmp_path) -> Path:
    """The real clients folder with the second company's registry entry missing `name_en` and the
    third company's mapping broken."""
    clients = tmp_path / "clients"
    shutil.copytree(CLIENTS, clients)
    document = yaml.safe_load((clients / "registry.yaml").read_text(encoding="utf-8"))
    del document["companies"][1]["name_en"]
    (clients / "registry.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    (clients / "mappings" / f"{COMPANIES[2]}.yaml").write_text("company_id: [unclosed\n", encoding="utf-8")
    return clients


def test_a_faulty_registry_entry_is_that_company_s_problem_only(faulty_clients):
    registry = read_registry(faulty_clients / "registry.yaml")
    assert [c.company_id for c in registry.companies] == [c for c in COMPANIES if c != COMPANIES[1]]
    assert set(registry.problems) == {COMPANIES[1]} and "missing name_en" in registry.problems[COMPANIES[1]]
    assert registry.listed == set(COMPANIES)
    with pytest.raises(RegistryError, match="missing name_en"):
        load_registry(faulty_clients / "registry.yaml")  # the all-or-nothing reading stays for validation


def test_ingest_goes_on_for_every_other_company(lake, faulty_clients):
    reports = ingest_landing(lake / "landing", faulty_clients, lake / "bronze", lake / "quarantine")
    assert set(reports) == set(COMPANIES)
    assert "missing name_en" in reports[COMPANIES[1]].error
    assert COMPANIES[2] in reports[COMPANIES[2]].error
    fine = [c for c in COMPANIES if c not in COMPANIES[1:3]]
    assert all(reports[c].error is None and reports[c].rows_landed() > 0 for c in fine)
    # the faulty companies' files are still theirs: not quarantined as an unknown company's
    assert not (lake / "quarantine" / "_unattributed").exists()


def test_the_ingest_run_of_a_faulty_company_fails_with_its_message_and_the_next_one_lands(lake, faulty_clients):
    resources = {"lake": LakeResource(root=str(lake), clients_dir=str(faulty_clients))}
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(company_partitions.name, COMPANIES)
    bad = dg.materialize([company_landing_files], partition_key=COMPANIES[1], instance=instance,
                         resources=resources, raise_on_error=False)
    assert not bad.success
    failure = next(e for e in bad.all_events if e.event_type_value == "STEP_FAILURE")
    assert "missing name_en" in str(failure.event_specific_data.error)
    good = dg.materialize([company_landing_files], partition_key=COMPANIES[0], instance=instance, resources=resources)
    assert good.success


def test_landing_sensor_requests_no_run_for_a_company_with_one_running(lake):
    from orchestration.jobs import ingest_company_job
    from orchestration.sensors import landing_sensor

    resources = {"lake": LakeResource(root=str(lake), clients_dir=str(CLIENTS))}
    busy = COMPANIES[0]
    with dg.instance_for_test() as instance:
        running = instance.add_run(dg.DagsterRun(job_name=ingest_company_job.name, run_id="running-run",
                                                 status=dg.DagsterRunStatus.STARTED, tags={"company": busy}))
        first = landing_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        requested = {r.partition_key for r in first.run_requests if r.partition_key}
        assert busy not in requested and set(COMPANIES) - {busy} <= requested
        instance.report_run_failed(running)  # the run ends
        second = landing_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=resources))
        assert {r.partition_key for r in second.run_requests if r.partition_key} == {busy}


def test_landing_sensor_asks_again_for_a_company_whose_ingest_died(lake):
    """A killed run whose retry was killed too leaves files unlanded: the next tick asks again, once."""
    from orchestration.jobs import ingest_company_job
    from orchestration.sensors import landing_sensor

    resources = {"lake": LakeResource(root=str(lake), clients_dir=str(CLIENTS))}
    company = COMPANIES[0]
    with dg.instance_for_test() as instance:
        first = landing_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        killed = instance.add_run(dg.DagsterRun(job_name=ingest_company_job.name, run_id="killed-run",
                                                status=dg.DagsterRunStatus.STARTED, tags={"company": company}))
        instance.report_run_failed(killed, "run worker process is gone (killed or crashed)")
        second = landing_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=resources))
        [again] = [r for r in second.run_requests if r.partition_key]
        assert again.partition_key == company and again.run_key.endswith(":after:killed-run")


def test_the_instance_config_limits_runs_per_company_and_monitors_workers(tmp_path, monkeypatch):
    from orchestration.instance import write_instance_config
    from orchestration.run_launcher import LocalRunLauncher

    write_instance_config(tmp_path, poll_interval_seconds=5)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    assert isinstance(instance.run_launcher, LocalRunLauncher)
    assert instance.run_monitoring_enabled and instance.run_launcher.supports_check_run_worker_health
    assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert limits == [{"key": "company", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]
    # an operator's own dagster.yaml (no marker line) is left alone
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    write_instance_config(tmp_path)
    assert (tmp_path / "dagster.yaml").read_text(encoding="utf-8") == "telemetry:\n  enabled: false\n"


def test_a_killed_worker_process_is_seen_dead():
    from orchestration.run_launcher import process_alive

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert process_alive(child.pid, not_after=time.time())
        assert not process_alive(child.pid, not_after=time.time() - 3600), "a pid newer than the run is not its worker"
        os.kill(child.pid, signal.SIGKILL)
        time.sleep(0.2)  # not reaped yet: a zombie is dead too
        assert not process_alive(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not process_alive(child.pid)
