"""Run overhead: what a Dagster run costs beyond its work. A no-op ingest run and a one-file ingest
run go through a Dagster instance as an operator's or the sensor's run does (a fresh process
loads the definitions and executes the job with its executor), against the same ingest called
directly in this process, on identical lakes, in the same run of the benchmark."""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from orchestration.ingest.landing import discover_landing
from orchestration.ingest.mapping import load_mapping
from orchestration.lakehouse.bronze import BronzeLake
from orchestration.lakehouse.landing_to_bronze import ingest_company
from orchestration.lakehouse.registry import load_registry
from orchestration.sample_clients import generate_sample
from orchestration.settings import REPO_ROOT, clients_dir

REPEATS = 3


def _lake_with_history(root: Path, company: str) -> Path:
    """A lake whose first day is ingested; the second day's files wait outside it."""
    shutil.rmtree(root, ignore_errors=True)
    landing = root / "landing"
    generate_sample(landing, seed=3, days=2, sampling_seconds=300, companies=[company])
    files = sorted(p for p in (landing / company).rglob("*") if p.is_file())
    last_day = max(p.stem.rsplit("_", 1)[-1] for p in files)
    waiting = root / "waiting"
    for path in files:
        if path.stem.endswith(last_day):
            target = waiting / path.relative_to(landing)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
    _ingest_directly(root, company)
    return root


def _one_new_file(root: Path) -> None:
    waiting = sorted(p for p in (root / "waiting").rglob("*") if p.is_file())
    new = waiting[0]
    target = root / "landing" / new.relative_to(root / "waiting")
    target.parent.mkdir(parents=True, exist_ok=True)
    new.rename(target)


def _ingest_directly(root: Path, company: str):
    files = [f for f in discover_landing(root / "landing", {company}).files if f.company_id == company]
    mapping = load_mapping(clients_dir() / "mappings" / f"{company}.yaml")
    return ingest_company(company, files, mapping=mapping, bronze=BronzeLake(root / "bronze"),
                          quarantine_root=root / "quarantine", run_id="bench")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _through_dagster(root: Path, company: str) -> tuple[float, float]:
    """Wall and CPU seconds of one run (the CPU figure is what a quiet machine's wall time tends to)."""
    env = {**os.environ, "LAKE_ROOT": str(root), "DAGSTER_HOME": str(root / "dagster_home")}
    cpu, started = _children_cpu(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "dagster", "job", "execute", "-m", "orchestration.definitions", "-a", "defs",
                    "-j", "ingest_company_job", "--tags", json.dumps({"dagster/partition": company})],
                   cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started, _children_cpu() - cpu


def _register_partition(root: Path, company: str) -> None:
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c",
                    "import dagster as dg; from orchestration.instance import dagster_home; dagster_home(); "
                    f"dg.DagsterInstance.get().add_dynamic_partitions('company', [{company!r}])"],
                   cwd=REPO_ROOT, env={**os.environ, "LAKE_ROOT": str(root), "DAGSTER_HOME": str(home)}, check=True)


def run(*, quick: bool, workdir: Path) -> dict:
    company = load_registry(clients_dir() / "registry.yaml")[0].company_id
    repeats = 1 if quick else REPEATS
    timings: dict[str, list[float]] = {k: [] for k in ("noop_direct", "noop_run", "noop_run_cpu", "one_file_direct",
                                                       "one_file_run", "one_file_run_cpu")}
    for i in range(repeats):
        direct, dagster = workdir / f"direct{i}", workdir / f"dagster{i}"
        _lake_with_history(direct, company)
        _lake_with_history(dagster, company)
        _register_partition(dagster, company)
        for label in ("noop", "one_file"):
            if label == "one_file":
                _one_new_file(direct)
                _one_new_file(dagster)
            started = time.perf_counter()
            _ingest_directly(direct, company)
            timings[f"{label}_direct"].append(time.perf_counter() - started)
            wall, cpu = _through_dagster(dagster, company)
            timings[f"{label}_run"].append(wall)
            timings[f"{label}_run_cpu"].append(cpu)
    medians = {k: round(statistics.median(v), 2) for k, v in timings.items()}
    return {
        "benchmark": "runs",
        "quick": quick,
        "company_id": company,
        "repeats": repeats,
        "load_average_1m": round(os.getloadavg()[0], 2),
        **{f"{k}_s": v for k, v in medians.items()},
        "noop_overhead_s": round(medians["noop_run"] - medians["noop_direct"], 2),
        "one_file_overhead_s": round(medians["one_file_run"] - medians["one_file_direct"], 2),
        # on a loaded machine wall time measures the neighbours; the run's own CPU seconds do not
        "noop_overhead_cpu_s": round(medians["noop_run_cpu"] - medians["noop_direct"], 2),
        "one_file_overhead_cpu_s": round(medians["one_file_run_cpu"] - medians["one_file_direct"], 2),
    }
