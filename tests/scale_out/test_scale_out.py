"""The lakehouse beyond one machine, with real servers and real processes: bronze Delta tables on
S3, the warehouse DuckLake with its catalog in PostgreSQL and its data files on S3, the Dagster
instance in PostgreSQL, two company ingests at once (each a separate `dagster job execute`
process, as two machines would run them), and an analyst's process reading the warehouse
throughout.

Everything is configured through the environment only (the settings docs/scale-out.md lists), and
every Dagster command is a separate process that shares state with the others only through the
servers: the instance in PostgreSQL, the lake on S3.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest
from deltalake import DeltaTable, QueryBuilder

from orchestration.lakehouse.registry import load_registry

pytestmark = pytest.mark.scale_out
REPO = Path(__file__).resolve().parents[2]
CLIENTS = REPO / "clients"
COMPANIES = [c.company_id for c in load_registry(CLIENTS / "registry.yaml")][:2]
COMMAND_TIMEOUT = 900  # a warehouse build on a loaded 2-core machine


@pytest.fixture
def cluster(tmp_path, postgres_server, s3_server, small_sample):
    """Environment of a deployment whose state lives only in the two servers (plus the landing
    folder, where client files arrive). Each test gets its own databases and bucket."""
    name = tmp_path.name.replace("-", "_").lower()[-40:]
    bucket = s3_server.create_bucket(f"lake-{tmp_path.name.lower().replace('_', '-')[-40:]}")
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DAGSTER_", "BRONZE_", "WAREHOUSE_"))},
        **s3_server.env,
        "LAKE_ROOT": str(tmp_path / "lake"),
        "CLIENTS_DIR": str(CLIENTS),
        "BRONZE_URI": f"s3://{bucket}/bronze",
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "DAGSTER_POSTGRES_URL": postgres_server.url(postgres_server.create_database(f"dagster_{name}"),
                                                    driver="postgresql+psycopg2"),
        "WAREHOUSE_CATALOG": f"postgres:{postgres_server.libpq(postgres_server.create_database(f'ducklake_{name}'))}",
        "WAREHOUSE_DATA_PATH": f"s3://{bucket}/warehouse/",
        "PYTHONUNBUFFERED": "1",
    }
    write_instance(environ)
    return {"env": environ, "tmp": tmp_path, "landing": tmp_path / "lake" / "landing", "sample": small_sample,
            "bucket": bucket, "s3": s3_server, "postgres": postgres_server}


def write_instance(environ: dict) -> Path:
    """The instance's dagster.yaml as the platform writes it for this environment."""
    code = "from orchestration.instance import dagster_home; print(dagster_home())"
    home = subprocess.run([sys.executable, "-c", code], env=environ, cwd=REPO, check=True,
                          capture_output=True, text=True).stdout.strip()
    config = (Path(home) / "dagster.yaml").read_text(encoding="utf-8")
    assert "postgres_url" in config and "DAGSTER_POSTGRES_URL" in config, config
    return Path(home)


