"""Run the whole lakehouse once, end to end, on the bundled sample clients (the demo).

    uv run python -m orchestration.pipeline            # sample data -> bronze -> warehouse -> features, KPIs, reports
    uv run python -m orchestration.pipeline --fresh    # start the demo from scratch (`make pipeline`)

The demo lives in its own lake, `$DEMO_LAKE_ROOT` (default `$LAKE_ROOT/demo`, i.e. `lake/demo/`),
with its own warehouse and Dagster home: it never reads or writes the clients' lake. Inside it,
`--fresh` deletes what demo runs derived (bronze, warehouse, reports, ...) and only those landing
files the demo generated itself and that are still byte-identical to what it wrote (listed with
their sha256 in `demo_generated.json`); any other file is left exactly as it is.

Runs go through Dagster's instance of the demo lake, so the Dagster UI shows them; their event
log goes to the run history and `lake/demo/logs/`, not the terminal (`--verbose` shows it). A
company whose ingest or report fails is reported and the others go on. Ends by printing where
everything is.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from orchestration import settings
from orchestration.lakehouse.landing_to_bronze import file_sha256

DEMO_MARKER = ".demo-lake"  # says the folder is a demo lake that --fresh may clear
GENERATED = "demo_generated.json"  # landing files the demo wrote: relative path -> sha256
DERIVED = ("bronze", "gold", "quarantine", "warehouse", "reports", "dagster_home", "logs", "mlflow")


class PipelineError(Exception):
    """The demo cannot go on; the message is the one line the user sees."""


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


def plant_quarantined_export(landing: Path, companies: list[str]) -> str | None:
    """Make one export bad on purpose, so an operator sees what a quarantine looks like: the first
    company's first mapped CSV export, re-saved as UTF-16 (what Excel's 'Unicode text' writes), beside
    the original. Ingest refuses it whole (wrong_encoding), keeps the original in
    quarantine/ and says so on the bronze/ingest_rejections asset page. Returns its landing path."""
    from orchestration.ingest.mapping import MappingError, load_mapping

    for company in companies:
        try:
            mapping = load_mapping(settings.clients_dir() / "mappings" / f"{company}.yaml")
        except (MappingError, OSError):  # a company whose mapping is broken is reported by its ingest run
            continue
        for export in sorted((landing / company).rglob("*.csv")):
            planted = export.with_name(f"{export.stem}_유니코드.csv")
            if not mapping.datasets_for(planted.relative_to(landing / company).as_posix()):
                continue
            raw = export.read_bytes()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("cp949")
            planted.write_bytes(text.encode("utf-16"))  # with its BOM, as Excel writes it
            return planted.relative_to(landing).as_posix()
    return None


@contextlib.contextmanager
def demo_environment(root: Path):
    """Point every setting at the demo lake for the duration of the demo, then restore them."""
    names = ("LAKE_ROOT", "WAREHOUSE_CATALOG", "WAREHOUSE_DATA_PATH", "DAGSTER_HOME", "LANDING_SETTLE_SECONDS")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(LAKE_ROOT=str(root), WAREHOUSE_CATALOG=f"sqlite:{root / 'warehouse' / 'catalog.sqlite'}",
                      WAREHOUSE_DATA_PATH=f"{root / 'warehouse' / 'data'}/",
                      DAGSTER_HOME=str(root / "dagster_home"))
    # The demo wrote and closed its files itself: no need to wait for them to settle.
    os.environ.setdefault("LANDING_SETTLE_SECONDS", "0")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class DemoLake:
    """The demo's own lake folder, and the record of which landing files it generated."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.landing = self.root / "landing"
        self.not_generated: dict[str, str] = {}
        self.planted_quarantine: str | None = None

    def claim(self) -> None:
        """Refuse a folder that holds data but is not a demo lake (e.g. DEMO_LAKE_ROOT set to a client lake)."""
        if self.root.exists() and any(self.root.iterdir()) and not (self.root / DEMO_MARKER).exists():
            raise PipelineError(f"{self.root} holds data but is not a demo lake (no {DEMO_MARKER} file); "
                                f"the demo will not use it. Set DEMO_LAKE_ROOT to an empty or demo folder.")
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / DEMO_MARKER).write_text("made by `python -m orchestration.pipeline`; "
                                             "--fresh clears only what the demo made\n", encoding="utf-8")

    def generated(self) -> dict[str, str]:
        path = self.root / GENERATED
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def clear(self) -> list[str]:
        """Delete what demo runs made; return the landing files kept because the demo did not write them
        as they are now."""
        for sub in DERIVED:
            shutil.rmtree(self.root / sub, ignore_errors=True)
        kept = []
        for relative, digest in self.generated().items():
            path = self.landing / relative
            if not path.is_file():
                continue
            if path.is_symlink() or file_sha256(path) != digest:
                kept.append(relative)
                continue
            path.unlink()
        for folder in sorted((p for p in self.landing.rglob("*") if p.is_dir()), reverse=True) \
                if self.landing.exists() else ():
            with contextlib.suppress(OSError):
                folder.rmdir()  # only empty folders
        (self.root / GENERATED).unlink(missing_ok=True)
        return kept

    def has_landing_files(self) -> bool:
        return self.landing.exists() and any(p.is_file() for p in self.landing.rglob("*"))

    def generate(self, *, seed: int, days: int, sampling_seconds: int = 60,
                 companies: list[str] | None = None) -> tuple[int, list[str]]:
        """Write the sample exports beside whatever is in landing, never over a file that is there."""
        from orchestration.sample_clients import generate_sample

        from orchestration.lakehouse.registry import RegistryError, read_registry

        staging = self.root / ".generating"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            registered = [c.company_id for c in read_registry(settings.clients_dir() / "registry.yaml").companies]
        except RegistryError as error:
            raise PipelineError(f"registry: {error}") from None
        manifest: dict = {}
        self.not_generated: dict[str, str] = {}
        # one company at a time: a mapping the generator cannot write (a real client's, say) costs
        # that company its sample data, not the demo
        for company in [c for c in registered if companies is None or c in companies]:
            try:
                part = generate_sample(staging / "landing", seed=seed, days=days, sampling_seconds=sampling_seconds,
                                       companies=[company],
                                       defects=[d for d in demo_defects(days) if d.company_id == company])
            except Exception as error:  # the generator's own limits; reported per company
                self.not_generated[company] = f"{type(error).__name__}: {error}"
                continue
            for key, value in json.loads(part.to_json()).items():
                if isinstance(value, list):
                    manifest.setdefault(key, []).extend(value)
                elif isinstance(value, dict):
                    manifest.setdefault(key, {}).update(value)
                else:
                    manifest[key] = value
        manifest.setdefault("parameters", {})["companies"] = sorted(manifest.get("companies", {}))
        self.planted_quarantine = plant_quarantined_export(
            staging / "landing", [c for c in registered if c in manifest.get("companies", {})])
        written, skipped = self.generated(), []
        for path in sorted(p for p in (staging / "landing").rglob("*") if p.is_file()):
            relative = path.relative_to(staging / "landing").as_posix()
            target = self.landing / relative
            if target.exists() or target.is_symlink():
                skipped.append(relative)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = file_sha256(path)
            os.replace(path, target)
            written[relative] = digest
        (self.root / "sample_manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2),
                                                          encoding="utf-8")
        shutil.rmtree(staging, ignore_errors=True)
        (self.root / GENERATED).write_text(json.dumps(written, ensure_ascii=False, indent=1), encoding="utf-8")
        return len(written), skipped


