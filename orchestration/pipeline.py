"""Run the whole lakehouse once, end to end, on the bundled sample clients.

    uv run python -m orchestration.pipeline            # sample data -> bronze -> warehouse -> features, KPIs, reports
    uv run python -m orchestration.pipeline --fresh    # start from an empty lake

Runs go through Dagster's local storage (lake/dagster_home), so the Dagster UI shows them
afterwards. Ends by printing where everything is.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from orchestration import settings
from orchestration.instance import dagster_home


def demo_defects(days: int) -> list:
    """A few collection problems planted in the demo data, so the quality reports have something
    real to show (a logger outage, a frozen sensor, a spike, a late upload)."""
    from datetime import datetime, timedelta

    from orchestration.sample_clients import SAMPLE_START, PlantedDefect

    day = datetime.combine(SAMPLE_START, datetime.min.time()) + timedelta(days=min(1, days - 1))
    return [
        PlantedDefect("gap", "CJ-COS-01", "TEMP", day.replace(hour=2), hours=3),
        PlantedDefect("stuck", "CH-AUT-02", "PRES", day.replace(hour=9), hours=2),
        PlantedDefect("spike", "JC-SEM-01", "FLOW", day.replace(hour=14), hours=1),
        PlantedDefect("late_file", "ES-FOD-01", "TEMP", day.replace(hour=0), hours=30),
    ]


def run_pipeline(*, days: int = 3, seed: int = 42, fresh: bool = False, echo=print) -> dict:
    lake = settings.lake_root()
    if fresh:
        for sub in ("landing", "bronze", "gold", "quarantine", "warehouse", "reports", "dagster_home"):
            shutil.rmtree(lake / sub, ignore_errors=True)
    home = dagster_home()

    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.lakehouse.registry import load_registry
    from orchestration.sample_clients import generate_sample

    landing = lake / "landing"
    if not any(landing.glob("*/*")):
        started = time.monotonic()
        generate_sample(landing, seed=seed, days=days, defects=demo_defects(days))
        # The demo wrote and closed these files itself: no need to wait for them to settle.
        os.environ.setdefault("LANDING_SETTLE_SECONDS", "0")
        echo(f"[1/4] generated sample client exports in {landing} ({time.monotonic() - started:.1f}s)")
    else:
        echo(f"[1/4] using the landing files already in {landing}")

    definitions = defs()
    instance = dg.DagsterInstance.get()
    outcome = {"dagster_home": str(home)}

    def run(job_name: str, **kwargs):
        result = definitions.resolve_job_def(job_name).execute_in_process(instance=instance, **kwargs)
        if not result.success:
            raise SystemExit(f"{job_name} {kwargs} failed; see the run {result.run_id} in the Dagster UI")
        return result

    run("registry_job")
    companies = [c.company_id for c in load_registry(settings.clients_dir() / "registry.yaml")]
    started = time.monotonic()
    for company in companies:
        run("ingest_company_job", partition_key=company)
    echo(f"[2/4] ingested {len(companies)} companies into bronze Delta tables ({time.monotonic() - started:.1f}s)")

    started = time.monotonic()
    run("warehouse_job")
    echo(f"[3/4] built the warehouse, features and KPIs ({time.monotonic() - started:.1f}s)")

    started = time.monotonic()
    for company in companies:
        run("quality_report_job", partition_key=company)
    reports = sorted((lake / "reports" / "quality").glob("*.html"))
    echo(f"[4/4] inspected data quality and wrote {len(reports)} consulting reports ({time.monotonic() - started:.1f}s)")
    outcome.update(companies=companies, reports=[str(r) for r in reports])
    return outcome


def where_to_look(outcome: dict) -> str:
    lake = settings.lake_root()
    warehouse = settings.warehouse_path()
    lines = [
        "",
        "Done. Where to look next:",
        f"  Bronze Delta tables      {lake / 'bronze'}",
        f"  Quarantined input        {lake / 'quarantine'}  (reasons: bronze table ingest_rejections)",
        f"  Warehouse (DuckDB)       {warehouse}",
        f"  ML features (Delta)      {lake / 'gold' / 'lot_sensor_features'}",
        f"  KPI dashboard            {lake / 'reports' / 'kpi' / 'index.html'}",
    ]
    if outcome.get("reports"):
        lines.append(f"  Quality reports          {lake / 'reports' / 'quality'}/<company_id>.html")
    lines += [
        "",
        "Open the Dagster UI (runs above are in its history):",
        f"  DAGSTER_HOME={outcome['dagster_home']} uv run dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000",
        "  then browse http://127.0.0.1:3000",
        "",
        "Query the warehouse (read-only; safe while a rebuild runs):",
        f"  uv run python -c \"import duckdb; print(duckdb.connect('{warehouse}', read_only=True)"
        ".sql('select * from kpi.company_defect_rate'))\"",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=3, help="days of sample data to generate (default 3)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--fresh", action="store_true", help="delete lake/ runtime data first")
    args = parser.parse_args(argv)
    outcome = run_pipeline(days=args.days, seed=args.seed, fresh=args.fresh)
    print(where_to_look(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main())
