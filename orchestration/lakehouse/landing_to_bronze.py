"""Take one company's landing files into bronze: parse, add lineage, quarantine, log.

The Dagster ingest asset is a thin wrapper around `ingest_company`; tests and the benchmark call
it directly.
"""

from __future__ import annotations

import hashlib
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from orchestration.ingest.bronze_schemas import DATASETS
from orchestration.ingest.landing import FileChanged, read_landing_file
from orchestration.ingest.mapping import ClientMapping
from orchestration.ingest.rejections import FileRejected
from orchestration.ingest.standardise import parse_file
from orchestration.lakehouse.bronze import (
    INGEST_LOG_SCHEMA,
    LOG_TABLE,
    REJECTIONS_SCHEMA,
    REJECTIONS_TABLE,
    BronzeLake,
    rows_of,
    with_lineage,
)
from orchestration.lakehouse.company_lock import company_lock


@dataclass
class FileOutcome:
    source_file: str
    source_hash: str
    dataset: str | None
    status: str  # ingested | partial | quarantined | duplicate | already_ingested | changed (not logged: taken later)
    rows_landed: int = 0
    rows_rejected: int = 0
    unmapped_columns: list[str] = field(default_factory=list)
    first_problem: str | None = None


@dataclass
class CompanyIngestReport:
    company_id: str
    run_id: str
    files: list[FileOutcome] = field(default_factory=list)
    table_versions: dict[str, int] = field(default_factory=dict)
    rejections: list[dict] = field(default_factory=list)
    error: str | None = None  # why nothing of this company was ingested (faulty registry entry or mapping)

    def rows_landed(self, dataset: str | None = None) -> int:
        return sum(f.rows_landed for f in self.files if dataset is None or f.dataset == dataset)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    def files_with_status(self, *statuses: str) -> list[FileOutcome]:
        return [f for f in self.files if f.status in statuses]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def keep_in_quarantine(original: Path, quarantine_root: Path, company_id: str, digest: str,
                       data: bytes | None = None) -> Path:
    """Copy the original bytes (`data`: the bytes that were parsed, when the caller has them) next
    to the quarantine records, named by hash so it is never overwritten by a different file of the
    same name."""
    target = quarantine_root / company_id / f"{digest[:16]}__{original.name}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            shutil.copyfile(original, target)
        else:
            target.write_bytes(data)
    return target


def ingest_company(company_id: str, files, *, bronze: BronzeLake, lock_dir: Path | None = None,
                   **options) -> CompanyIngestReport:
    """`_ingest_company` under the company's cross-process ingest lock (see company_lock.py): the
    ledger check, the writes and the ledger append of two ingests of one company never interleave.
    `lock_dir` defaults to `locks/` beside the quarantine folder (always local, like the lake root;
    bronze itself may be on object storage)."""
    with company_lock(lock_dir or Path(options["quarantine_root"]).parent / "locks", company_id):
        return _ingest_company(company_id, files, bronze=bronze, **options)


