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
from orchestration.ingest.limits import input_limits
from orchestration.ingest.mapping import ClientMapping
from orchestration.ingest.rejections import FileRejected
from orchestration.ingest.standardise import parse_entries
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
from orchestration.lakehouse.delta_reads import delta_dataset


@dataclass
class FileOutcome:
    """What happened to one landing file under one mapping entry."""

    source_file: str
    source_hash: str
    dataset: str | None
    status: str  # ingested | partial | quarantined | duplicate | already_ingested | changed (not logged: taken later)
    rows_landed: int = 0  # rows written to bronze (a wide row gives one per sensor)
    rows_rejected: int = 0  # rejection records (rows or cells left out, each with its reason)
    unmapped_columns: list[str] = field(default_factory=list)
    first_problem: str | None = None
    dataset_entry: str | None = None
    source_rows: int = 0  # data rows in the file = source_rows_landed + source_rows_rejected
    source_rows_landed: int = 0
    source_rows_rejected: int = 0
    duplicate_of: str | None = None
    missing_columns: list[str] = field(default_factory=list)  # mapped, absent from a file that has the others


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


WHOLE_FILE = "(file)"  # the ledger entry of a file no mapping entry reads


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
    """Land the new (file, mapping entry) pairs among `files`; pairs already in the ingest log are
    skipped. Every entry whose glob matches a file reads it (one per-shot export can carry
    readings, inspections, events and lots).

    A file quarantined whole is tried again when the client's mapping has changed since (the
    usual fix is in the mapping), or when `retry_quarantined` is set.
    """
    now = now or datetime.now(timezone.utc)
    version = (mapping_version or mapping.version or "")[:16]
    report = CompanyIngestReport(company_id=company_id, run_id=run_id)
    ledger = Ledger.read(bronze, company_id, version, retry_quarantined)
    landed_pairs: dict[str, set | None] = {ds: None for ds in DATASETS}  # read lazily
    rejected_pairs = bronze.pairs_in(REJECTIONS_TABLE, company_id, ("source_hash", "dataset_entry"))

    pending_rows: dict[str, list[pa.Table]] = defaultdict(list)
    pending_rejections: list[dict] = []
    pending_log: list[dict] = []

    current_versions = None  # source_file -> hash of its latest landed version; read lazily
    max_file_bytes = input_limits().max_file_bytes

    for landing_file in sorted(files, key=lambda f: f.relative_path):
        rel = landing_file.relative_path
        try:
            content = read_landing_file(landing_file, max_bytes=max_file_bytes)
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
            "mapping_version": version or None,
        }
        if current_versions is None:
            current_versions = _current_versions(bronze, company_id)
        if current_versions.get(rel, digest) != digest:  # the client re-sent this file with other content
            log_base["supersedes"] = current_versions[rel]
        within_company = rel.split("/", 1)[1] if "/" in rel else rel
        specs = mapping.datasets_for(within_company)
        parses = _parse_new_entries(content.data, specs, ledger, rel, digest, mapping, now)
        for spec in specs or [None]:
            dataset = spec.dataset if spec is not None else None
            entry = spec.name if spec is not None else WHOLE_FILE
            if ledger.is_done(rel, digest, entry, dataset):
                earlier = ledger.read_under(rel, digest, entry)
                note = (f"landed under mapping version {earlier}, the mapping is now {version}: "
                        f"`python -m orchestration.ingest.retract {company_id} {rel} --reingest` applies it"
                        if earlier and version and earlier != version else None)
                report.files.append(FileOutcome(rel, digest, dataset, "already_ingested", first_problem=note,
                                                dataset_entry=entry))
                continue
            original = ledger.first_file_with(digest, entry, dataset)
            if original is not None and original != rel:
                note = f"same content as {original}"
                report.files.append(FileOutcome(rel, digest, dataset, "duplicate", first_problem=note,
                                                dataset_entry=entry, duplicate_of=original))
                pending_log.append({**log_base, "dataset": dataset, "dataset_entry": entry, "status": "duplicate",
                                    "source_rows": 0, "rows_landed": 0, "rows_rejected": 0, "bronze_rows": 0,
                                    "duplicate_of": original, "unmapped_columns": note})
                continue
            ledger.processing(rel, digest, entry)
            try:
                if content.data is None:
                    raise FileRejected("file_too_large", f"{rel}: {content.size:,} bytes, more than the limit of "
                                       f"{max_file_bytes:,} (INGEST_MAX_FILE_BYTES); the original stays in landing",
                                       rel)
                if spec is None:
                    raise FileRejected("unmapped_file", f"{rel} matches no dataset glob in the mapping of {company_id}", rel)
                parsed = parses[spec.name]
                if isinstance(parsed, FileRejected):
                    raise parsed
            except FileRejected as rejected:
                if content.data is not None:  # an oversized original is not copied
                    keep_in_quarantine(landing_file.path, quarantine_root, company_id, digest, content.data)
                problem = _rejection_record(company_id, rel, digest, dataset, rejected, now, run_id, entry)
                if not _recorded(rejected_pairs, digest, entry):
                    pending_rejections.append(problem)
                report.rejections.append(problem)
                report.files.append(FileOutcome(rel, digest, dataset, "quarantined", first_problem=rejected.message,
                                                dataset_entry=entry))
                pending_log.append({**log_base, "dataset": dataset, "dataset_entry": entry, "status": "quarantined",
                                    "source_rows": None, "rows_landed": 0, "rows_rejected": 0, "bronze_rows": 0,
                                    "unmapped_columns": None})
                continue

            rows = with_lineage(parsed.table, dataset=dataset, source_file=rel, source_hash=digest,
                                ingested_at=now, run_id=run_id, dataset_entry=entry, mapping_version=version or None)
            if landed_pairs[dataset] is None:
                landed_pairs[dataset] = bronze.pairs_in(dataset, company_id, ("_source_hash", "_dataset_entry"))
            if not _recorded(landed_pairs[dataset], digest, entry):
                pending_rows[dataset].append(rows)  # else: committed by a run that died before its log
            problems = [_rejection_record(company_id, rel, digest, dataset, r, now, run_id, entry)
                        for r in parsed.rejections]
            if problems:
                keep_in_quarantine(landing_file.path, quarantine_root, company_id, digest, content.data)
                if not _recorded(rejected_pairs, digest, entry):
                    pending_rejections.extend(problems)
                report.rejections.extend(problems)
            status = "partial" if problems else "ingested"
            unmapped = list(parsed.unmapped_columns)
            report.files.append(FileOutcome(
                rel, digest, dataset, status, rows.num_rows, len(problems), unmapped,
                problems[0]["message"] if problems else None, entry, parsed.rows_read, parsed.rows_landed,
                parsed.rows_rejected, missing_columns=list(parsed.missing_columns)))
            pending_log.append({**log_base, "dataset": dataset, "dataset_entry": entry, "status": status,
                                "source_rows": parsed.rows_read, "rows_landed": parsed.rows_landed,
                                "rows_rejected": parsed.rows_rejected, "bronze_rows": rows.num_rows,
                                "unmapped_columns": ", ".join(unmapped) or None,
                                "missing_columns": ", ".join(parsed.missing_columns) or None})

    # Data first, then rejections, then the log: the log is the "done" mark (see bronze.py).
    for dataset, tables in pending_rows.items():
        table_version = bronze.append(dataset, pa.concat_tables(tables))
        if table_version is not None:
            report.table_versions[dataset] = table_version
    if pending_rejections:
        report.table_versions[REJECTIONS_TABLE] = bronze.append(
            REJECTIONS_TABLE, rows_of(pending_rejections, REJECTIONS_SCHEMA))
    if pending_log:
        report.table_versions[LOG_TABLE] = bronze.append(LOG_TABLE, rows_of(pending_log, INGEST_LOG_SCHEMA))
    return report


