"""Incremental warehouse build after one new day vs a full rebuild, timed in the same run.

History: 20 client companies x 30 days (>= 20 million sensor readings); `--quick` keeps the 20
companies and the shape but a shorter, sparser history.
"""

from __future__ import annotations

import shutil
import time
from datetime import date, timedelta
from pathlib import Path

import yaml

from orchestration.lakehouse.landing_to_bronze import ingest_landing
from orchestration.sample_clients import generate_sample
from orchestration.settings import clients_dir
from orchestration.warehouse.build import build_warehouse
from orchestration.warehouse.ducklake import Warehouse

COMPANIES = 20
START = date(2026, 10, 1)


def twenty_clients(target: Path) -> list[str]:
    """The bundled clients, cloned under new ids until there are 20 (same formats, new names)."""
    registry = yaml.safe_load((clients_dir() / "registry.yaml").read_text(encoding="utf-8"))
    originals = registry["companies"]
    (target / "mappings").mkdir(parents=True, exist_ok=True)
    companies = []
    for index in range(COMPANIES):
        base = originals[index % len(originals)]
        clone = dict(base)
        if index >= len(originals):
            clone["company_id"] = f"{base['company_id']}-B{index // len(originals)}"
            clone["name_ko"] = f"{base['name_ko']} {index // len(originals) + 1}공장"
        mapping = yaml.safe_load((clients_dir() / "mappings" / f"{base['company_id']}.yaml").read_text(encoding="utf-8"))
        mapping["company_id"] = clone["company_id"]
        (target / "mappings" / f"{clone['company_id']}.yaml").write_text(
            yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False), encoding="utf-8")
        companies.append(clone)
    (target / "registry.yaml").write_text(yaml.safe_dump({"companies": companies}, allow_unicode=True,
                                                         sort_keys=False), encoding="utf-8")
    return [c["company_id"] for c in companies]


def ingest_all(lake: Path, clients: Path, companies: list[str]) -> int:
    reports = ingest_landing(lake / "landing", clients, lake / "bronze", lake / "quarantine",
                             companies=companies, run_id="bench")
    return sum(report.rows_landed("sensor_readings") for report in reports.values())


def run(*, quick: bool, workdir: Path) -> dict:
    days, sampling = (5, 120) if quick else (30, 30)
    shutil.rmtree(workdir, ignore_errors=True)
    clients = workdir / "clients"
    companies = twenty_clients(clients)
    lake = workdir / "lake"
    warehouse = Warehouse.in_folder(lake / "warehouse")

    started = time.perf_counter()
    generate_sample(lake / "landing", seed=3, start=START, days=days, sampling_seconds=sampling,
                    clients_dir=clients)
    history_rows = ingest_all(lake, clients, companies)
    prepare_s = time.perf_counter() - started
    build_warehouse(warehouse, lake / "bronze")  # the warehouse as it stands before the new day

    new_day = START + timedelta(days=days)
    generate_sample(lake / "landing", seed=4, start=new_day, days=1, sampling_seconds=sampling, clients_dir=clients)
    new_rows = ingest_all(lake, clients, companies)

    started = time.perf_counter()
    build_warehouse(warehouse, lake / "bronze")
    incremental_s = time.perf_counter() - started
    incremental_counts = _fact_counts(warehouse)

    # Full rebuild of the same history: a new warehouse, every bronze row read, every model rebuilt.
    full = Warehouse.in_folder(lake / "warehouse_full")
    started = time.perf_counter()
    build_warehouse(full, lake / "bronze", ["build", "--full-refresh"])
    full_s = time.perf_counter() - started
    if _fact_counts(full) != incremental_counts:
        raise SystemExit(f"incremental and full builds disagree: {incremental_counts} vs {_fact_counts(full)}")

    return {
        "benchmark": "incremental",
        "quick": quick,
        "companies": len(companies),
        "history_days": days,
        "rows": history_rows + new_rows,
        "new_day_rows": new_rows,
        "prepare_s": round(prepare_s, 1),
        "full_s": round(full_s, 2),
        "incremental_s": round(incremental_s, 2),
        "ratio": round(incremental_s / full_s, 3),
    }


def _fact_counts(warehouse: Warehouse) -> dict[str, int]:
    con = warehouse.connect_read_only()
    try:
        return {t: con.execute(f"select count(*) from {t}").fetchall()[0][0]
                for t in ("fct_sensor_readings", "fct_production_lots", "fct_quality_inspections")}
    finally:
        con.close()
