"""The warehouse as history grows: one new day against a full rebuild, and against itself when the
history is four times longer; one new day end to end; storage; analyst queries. All timed in one
run on one machine.

20 client companies; histories of 30 and 120 days (`--quick`: 5 and 20 days, sparser sampling).
In order, on one lake:
1. 30 days of history are ingested and built, then the weekly upkeep runs (untimed): a lake in
   operation has had its upkeep, and the days timed at 120 days come after one too, so both
   histories are timed on a catalog in the same state;
2. two new days, each ingested and built incrementally (timed), then a full rebuild of the same
   bronze into a second warehouse (timed; same fact counts required), then two more new days
   (timed): the host's speed drifts by a quarter within a run, and days timed on both sides of the
   rebuild put it on both sides of `ratio_30` (`incremental_30_s`: the four days' mean);
3. one new day end to end through Dagster (ingest, warehouse + features + KPIs + dashboard, quality
   inspection and report for every company), then another new day through the same jobs with a full
   warehouse rebuild: `e2e_ratio_30`;
4. warehouse bytes (catalog + data files) against bronze bytes (Delta tables with their logs),
   before and after the weekly upkeep (snapshots nothing pins expired, unused files deleted);
5. ten analyst queries on the warehouse against the same rows as plain DuckDB tables;
6. the history grows to 120 days (ingested, built incrementally, untimed), then four new days as in 2:
   `flatness_120` = incremental at 120 days / at 30 days.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import yaml

from bench import analyst_queries
from bench.end_to_end import Operations
from orchestration.lakehouse.landing_to_bronze import ingest_landing
from orchestration.sample_clients import generate_sample
from orchestration.settings import clients_dir
from orchestration.warehouse.build import build_warehouse
from orchestration.warehouse.ducklake import Warehouse
from orchestration.warehouse.snapshots import upkeep_warehouse

COMPANIES = 20
# The history ends before today: ingest rejects readings from its future (a fixed start date let
# the 120-day history run past today, and its last two months were rejected, not landed).
START = date.today() - timedelta(days=130)
NEW_DAYS_TIMED = 4  # per history length, half before and half after the full rebuild; their mean is the incremental time


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


class Lake:
    """The benchmark's lake: sample days arrive in landing and are ingested, as clients send them."""

    def __init__(self, workdir: Path, sampling: int):
        self.root = workdir / "lake"
        self.clients = workdir / "clients"
        self.companies = twenty_clients(self.clients)
        self.sampling = sampling
        self.next_day = START
        self.readings = 0
        self.warehouse = Warehouse.in_folder(self.root / "warehouse")  # where the Dagster jobs find it too

    def arrive(self, days: int, seed: int) -> int:
        """`days` new days of every company's exports land and are ingested; returns readings landed."""
        generate_sample(self.root / "landing", seed=seed, start=self.next_day, days=days,
                        sampling_seconds=self.sampling, clients_dir=self.clients)
        self.next_day += timedelta(days=days)
        reports = ingest_landing(self.root / "landing", self.clients, self.root / "bronze", self.root / "quarantine",
                                 companies=self.companies, run_id="bench")
        landed = sum(report.rows_landed("sensor_readings") for report in reports.values())
        self.readings += landed
        return landed

    def build(self, warehouse: Warehouse | None = None, *, full: bool = False) -> float:
        started = time.perf_counter()
        build_warehouse(warehouse or self.warehouse, self.root / "bronze", ["build", "--full-refresh"] if full else None)
        return time.perf_counter() - started

    def new_days_incremental(self, seed: int, days: int = NEW_DAYS_TIMED) -> list[float]:
        timings = []
        for offset in range(days):
            self.arrive(1, seed + offset)
            timings.append(self.build())
        return timings

    @property
    def history_days(self) -> int:
        return (self.next_day - START).days