def dagster_job(environ: dict, job: str, partition: str | None = None) -> subprocess.Popen:
    """`dagster job execute` in its own process, as a run worker on another machine would."""
    command = [sys.executable, "-m", "dagster", "job", "execute", "-m", "orchestration.definitions", "-d", str(REPO),
               "-j", job]
    if partition:
        command += ["--tags", json.dumps({"dagster/partition": partition})]
    log = open(Path(environ["DAGSTER_HOME"]) / f"{job}-{partition or 'all'}-{time.monotonic_ns()}.log", "w")
    process = subprocess.Popen(command, env=environ, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    process.log_path = Path(log.name)
    log.close()
    return process


def finish(*processes: subprocess.Popen) -> None:
    for process in processes:
        try:
            process.wait(timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for process in processes:
        if process.returncode != 0:
            pytest.fail(f"{' '.join(process.args[3:])} exited {process.returncode}:\n"
                        f"{process.log_path.read_text()[-4000:]}")


def arrive(cluster: dict, day: str) -> int:
    """Client files of one day arrive in the landing folder (copied in whole, as an upload ends)."""
    copied = 0
    for company in COMPANIES:
        for source in (cluster["sample"] / company).rglob(f"*{day}*"):
            target = cluster["landing"] / source.relative_to(cluster["sample"])
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            copied += 1
    return copied


def bronze_rows(environ: dict, table: str) -> dict[str, int]:
    delta = DeltaTable(f"{environ['BRONZE_URI']}/{table}", storage_options={
        k: v for k, v in environ.items() if k.startswith("AWS_")})
    rows = pa.table(QueryBuilder().register("t", delta).execute(
        "select company_id, count(*) as n from t group by company_id").read_all()).to_pylist()
    return {row["company_id"]: row["n"] for row in rows}


def start_reader(cluster: dict) -> tuple[subprocess.Popen, Path, Path]:
    stop, result = cluster["tmp"] / "reader.stop", cluster["tmp"] / "reader.json"
    reader = subprocess.Popen([sys.executable, str(Path(__file__).with_name("warehouse_reader.py")), str(stop),
                               str(result)], env=cluster["env"], cwd=REPO, stdin=subprocess.DEVNULL)
    return reader, stop, result


def query_csv(environ: dict, sql: str) -> list[dict]:
    """The analysts' and scripts' interface: `python -m orchestration.warehouse query`."""
    import csv
    import io

    done = subprocess.run([sys.executable, "-m", "orchestration.warehouse", "query", sql], env=environ, cwd=REPO,
                          capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    return list(csv.DictReader(io.StringIO(done.stdout)))


@pytest.mark.timeout(2400)  # two warehouse builds through Dagster; minutes on a loaded 2-core machine
def test_ingest_warehouse_and_kpis_across_servers_with_a_reader_throughout(cluster, monkeypatch):
    environ = cluster["env"]
    days = sorted({p.stem.rsplit("_", 1)[-1] for p in cluster["sample"].rglob("*.csv")})
    assert len(days) == 2, days

    finish(dagster_job(environ, "registry_job"))
    assert arrive(cluster, days[0]) > 0
    # two machines, one company each, at the same time
    finish(*[dagster_job(environ, "ingest_company_job", company) for company in COMPANIES])
    first = bronze_rows(environ, "sensor_readings")
    assert set(first) == set(COMPANIES) and all(first.values())
    finish(dagster_job(environ, "warehouse_job"))

    reader, stop, result = start_reader(cluster)
    try:
        # the second day: both ingests and the next build run while the analyst reads
        assert arrive(cluster, days[1]) > 0
        finish(*[dagster_job(environ, "ingest_company_job", company) for company in COMPANIES])
        finish(dagster_job(environ, "warehouse_job"))
        finish(dagster_job(environ, "programme_kpi_job"))  # the KPI marts, on the same DuckLake
        time.sleep(1)  # a few reads of the final snapshot
    finally:
        stop.touch()
        reader.wait(timeout=COMMAND_TIMEOUT)
    reads = json.loads(result.read_text(encoding="utf-8"))

    second = bronze_rows(environ, "sensor_readings")
    assert all(second[c] > first[c] for c in COMPANIES)
    logged = bronze_rows(environ, "ingest_log")
    expected_files = {c: sum(1 for p in (cluster["sample"] / c).rglob("*") if p.is_file()) for c in COMPANIES}
    assert logged == expected_files  # every file once, none twice, none lost between the two writers

    # the warehouse saw all of bronze, and the KPIs were built on it
    facts = query_csv(environ, "select company_id, count(*) as n from fct_sensor_readings group by 1 order by 1")
    assert {row["company_id"]: int(row["n"]) for row in facts} == second
    kpis = query_csv(environ, "select company_id, inspections from kpi.company_defect_rate order by 1")
    inspected = {row["company_id"]: int(row["inspections"] or 0) for row in kpis}  # every registered company
    assert all(inspected[c] > 0 for c in COMPANIES)
    assert not any(n for c, n in inspected.items() if c not in COMPANIES)

    # the analyst read throughout: no error, every read consistent, counts only grew, and the
    # second build's snapshot was among what they saw
    assert reads["errors"] == [], reads["errors"][:5]
    assert reads["inconsistent"] == 0
    assert reads["rounds"] >= 5
    assert reads["counts"] == sorted(reads["counts"])
    assert reads["counts"][0] == sum(first.values()) and reads["counts"][-1] == sum(second.values())

    # where the state is: nothing on the local disk but landing and quarantine
    lake_root = Path(environ["LAKE_ROOT"])
    assert not (lake_root / "bronze").exists()
    assert not any((lake_root / "warehouse").rglob("*.parquet")) if (lake_root / "warehouse").exists() else True
    objects = cluster["s3"].client().list_objects_v2(Bucket=cluster["bucket"], Prefix="warehouse/")
    assert objects.get("KeyCount", 0) > 0, "no DuckLake data files on S3"
    import psycopg2

    catalog = psycopg2.connect(environ["WAREHOUSE_CATALOG"].removeprefix("postgres:"))
    with catalog, catalog.cursor() as cursor:
        cursor.execute("select count(*) from ducklake_snapshot")
        assert cursor.fetchone()[0] >= 2
    catalog.close()

    # the instance every process wrote to is the one in PostgreSQL
    for name, value in environ.items():
        if name.startswith(("DAGSTER_", "AWS_", "BRONZE_")):
            monkeypatch.setenv(name, value)
    with dg.DagsterInstance.from_config(environ["DAGSTER_HOME"]) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        runs = instance.get_runs()
        assert sorted(r.job_name for r in runs) == (["ingest_company_job"] * 4 + ["programme_kpi_job"]
                                                        + ["registry_job"] + ["warehouse_job"] * 2)
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
        assert set(instance.get_dynamic_partitions("company")) >= set(COMPANIES)