@dataclass
class CompanyResult:
    company_id: str
    files_landed: int = 0
    rows: int = 0
    rejected: int = 0
    failure: str | None = None
    report: str | None = None
    ai_report: str | None = None


@dataclass
class PipelineOutcome:
    lake: Path
    dagster_home: Path
    log_file: Path | None = None
    companies: dict[str, CompanyResult] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    ai_reports: list[str] = field(default_factory=list)

    def __getitem__(self, key):  # the older dict-style access (outcome["reports"])
        return getattr(self, key)

    def get(self, key, default=None):
        return getattr(self, key, default)


def run_pipeline(*, days: int = 3, seed: int = 42, fresh: bool = False, verbose: bool = False,
                 sampling_seconds: int = 60, companies: list[str] | None = None, echo=print) -> PipelineOutcome:
    demo = DemoLake(settings.demo_lake_root())
    demo.claim()
    if fresh:
        kept = demo.clear()
        if kept:
            echo(f"      kept {len(kept)} landing file(s) the demo did not write as they are: {', '.join(kept[:5])}")
    with demo_environment(demo.root):
        if not demo.has_landing_files() or fresh:
            started = time.monotonic()
            count, skipped = demo.generate(seed=seed, days=days, sampling_seconds=sampling_seconds,
                                           companies=companies)
            echo(f"[1/5] generated {count} sample client exports in {demo.landing} ({time.monotonic() - started:.1f}s)"
                 + (f"; {len(skipped)} not written over files already there" if skipped else ""))
            for company, why in demo.not_generated.items():
                echo(f"      no sample data for {company}: {why}")
            if demo.planted_quarantine:
                echo(f"      planted one bad export to show a quarantine: {demo.planted_quarantine} (UTF-16)")
        else:
            echo(f"[1/5] using the landing files already in {demo.landing}")
        return _run_stages(demo, verbose=verbose, companies=companies, echo=echo)