def _parse_new_entries(data: bytes | None, specs, ledger: "Ledger", rel: str, digest: str, mapping: ClientMapping,
                       now: datetime) -> dict:
    """The parse of the file for each entry that will read it (not landed yet, not a duplicate),
    the bytes split once for all of them (`parse_entries`)."""
    if data is None:
        return {}
    new = [spec for spec in specs if not ledger.is_done(rel, digest, spec.name, spec.dataset)
           and ledger.first_file_with(digest, spec.name, spec.dataset) in (None, rel)]
    return dict(zip([spec.name for spec in new], parse_entries(data, new, mapping, relative_path=rel, now=now)))


def _recorded(pairs: set, digest: str, entry: str) -> bool:
    """Whether a table already holds this file content under this entry (rows written before
    entries existed carry none and count for every entry)."""
    return (digest, entry) in pairs or (digest, None) in pairs


@dataclass
class Ledger:
    """What the ingest log says about one company's files, per (file, hash, mapping entry)."""

    done: dict[tuple[str, str, str], str]  # (file, hash, entry) -> status
    first_files: dict[tuple[str, str], str]  # (hash, entry) -> the file whose content was processed first
    versions: dict[tuple[str, str, str], str] = field(default_factory=dict)  # -> mapping version it was read under

    @classmethod
    def read(cls, bronze: BronzeLake, company_id: str, mapping_version: str, retry_quarantined: bool) -> "Ledger":
        """Everything logged counts as done, except whole-file quarantines that deserve another try
        and files retracted since. Log rows written before entries existed (entry null) stand for
        their dataset's entries."""
        table = bronze.open(LOG_TABLE)
        if table is None:
            return cls({}, {})
        dataset = delta_dataset(table, company_id)
        wanted = ["source_file", "source_hash", "dataset", "dataset_entry", "status", "mapping_version", "ingested_at"]
        rows = dataset.to_table(columns=[c for c in wanted if c in dataset.schema.names]).to_pylist()
        rows.sort(key=lambda r: r["ingested_at"])
        quarantined_under: dict[tuple, set] = {}
        done: dict[tuple, str] = {}
        versions: dict[tuple, str] = {}
        first_files: dict[tuple, str] = {}
        for row in rows:
            entry = row.get("dataset_entry") or _legacy_entry(row.get("dataset"))
            key = (row["source_file"], row["source_hash"], entry)
            if row["status"] == "retracted":
                done.pop(key, None)
                quarantined_under.pop(key, None)
                if first_files.get(key[1:]) == row["source_file"]:
                    del first_files[key[1:]]
                continue
            if row["status"] == "quarantined":
                quarantined_under.setdefault(key, set()).add(row["mapping_version"] or "")
            else:
                done[key] = row["status"]
                versions[key] = row.get("mapping_version") or ""
            if row["status"] != "duplicate":
                first_files.setdefault(key[1:], row["source_file"])
        for key, quarantined_versions in quarantined_under.items():
            if key not in done and not retry_quarantined and (mapping_version or "") in quarantined_versions:
                done[key] = "quarantined"
        return cls(done, first_files, versions)

    def read_under(self, rel: str, digest: str, entry: str) -> str | None:
        return self.versions.get((rel, digest, entry))

    def is_done(self, rel: str, digest: str, entry: str, dataset: str | None) -> bool:
        return (rel, digest, entry) in self.done or (rel, digest, _legacy_entry(dataset)) in self.done

    def first_file_with(self, digest: str, entry: str, dataset: str | None) -> str | None:
        """The file this content was first processed from under this entry; for a file no entry
        reads (a copy re-sent under a name the globs miss), under any entry."""
        if entry == WHOLE_FILE:
            return next((f for (d, _), f in self.first_files.items() if d == digest), None)
        return self.first_files.get((digest, entry)) or self.first_files.get((digest, _legacy_entry(dataset)))

    def processing(self, rel: str, digest: str, entry: str) -> None:
        self.first_files.setdefault((digest, entry), rel)