def _ingest_company(
    company_id: str,
    files,  # list[LandingFile] of this company, from discover_landing
    *,
    mapping: ClientMapping,
    bronze: BronzeLake,
    quarantine_root: Path,
    run_id: str,
    mapping_version: str = "",
    retry_quarantined: bool = False,
    now: datetime | None = None,
) -> CompanyIngestReport:
    """Land the new files among `files`; files already in the ingest log are skipped.

    A file quarantined whole is tried again when the client's mapping has changed since (the
    usual fix is in the mapping), or when `retry_quarantined` is set.
    """
    now = now or datetime.now(timezone.utc)
    report = CompanyIngestReport(company_id=company_id, run_id=run_id)
    logged = _logged_files(bronze, company_id, mapping_version, retry_quarantined)
    # content that was really processed (not merely recognised as a copy of something else)
    logged_hashes = {digest for (_, digest), status in logged.items() if status != "duplicate"}
    landed_hashes = {ds: None for ds in DATASETS}  # read lazily, only for datasets with new files
    rejected_hashes = bronze.hashes_in(REJECTIONS_TABLE, company_id, "source_hash")

    pending_rows: dict[str, list[pa.Table]] = defaultdict(list)
    pending_rejections: list[dict] = []
    pending_log: list[dict] = []
    hashes_this_run: dict[str, str] = {}
    current_versions = None  # source_file -> hash of its latest landed version; read lazily

    for landing_file in sorted(files, key=lambda f: f.relative_path):
        rel = landing_file.relative_path
        try:
            content = read_landing_file(landing_file)
        except (FileChanged, FileNotFoundError) as changed:
            report.files.append(FileOutcome(rel, "", None, "changed", first_problem=str(changed)))
            continue
        digest = content.sha256
        log_base = {
            "company_id": company_id,
            "source_file": rel,
            "source_hash": digest,
            "file_size_bytes": content.size,
            "file_modified_at": datetime.fromtimestamp(content.mtime, timezone.utc),
            "ingested_at": now,
            "ingest_run_id": run_id,
            "mapping_version": mapping_version or None,
        }
        if (rel, digest) in logged:
            report.files.append(FileOutcome(rel, digest, None, "already_ingested"))
            continue
        if digest in logged_hashes or digest in hashes_this_run:
            original = hashes_this_run.get(digest) or next(f for (f, d), st in logged.items() if d == digest and st != "duplicate")
            report.files.append(FileOutcome(rel, digest, None, "duplicate", first_problem=f"same content as {original}"))
            pending_log.append({**log_base, "dataset": None, "status": "duplicate", "rows_landed": 0,
                                "rows_rejected": 0, "unmapped_columns": f"same content as {original}"})
            continue
        hashes_this_run[digest] = rel
        if current_versions is None:
            current_versions = _current_versions(bronze, company_id)
        if current_versions.get(rel, digest) != digest:  # the client re-sent this file with other content
            log_base["supersedes"] = current_versions[rel]

        within_company = rel.split("/", 1)[1] if "/" in rel else rel
        spec = mapping.dataset_for(within_company)
        dataset = spec.dataset if spec is not None else None
        try:
            if spec is None:
                raise FileRejected("unmapped_file", f"{rel} matches no dataset glob in the mapping of {company_id}", rel)
            parsed = parse_file(content.data, spec, mapping, relative_path=rel)
        except FileRejected as rejected:
            keep_in_quarantine(landing_file.path, quarantine_root, company_id, digest, content.data)
            problem = _rejection_record(company_id, rel, digest, dataset, rejected, now, run_id)
            if digest not in rejected_hashes:
                pending_rejections.append(problem)
            report.rejections.append(problem)
            report.files.append(FileOutcome(rel, digest, dataset, "quarantined", first_problem=rejected.message))
            pending_log.append({**log_base, "dataset": dataset, "status": "quarantined", "rows_landed": 0,
                                "rows_rejected": 0, "unmapped_columns": None})
            continue

        rows = with_lineage(parsed.table, dataset=dataset, source_file=rel, source_hash=digest,
                            ingested_at=now, run_id=run_id)
        if landed_hashes[dataset] is None:
            landed_hashes[dataset] = bronze.hashes_in(dataset, company_id, "_source_hash")
        if digest not in landed_hashes[dataset]:
            pending_rows[dataset].append(rows)
        problems = [_rejection_record(company_id, rel, digest, dataset, r, now, run_id) for r in parsed.rejections]
        if problems:
            keep_in_quarantine(landing_file.path, quarantine_root, company_id, digest, content.data)
            if digest not in rejected_hashes:
                pending_rejections.extend(problems)
            report.rejections.extend(problems)
        status = "partial" if problems else "ingested"
        unmapped = list(parsed.unmapped_columns)
        report.files.append(FileOutcome(rel, digest, dataset, status, rows.num_rows, len(problems), unmapped,
                                        problems[0]["message"] if problems else None))
        pending_log.append({**log_base, "dataset": dataset, "status": status, "rows_landed": rows.num_rows,
                            "rows_rejected": len(problems), "unmapped_columns": ", ".join(unmapped) or None})

    # Data first, then rejections, then the log: the log is the "done" mark (see bronze.py).
    for dataset, tables in pending_rows.items():
        version = bronze.append(dataset, pa.concat_tables(tables))
        if version is not None:
            report.table_versions[dataset] = version
    if pending_rejections:
        report.table_versions[REJECTIONS_TABLE] = bronze.append(
            REJECTIONS_TABLE, rows_of(pending_rejections, REJECTIONS_SCHEMA))
    if pending_log:
        report.table_versions[LOG_TABLE] = bronze.append(LOG_TABLE, rows_of(pending_log, INGEST_LOG_SCHEMA))
    return report