def _run_stages(demo: DemoLake, *, verbose: bool, companies: list[str] | None, echo) -> PipelineOutcome:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from orchestration.lakehouse.registry import RegistryError, read_registry
    from orchestration.onboard.runs import QuietRunner
    from orchestration.onboard.summary import ingest_summary

    runner = QuietRunner(verbose=verbose, log_name="pipeline")
    outcome = PipelineOutcome(lake=demo.root, dagster_home=runner.home, log_file=runner.log_file)
    try:
        registry_entries = read_registry(settings.clients_dir() / "registry.yaml")
    except RegistryError as error:
        raise PipelineError(f"registry: {error}") from None
    registered = [c.company_id for c in registry_entries.companies]
    for key, problem in registry_entries.problems.items():  # reported; everybody else goes on
        if companies is None or key in companies:
            outcome.companies[key] = CompanyResult(key, failure=f"registry: {problem}")
    unknown = sorted(set(companies or ()) - set(registered) - set(registry_entries.problems))
    if unknown:
        raise PipelineError(f"not in the registry: {', '.join(unknown)}")
    companies = [c for c in registered if companies is None or c in companies]
    registry = runner.run("registry_job")
    if not registry.success:
        raise PipelineError(f"registry_job failed: {registry.failure} (log {runner.log_file})")

    def progress():
        return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        transient=True, disable=verbose or not sys.stderr.isatty())

    started = time.monotonic()
    with progress() as bar:
        task = bar.add_task("ingesting", total=len(companies))
        for company in companies:
            bar.update(task, description=f"ingesting {company}")
            result = outcome.companies[company] = CompanyResult(company)
            run = runner.run("ingest_company_job", partition=company)
            if not run.success:
                result.failure = f"ingest: {run.failure}"
            else:
                summary = ingest_summary(demo.root / "bronze", company, run.run_id)
                result.files_landed = summary.landed_files_ever
                result.rows = sum(summary.rows.values())
                result.rejected = summary.rejected_rows
            bar.advance(task)
    failed = [c for c in companies if outcome.companies[c].failure]
    echo(f"[2/5] ingested {len(companies) - len(failed)} of {len(companies)} companies into bronze Delta tables "
         f"({time.monotonic() - started:.1f}s)")

    started = time.monotonic()
    build = runner.run("warehouse_job")
    if not build.success:
        outcome.failures.append(f"warehouse: {build.failure}")
        echo(f"[3/5] the warehouse build FAILED ({time.monotonic() - started:.1f}s): {build.failure}")
        return outcome
    echo(f"[3/5] built the warehouse and features ({time.monotonic() - started:.1f}s)")
    held = _held_back_now(demo)
    if held:
        echo(f"      {held}")

    started = time.monotonic()
    with progress() as bar:
        task = bar.add_task("quality", total=len(companies))
        for company in companies:
            bar.update(task, description=f"inspecting {company}")
            result = outcome.companies[company]
            if result.failure is None:
                run = runner.run("quality_report_job", partition=company)
                if not run.success:
                    result.failure = f"quality report: {run.failure}"
                else:
                    result.report = str(demo.root / "reports" / "quality" / f"{company}.html")
            bar.advance(task)
    outcome.reports = [str(r) for r in sorted((demo.root / "reports" / "quality").glob("*.html"))]
    echo(f"[4/5] inspected data quality and wrote {len(outcome.reports)} consulting reports "
         f"({time.monotonic() - started:.1f}s)")

    _develop_ai_solutions(runner, demo, companies, outcome, echo)

    # the KPIs count what the stages above wrote (quality scores, AI results), so they come last
    started = time.monotonic()
    kpis = runner.run("programme_kpi_job")
    if not kpis.success:
        outcome.failures.append(f"programme KPIs: {kpis.failure}")
        echo(f"[5/5] the programme KPIs FAILED ({time.monotonic() - started:.1f}s): {kpis.failure}")
        return outcome
    echo(f"[5/5] built the programme KPIs, the officers' dashboard and the quarterly workbook "
         f"({time.monotonic() - started:.1f}s)")
    return outcome