def _legacy_entry(dataset: str | None) -> str:
    return f"(legacy) {dataset}" if dataset else WHOLE_FILE



def _current_versions(bronze: BronzeLake, company_id: str) -> dict[str, str]:
    """Per landing file name, the hash of the version whose rows are current (the latest landed)."""
    table = bronze.open(LOG_TABLE)
    if table is None:
        return {}
    rows = delta_dataset(table, company_id).to_table(
        columns=["source_file", "source_hash", "status", "ingested_at"]).to_pylist()
    landed: dict[tuple[str, str], datetime] = {}  # (file, version) -> when it last landed, unless retracted since
    for row in sorted(rows, key=lambda r: r["ingested_at"]):
        if row["status"] in ("ingested", "partial"):
            landed[(row["source_file"], row["source_hash"])] = row["ingested_at"]
        elif row["status"] == "retracted":
            landed.pop((row["source_file"], row["source_hash"]), None)
    latest: dict[str, tuple] = {}
    for (name, digest), when in landed.items():
        if name not in latest or (when, digest) > latest[name]:
            latest[name] = (when, digest)
    return {name: digest for name, (_, digest) in latest.items()}


def _rejection_record(company_id, rel, digest, dataset, problem, now, run_id, entry=None) -> dict:
    return {
        "company_id": company_id,
        "source_file": rel,
        "source_hash": digest,
        "dataset": dataset,
        "dataset_entry": entry,
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
    from orchestration.ingest.mapping import load_mapping, load_mappings
    from orchestration.lakehouse.registry import land_registry, read_registry

    registry = read_registry(clients / "registry.yaml")
    bronze = BronzeLake(bronze_root, storage_options)
    land_registry(registry.companies, bronze)
    scan = discover_landing(landing_root, registry.listed, mappings=load_mappings(
        {c: clients / "mappings" / f"{c}.yaml" for c in companies or registry.listed}))
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
            bronze=bronze, quarantine_root=quarantine_root, run_id=run_id)
    return reports