def _current_versions(bronze: BronzeLake, company_id: str) -> dict[str, str]:
    """Per landing file name, the hash of the version whose rows are current (the latest landed)."""
    table = bronze.open(LOG_TABLE)
    if table is None:
        return {}
    rows = table.to_pyarrow_dataset(file_pruning_predicate=[("company_id", "=", company_id)]).to_table(
        columns=["source_file", "source_hash", "status", "ingested_at"]).to_pylist()
    latest: dict[str, tuple] = {}
    for row in rows:
        if row["status"] in ("ingested", "partial"):
            key = (row["ingested_at"], row["source_hash"])
            if row["source_file"] not in latest or key > latest[row["source_file"]]:
                latest[row["source_file"]] = key
    return {name: digest for name, (_, digest) in latest.items()}


def _logged_files(bronze: BronzeLake, company_id: str, mapping_version: str,
                  retry_quarantined: bool) -> dict[tuple[str, str], str]:
    """(file, hash) pairs that are done: everything logged, except whole-file quarantines that
    deserve another try."""
    table = bronze.open(LOG_TABLE)
    if table is None:
        return {}
    logged = table.to_pyarrow_dataset(file_pruning_predicate=[("company_id", "=", company_id)]).to_table(
        columns=["source_file", "source_hash", "status", "mapping_version"]).to_pylist()
    quarantined_under: dict[tuple[str, str], set] = {}
    done: dict[tuple[str, str], str] = {}
    for row in logged:
        key = (row["source_file"], row["source_hash"])
        if row["status"] == "quarantined":
            quarantined_under.setdefault(key, set()).add(row["mapping_version"] or "")
        else:
            done[key] = row["status"]
    for key, versions in quarantined_under.items():
        if key not in done and not retry_quarantined and (mapping_version or "") in versions:
            done[key] = "quarantined"
    return done


def _rejection_record(company_id, rel, digest, dataset, problem, now, run_id) -> dict:
    return {
        "company_id": company_id,
        "source_file": rel,
        "source_hash": digest,
        "dataset": dataset,
        "row_number": problem.row,
        "column_name": problem.column,
        "reason": problem.reason,
        "message": problem.message,
        "quarantined_at": now,
        "ingest_run_id": run_id,
    }


def ingest_landing(landing_root: Path, clients: Path, bronze_root: Path | str, quarantine_root: Path, *,
                   companies: list[str] | None = None, run_id: str = "manual",
                   storage_options: dict[str, str] | None = None) -> dict[str, CompanyIngestReport]:
    """Land the registry, then every (or the listed) registered company's new landing files, outside
    Dagster: what scripts, benchmarks and tests use; the Dagster assets do the same per company partition."""
    from orchestration.ingest.landing import discover_landing
    from orchestration.ingest.mapping import load_mapping
    from orchestration.lakehouse.registry import land_registry, read_registry

    registry = read_registry(clients / "registry.yaml")
    bronze = BronzeLake(bronze_root, storage_options)
    land_registry(registry.companies, bronze)
    scan = discover_landing(landing_root, registry.listed)
    reports = {}
    for company in companies or sorted(registry.listed):
        # One company's faulty registry entry or mapping fails that company only (report.error).
        if company in registry.problems:
            reports[company] = CompanyIngestReport(company, run_id, error=registry.problems[company])
            continue
        mapping_file = clients / "mappings" / f"{company}.yaml"
        try:
            mapping = load_mapping(mapping_file)
        except Exception as problem:  # MappingError, a missing file, YAML errors: all the company's own
            reports[company] = CompanyIngestReport(company, run_id, error=f"{mapping_file}: {problem}")
            continue
        reports[company] = ingest_company(
            company, [f for f in scan.files if f.company_id == company], mapping=mapping,
            bronze=bronze, quarantine_root=quarantine_root, run_id=run_id, mapping_version=file_sha256(mapping_file))
    return reports
