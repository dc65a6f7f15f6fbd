"""One new day end to end, the way operations runs it through Dagster: every company's ingest run,
the warehouse job (dbt build, features), then every company's quality inspection and report,
then the programme KPI job (KPI marts, dashboard, workbook). The incremental path and the full path (the warehouse job with
`full_refresh`) run the same jobs on the same lake, each after one new day has arrived.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Settings that would point the jobs away from the benchmark's lake.
_MOVED_BY = ("BRONZE_URI", "WAREHOUSE_CATALOG", "WAREHOUSE_DATA_PATH", "WAREHOUSE_PATH")


@contextmanager
def lake_environment(lake: Path, clients: Path) -> Iterator[None]:
    """Every setting at its default under this lake (env LAKE_ROOT), with a Dagster home of its own."""
    saved = dict(os.environ)
    for name in _MOVED_BY:
        os.environ.pop(name, None)
    os.environ.update(LAKE_ROOT=str(lake), CLIENTS_DIR=str(clients), DAGSTER_HOME=str(lake / "dagster_home"))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Operations:
    """The jobs of the code location, run in this process against one throwaway instance."""

    def __init__(self, lake: Path, clients: Path, companies: list[str]):
        import dagster as dg

        self.lake, self.clients, self.companies = lake, clients, companies
        with lake_environment(lake, clients):
            from orchestration.definitions import defs

            self.definitions = defs()  # resources read the environment here
        self.instance = dg.DagsterInstance.ephemeral()
        self.run("registry_job")  # registers every company as a partition

    def run(self, job: str, partition: str | None = None, run_config: dict | None = None) -> None:
        with lake_environment(self.lake, self.clients):
            result = self.definitions.resolve_job_def(job).execute_in_process(
                instance=self.instance, partition_key=partition, run_config=run_config or {})
        if not result.success:
            raise SystemExit(f"benchmark: {job} {partition or ''} failed (run {result.run_id})")

    def one_day(self, *, full_refresh: bool) -> dict[str, float]:
        """Seconds per stage for the day that has just arrived in landing."""
        stages = {}
        started = time.perf_counter()
        for company in self.companies:
            self.run("ingest_company_job", company)
        stages["ingest_s"] = time.perf_counter() - started

        started = time.perf_counter()
        self.run("warehouse_job", run_config={"ops": {"warehouse_models": {"config": {"full_refresh": full_refresh}}}})
        stages["warehouse_features_kpis_s"] = time.perf_counter() - started

        started = time.perf_counter()
        for company in self.companies:
            self.run("quality_report_job", company)
        stages["quality_reports_s"] = time.perf_counter() - started

        started = time.perf_counter()
        self.run("programme_kpi_job")  # the KPI marts, dashboard and workbook, after quality (as scheduled)
        stages["kpis_s"] = time.perf_counter() - started
        stages["total_s"] = sum(stages.values())
        return {name: round(seconds, 2) for name, seconds in stages.items()}