def run(*, quick: bool, workdir: Path) -> dict:
    short, long, sampling = (5, 20, 300) if quick else (30, 120, 60)
    shutil.rmtree(workdir, ignore_errors=True)
    lake = Lake(workdir, sampling)
    result: dict = {"benchmark": "incremental", "quick": quick, "companies": len(lake.companies),
                    "sampling_seconds": sampling}

    started = time.perf_counter()
    lake.arrive(short, seed=3)
    lake.build()
    upkeep_warehouse(lake.warehouse, retention_days=0)  # as before the days timed at 120 days (6.)
    result["prepare_30_s"] = round(time.perf_counter() - started, 1)

    # 2. one new day vs a full rebuild, at the short history
    incremental_30 = lake.new_days_incremental(seed=100, days=NEW_DAYS_TIMED // 2)
    full = Warehouse.in_folder(lake.root / "warehouse_full")
    full_30 = lake.build(full, full=True)
    if fact_counts(full) != fact_counts(lake.warehouse):
        raise SystemExit(f"incremental and full builds disagree: {fact_counts(lake.warehouse)} vs {fact_counts(full)}")
    result.update(history_days_30=lake.history_days, readings_30=lake.readings, full_30_s=round(full_30, 2))
    shutil.rmtree(lake.root / "warehouse_full")
    incremental_30 += lake.new_days_incremental(seed=100 + NEW_DAYS_TIMED // 2, days=NEW_DAYS_TIMED // 2)
    result.update(incremental_30_s=[round(t, 2) for t in incremental_30])
    progress(result)

    # 3. one new day end to end, incremental and full
    operations = Operations(lake.root, lake.clients, lake.companies)
    generate_sample(lake.root / "landing", seed=200, start=lake.next_day, days=1, sampling_seconds=sampling,
                    clients_dir=lake.clients)
    lake.next_day += timedelta(days=1)
    e2e_incremental = operations.one_day(full_refresh=False)
    generate_sample(lake.root / "landing", seed=201, start=lake.next_day, days=1, sampling_seconds=sampling,
                    clients_dir=lake.clients)
    lake.next_day += timedelta(days=1)
    e2e_full = operations.one_day(full_refresh=True)
    result.update(e2e_incremental=e2e_incremental, e2e_full=e2e_full)
    progress(result)

    # 4. storage: the DuckLake itself (its catalog and data files, not dbt's target folder), as it
    # lies on disk now and after the weekly upkeep has expired the snapshots nothing pins (all
    # snapshots here are minutes old, so the upkeep runs as it would a week later: retention 0)
    def ducklake_bytes() -> int:
        return folder_bytes(lake.root / "warehouse" / "data") + (lake.root / "warehouse" / "catalog.sqlite").stat().st_size

    bronze_bytes = folder_bytes(lake.root / "bronze")
    before_upkeep = ducklake_bytes()
    upkeep_warehouse(lake.warehouse, retention_days=0)
    warehouse_bytes = ducklake_bytes()
    result.update(warehouse_bytes=warehouse_bytes, warehouse_bytes_before_upkeep=before_upkeep,
                  bronze_bytes=bronze_bytes)

    # 5. analyst queries
    con = lake.warehouse.connect_read_only()
    try:
        analyst = analyst_queries.compare(con, workdir, repeats=3 if quick else 5)
    finally:
        con.close()

    # 6. four times the history - arriving and built ten days at a time, each followed by the
    # weekly upkeep, as it would be in operation (the upkeep expires the snapshots of the builds
    # between, which every query of the catalog otherwise scans: without it, session 7 measured
    # flatness 1.66 with tests twice as slow) - then one new day again
    while lake.history_days < long:
        lake.arrive(min(10, long - lake.history_days), seed=300 + lake.history_days)
        lake.build()
        upkeep_warehouse(lake.warehouse, retention_days=0)
    incremental_120 = lake.new_days_incremental(seed=400)
    result.update(history_days_120=lake.history_days, readings_120=lake.readings,
                  incremental_120_s=[round(t, 2) for t in incremental_120])

    inc_30, inc_120 = statistics.mean(incremental_30), statistics.mean(incremental_120)
    result.update(analyst)
    result.update(
        ratio_30=round(inc_30 / full_30, 3),
        flatness_120=round(inc_120 / inc_30, 3),
        e2e_ratio_30=round(e2e_incremental["total_s"] / e2e_full["total_s"], 3),
        warehouse_over_bronze=round(warehouse_bytes / bronze_bytes, 3),
        warehouse_over_bronze_before_upkeep=round(before_upkeep / bronze_bytes, 3),
    )
    return result


def progress(result: dict) -> None:
    """The numbers so far, on stderr: a run cut short still tells what it measured."""
    print("bench incremental so far: " + json.dumps(result, ensure_ascii=False), file=sys.stderr, flush=True)


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def fact_counts(warehouse: Warehouse) -> dict[str, int]:
    con = warehouse.connect_read_only()
    try:
        return {t: con.execute(f"select count(*) from {t}").fetchall()[0][0]
                for t in ("fct_sensor_readings", "fct_production_lots", "fct_quality_inspections")}
    finally:
        con.close()
