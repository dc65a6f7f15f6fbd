"""Ingest throughput: the full ingest path (parse per mapping, standardise, lineage, exactly-once
bookkeeping, Delta commit) against a bare `pyarrow.csv.read_csv` + `write_deltalake` of the same
file, both timed in the same run."""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

import pyarrow.csv as pacsv
from deltalake import write_deltalake

from orchestration.ingest.landing import discover_landing
from orchestration.ingest.mapping import load_mapping
from orchestration.lakehouse.bronze import BronzeLake
from orchestration.lakehouse.landing_to_bronze import ingest_company
from orchestration.sample_clients import write_sensor_export
from orchestration.settings import clients_dir

# A long-layout CSV client: the common shape of a PLC historian export.
BENCH_COMPANY_LAYOUT = "long"
REPEATS = 3


def _bench_company() -> tuple[str, dict]:
    import yaml

    for path in sorted((clients_dir() / "mappings").glob("*.yaml")):
        mapping = yaml.safe_load(path.read_text(encoding="utf-8"))
        for spec in mapping["datasets"]:
            if spec["dataset"] == "sensor_readings" and spec.get("layout") == BENCH_COMPANY_LAYOUT \
                    and spec.get("format", "csv") == "csv":
                return mapping["company_id"], spec
    raise SystemExit(f"no client with a {BENCH_COMPANY_LAYOUT} CSV sensor export in {clients_dir()}")


def run(*, quick: bool, workdir: Path) -> dict:
    readings = 1_000_000 if quick else 5_000_000
    shutil.rmtree(workdir, ignore_errors=True)
    company, spec = _bench_company()
    landing = workdir / "landing"
    export = landing / company / spec["files"].replace("*", "bench")
    export.parent.mkdir(parents=True, exist_ok=True)
    write_sensor_export(export, company_id=company, readings=readings, seed=1, layout=BENCH_COMPANY_LAYOUT)

    read_options = pacsv.ReadOptions(encoding=spec.get("encoding", "utf-8").replace("utf-8-sig", "utf-8"),
                                     skip_rows=int(spec.get("header_row", 1)) - 1)
    parse_options = pacsv.ParseOptions(delimiter=spec.get("delimiter", ","))
    mapping = load_mapping(clients_dir() / "mappings" / f"{company}.yaml")

    def baseline() -> int:
        # What the bare libraries do with the same bytes (same encoding, delimiter, header).
        shutil.rmtree(workdir / "baseline_delta", ignore_errors=True)
        table = pacsv.read_csv(export, read_options=read_options, parse_options=parse_options)
        write_deltalake(str(workdir / "baseline_delta"), table, mode="overwrite")
        return table.num_rows

    def ingest_path():
        for leftover in ("bronze", "quarantine"):
            shutil.rmtree(workdir / leftover, ignore_errors=True)
        files = [f for f in discover_landing(landing, {company}).files if f.company_id == company]
        return ingest_company(company, files, mapping=mapping, bronze=BronzeLake(workdir / "bronze"),
                              quarantine_root=workdir / "quarantine", run_id="bench")

    # Interleaved repeats, median of each: a shared 2-core machine is noisy, and a single pair of
    # runs can swing the ratio by a fifth either way.
    baseline_times, ingest_times = [], []
    for _ in range(REPEATS):
        started = time.perf_counter()
        baseline_rows = baseline()
        baseline_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        report = ingest_path()
        ingest_times.append(time.perf_counter() - started)
    baseline_s, ingest_s = statistics.median(baseline_times), statistics.median(ingest_times)
    landed = report.rows_landed("sensor_readings")
    if landed < readings or report.rows_rejected:
        raise SystemExit(f"ingest landed {landed} of {readings} readings with {report.rows_rejected} rejections")

    return {
        "benchmark": "ingest",
        "quick": quick,
        "company_id": company,
        "file_bytes": export.stat().st_size,
        "rows": landed,
        "baseline_rows": baseline_rows,
        "repeats": REPEATS,
        "ingest_s": round(ingest_s, 3),
        "baseline_s": round(baseline_s, 3),
        "ingest_rows_per_s": round(landed / ingest_s),
        "baseline_rows_per_s": round(landed / baseline_s),
        "ratio": round(baseline_s / ingest_s, 3),
    }
