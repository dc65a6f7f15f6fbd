"""Onboard a client company, one step at a time or all at once.

    python -m orchestration.onboard draft COMPANY FILE [FILE ...] [--write]   # drafted mapping YAML
    python -m orchestration.onboard validate COMPANY [FILE ...]   # registry entry, mapping, sample files
    python -m orchestration.onboard register COMPANY              # check, then land the registry
    python -m orchestration.onboard ingest COMPANY                # only that company's landing files
    python -m orchestration.onboard build [COMPANY]               # warehouse + features + KPIs
    python -m orchestration.onboard report COMPANY                # quality inspection + report
    python -m orchestration.onboard run COMPANY                   # register, ingest, build, report

Every step runs through Dagster's instance ($DAGSTER_HOME, default $LAKE_ROOT/dagster_home), so
its runs are in the UI; Dagster's event log goes to the run history and to $LAKE_ROOT/logs/, not
to the terminal (--verbose brings it back). Exit 0 on success; 1 with one line on failure.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from orchestration import settings


class OnboardError(Exception):
    """A step that cannot go on; the message is the one line the engineer sees."""


class Console:
    """Stage lines on stdout, progress on stderr (a spinner on a terminal, nothing in a pipe)."""

    def __init__(self, out=None):
        from rich.console import Console as RichConsole

        self.out = out or sys.stdout
        self.progress = RichConsole(stderr=True)

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def step(self, text: str):
        return self.progress.status(text, spinner="dots")


def check_company(company_id: str) -> tuple[object, object]:
    """The company's registry entry and mapping, loaded and checked; OnboardError names the fix."""
    from orchestration.ingest.mapping import MappingError, load_mapping
    from orchestration.lakehouse.registry import RegistryError, read_registry

    registry_file = settings.clients_dir() / "registry.yaml"
    try:
        registry = read_registry(registry_file)
    except (RegistryError, FileNotFoundError) as error:
        raise OnboardError(f"registry: {error}") from None
    companies = {c.company_id: c for c in registry.companies}
    if company_id in registry.problems:
        raise OnboardError(f"registry: {registry.problems[company_id]}")
    if company_id not in companies:
        raise OnboardError(f"{company_id} is not in {registry_file}: add an entry (see clients/README.md)")
    try:
        mapping = load_mapping(settings.clients_dir() / "mappings" / f"{company_id}.yaml")
    except MappingError as error:
        raise OnboardError(f"mapping: {error}") from None
    return companies[company_id], mapping