def _held_back_now(demo) -> str | None:
    """The line naming companies whose files the warehouse holds back (warehouse isolation)."""
    from orchestration.warehouse.ducklake import Warehouse, WarehouseNotBuilt
    from orchestration.warehouse.isolation import held_now

    try:
        con = Warehouse.in_folder(demo.root / "warehouse").connect_read_only()
    except WarehouseNotBuilt:
        return None
    try:
        return held_now(con)
    finally:
        con.close()


def _develop_ai_solutions(runner, demo, companies: list[str], outcome: PipelineOutcome, echo) -> None:
    """Train, score and report the AI solution of every company that has labelled units (issue 14)."""
    import duckdb

    from orchestration.warehouse.ducklake import Warehouse, WarehouseNotBuilt

    started = time.monotonic()
    try:
        con = Warehouse.in_folder(demo.root / "warehouse").connect_read_only()
        try:
            labelled = {r[0] for r in con.execute(
                "select distinct company_id from features.production_units where is_defect is not null").fetchall()}
        finally:
            con.close()
    except (duckdb.Error, WarehouseNotBuilt) as error:
        outcome.failures.append(f"AI solutions: {error}")
        return
    for company in companies:
        result = outcome.companies[company]
        if result.failure is not None or company not in labelled:
            continue
        run = runner.run("ai_solution_job", partition=company)
        if not run.success:
            result.failure = f"AI solution: {run.failure}"
            continue
        result.ai_report = str(demo.root / "reports" / "ai" / f"{company}.html")
    con = Warehouse.in_folder(demo.root / "warehouse").connect_read_only()
    try:
        demonstrable, trained = con.execute(
            "select count(*) filter (where demonstrable), count(*) from ml.model_results").fetchall()[0]
    except duckdb.Error:
        demonstrable, trained = 0, 0
    finally:
        con.close()
    outcome.ai_reports = [str(r) for r in sorted((demo.root / "reports" / "ai").glob("*.html"))]
    echo(f"[+] AI solutions: trained {trained} companies' defect models ({demonstrable} demonstrable), "
         f"scored their new units, wrote {len(outcome.ai_reports)} demonstration reports "
         f"({time.monotonic() - started:.1f}s)")


def company_table(outcome: PipelineOutcome) -> str:
    lines = ["", f"{'company':<12} {'files':>5} {'rows landed':>12} {'rejected':>8}  result"]
    for company, r in outcome.companies.items():
        lines.append(f"{company:<12} {r.files_landed:>5} {r.rows:>12,} {r.rejected:>8}  "
                     + (f"FAILED {r.failure}" if r.failure else "ok"))
    return "\n".join(lines)


def where_to_look(outcome: PipelineOutcome) -> str:
    lake = Path(outcome.lake)
    catalog, data_path = lake / "warehouse" / "catalog.sqlite", lake / "warehouse" / "data"
    lines = [
        "",
        "Done. Where to look next (the demo's own lake; client data stays in $LAKE_ROOT):",
        f"  Bronze Delta tables      {lake / 'bronze'}",
        f"  Quarantined input        {lake / 'quarantine'}  (reasons: bronze table ingest_rejections)",
        f"  Warehouse (DuckLake)     catalog {catalog}, data files {data_path}/",
        f"  ML features (Delta)      {lake / 'gold' / 'lot_sensor_features'}",
        f"  KPI dashboard            {lake / 'reports' / 'kpi' / 'index.html'}",
        f"  KPI workbook (XLSX)      {lake / 'reports' / 'kpi'}/제조AI센터_성과지표_<year>Q<n>.xlsx",
    ]
    if outcome.reports:
        lines.append(f"  Quality reports          {lake / 'reports' / 'quality'}/<company_id>.html")
    if outcome.get("ai_reports"):
        lines.append(f"  AI demonstration reports {lake / 'reports' / 'ai'}/<company_id>.html  (results: ml.model_results)")
        lines.append(f"  MLflow UI                uvx --from mlflow==3.17.2 mlflow ui --backend-store-uri "
                     f"sqlite:///{lake / 'mlflow' / 'mlflow.db'} --host 127.0.0.1 --port 5000")
    if outcome.log_file:
        lines.append(f"  Dagster event log        {outcome.log_file}")
    lines += [
        "",
        "Open the Dagster UI (runs above are in its history):",
        f"  LAKE_ROOT={lake} DAGSTER_HOME={outcome.dagster_home} uv run dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000",
        "  then browse http://127.0.0.1:3000",
        "",
        "Query the warehouse (read-only, the published snapshot; safe while a rebuild runs):",
        f"  LAKE_ROOT={lake} uv run python -m orchestration.warehouse query \"select * from kpi.company_defect_rate\"",
        f"  LAKE_ROOT={lake} uv run python -m orchestration.warehouse shell   # a session with the warehouse attached",
        "",
        "Onboard a real client (its own lake, untouched by the demo): see README.md, 'Onboard a client'.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=3, help="days of sample data to generate (default 3)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--sampling-seconds", type=int, default=60, help="sensor sampling interval of the sample data")
    parser.add_argument("--fresh", action="store_true",
                        help="start the demo from scratch: delete what earlier demo runs made (never other files)")
    parser.add_argument("--companies", nargs="+", default=None, metavar="COMPANY",
                        help="only these sample companies (default: every registered company)")
    parser.add_argument("--verbose", action="store_true", help="show Dagster's event log on the terminal")
    args = parser.parse_args(argv)
    try:
        outcome = run_pipeline(days=args.days, seed=args.seed, fresh=args.fresh, verbose=args.verbose,
                               sampling_seconds=args.sampling_seconds, companies=args.companies)
    except PipelineError as error:
        print(f"pipeline: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pipeline: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the command ends with its own message, never a traceback
        if args.verbose:
            raise
        print(f"pipeline: unexpected {type(error).__name__}: {error} (run with --verbose for details)",
              file=sys.stderr)
        return 1
    print(company_table(outcome))
    print(where_to_look(outcome))
    failed = [c for c, r in outcome.companies.items() if r.failure] + outcome.failures
    if failed:
        print(f"\npipeline: finished with {len(failed)} failure(s): {', '.join(failed)}; "
              f"details in {outcome.log_file}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