class Onboarding:
    """The steps of onboarding one company, each a Dagster run with a short human summary."""

    def __init__(self, console: Console, *, verbose: bool = False):
        self.console = console
        self.verbose = verbose
        self._runner = None

    @property
    def runner(self):
        if self._runner is None:
            from orchestration.onboard.runs import QuietRunner

            with self.console.step("loading the Dagster definitions…"):
                self._runner = QuietRunner(verbose=self.verbose, log_name="onboard")
        return self._runner

    def _run(self, label: str, job: str, partition: str | None = None):
        with self.console.step(f"{label}…"):
            outcome = self.runner.run(job, partition=partition)
        if not outcome.success:
            raise OnboardError(f"{label} failed: {outcome.failure} (run {outcome.run_id[:8]} in the Dagster UI; "
                               f"log {self.runner.log_file})")
        self.console.say(f"✓ {label}  ({outcome.seconds:.1f}s, run {outcome.run_id[:8]})")
        return outcome

    def validate(self, company_id: str, files: list[Path]) -> None:
        company, mapping = check_company(company_id)
        self.console.say(f"✓ registry entry {company_id} ({company.name_ko}, {company.industry}, {company.region})")
        self.console.say(f"✓ mapping {mapping.source}: {len(mapping.datasets)} dataset entr"
                         f"{'y' if len(mapping.datasets) == 1 else 'ies'} "
                         f"({', '.join(f'{s.dataset} {s.files!r}' for s in mapping.datasets)})")
        if not files:
            landing = settings.lake_root() / "landing" / company_id
            files = sorted(p for p in landing.rglob("*") if p.is_file())[:10] if landing.is_dir() else []
        from orchestration.ingest.validate import validate

        worst = 0
        for file in files:
            self.console.say(f"--- {file}")
            worst = max(worst, validate(company_id, Path(file), clients_dir=settings.clients_dir(), rows=3,
                                        out=self.console.out))
        if worst:
            raise OnboardError(f"{company_id}: some files would be quarantined whole (see above)")

    def register(self, company_id: str) -> None:
        company, mapping = check_company(company_id)
        self._run(f"register {company_id}", "registry_job")
        if company_id not in self.runner.known_companies():
            raise OnboardError(f"{company_id} was not added as a company partition by registry_job")
        self.console.say(f"  {company_id} {company.name_ko}: registered; mapping with {len(mapping.datasets)} "
                         f"dataset entries")

    def ingest(self, company_id: str):
        check_company(company_id)
        if company_id not in self.runner.known_companies():
            self.register(company_id)
        landing = settings.lake_root() / "landing" / company_id
        if not landing.is_dir() or not any(p.is_file() for p in landing.rglob("*")):
            raise OnboardError(f"{company_id}: no files in {landing}; drop the client's exports there first")
        self._wait_until_settled(company_id)
        outcome = self._run(f"ingest {company_id}", "ingest_company_job", partition=company_id)
        from orchestration.onboard.summary import ingest_summary

        summary = ingest_summary(settings.lake_root() / "bronze", company_id, outcome.run_id)
        for line in summary.lines():
            self.console.say(f"  {line}")
        return summary

    def _wait_until_settled(self, company_id: str) -> None:
        """Files changed in the last LANDING_SETTLE_SECONDS may still be uploading and are not taken
        yet; wait for them (a copy made with `cp -p` keeps the export's time and is taken at once)."""
        from orchestration.ingest.landing import discover_landing
        from orchestration.ingest.mapping import load_mappings

        landing = settings.lake_root() / "landing"
        mappings = load_mappings({company_id: settings.clients_dir() / "mappings" / f"{company_id}.yaml"})
        settle = settings.landing_settle_seconds()
        deadline = time.monotonic() + settle + 5
        with self.console.step(f"waiting for {company_id}'s files to settle…") as status:
            while True:
                waiting = [w for w in discover_landing(landing, {company_id}, mappings=mappings).waiting
                           if w.file.split("/", 1)[0] == company_id]
                if not waiting or time.monotonic() > deadline:
                    break
                status.update(f"waiting for {len(waiting)} file(s) of {company_id} to settle "
                              f"({waiting[0].message})…")
                time.sleep(2)
        if waiting:
            self.console.say(f"  {len(waiting)} file(s) still changing, left for a later ingest: {waiting[0].file}")

    def build(self, company_id: str | None = None) -> dict | None:
        self._run("build the warehouse, features and KPIs", "warehouse_job")
        if company_id is None:
            return None
        from orchestration.onboard.summary import warehouse_rows

        rows = warehouse_rows(_connect_warehouse, company_id)
        self.console.say(f"  {company_id} in the warehouse: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
        if not any(rows.values()):
            raise OnboardError(f"{company_id} has no rows in the warehouse after the build "
                               f"(held back or nothing landed; see the run in the Dagster UI)")
        return rows

    def report(self, company_id: str) -> Path:
        check_company(company_id)
        outcome = self._run(f"quality report {company_id}", "quality_report_job", partition=company_id)
        from orchestration.onboard.summary import quality_lines

        path = settings.lake_root() / "reports" / "quality" / f"{company_id}.html"
        if not path.is_file():
            raise OnboardError(f"{company_id}: the quality report was not written to {path}")
        for line in quality_lines(outcome.materializations.get("quality/inspection"), path):
            self.console.say(f"  {line}")
        return path

    def run(self, company_id: str) -> None:
        started = time.monotonic()
        self.register(company_id)
        summary = self.ingest(company_id)
        if summary.landed_files_ever == 0:
            raise OnboardError(f"{company_id}: none of its files landed (see the reasons above)")
        self.build(company_id)
        path = self.report(company_id)
        self.console.say(f"done: {company_id} onboarded in {time.monotonic() - started:.0f}s; report {path}")


def _connect_warehouse():
    """The published warehouse, read-only (the one place that knows how to open it)."""
    from orchestration.resources import WarehouseResource

    return WarehouseResource().file.connect_read_only()


def draft_command(args, console: Console) -> None:
    from orchestration.onboard.draft import DraftError, draft_mapping

    try:
        text = draft_mapping(args.company, [Path(f) for f in args.files])
    except DraftError as error:
        raise OnboardError(str(error)) from None
    if args.write:
        target = settings.clients_dir() / "mappings" / f"{args.company}.yaml"
        if target.exists() and not args.force:
            raise OnboardError(f"{target} exists; review it, or pass --force to overwrite it with the draft")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}; review every line marked GUESS or UNPLACED, then "
              f"`python -m orchestration.onboard validate {args.company}`", file=sys.stderr)
    else:
        console.say(text.rstrip("\n"))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m orchestration.onboard", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    root.add_argument("--verbose", action="store_true", help="show Dagster's event log on the terminal")
    sub = root.add_subparsers(dest="command", required=True)
    draft = sub.add_parser("draft", help="draft a mapping from sample files (YAML on stdout)")
    draft.add_argument("company")
    draft.add_argument("files", nargs="+")
    draft.add_argument("--write", action="store_true", help="write clients/mappings/COMPANY.yaml instead")
    draft.add_argument("--force", action="store_true", help="with --write: overwrite an existing mapping")
    validate = sub.add_parser("validate", help="check the registry entry, the mapping and sample files")
    validate.add_argument("company")
    validate.add_argument("files", nargs="*", type=Path)
    for name, text in (("register", "check the registry entry and mapping, land the registry"),
                       ("ingest", "ingest only this company's landing files"),
                       ("report", "inspect data quality and write the company's report"),
                       ("run", "register, ingest, build and report one company")):
        sub.add_parser(name, help=text).add_argument("company")
    build = sub.add_parser("build", help="build the warehouse and what depends on it")
    build.add_argument("company", nargs="?", default=None, help="report this company's rows afterwards")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console()
    steps = Onboarding(console, verbose=args.verbose)
    try:
        if args.command == "draft":
            draft_command(args, console)
        elif args.command == "validate":
            steps.validate(args.company, args.files)
        elif args.command == "build":
            steps.build(args.company)
        else:
            getattr(steps, args.command)(args.company)
    except OnboardError as error:
        print(f"onboard {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"onboard {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the command ends with its own message, never a traceback
        print(f"onboard {args.command}: unexpected {type(error).__name__}: {error} "
              f"(run with --verbose for details)", file=sys.stderr)
        if args.verbose:
            raise
        return 1
    return 0
