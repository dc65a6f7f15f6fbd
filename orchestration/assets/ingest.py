"""Stage 1: landing files -> bronze Delta tables (exactly once per file, bad input quarantined)."""

import fnmatch
from datetime import datetime, timezone

import dagster as dg
from pydantic import Field

from orchestration.ingest.bronze_schemas import DATASETS
from orchestration.ingest.landing import NEVER_READ, discover_landing
from orchestration.ingest.mapping import load_mapping
from orchestration.lakehouse.bronze import LOG_TABLE, REJECTIONS_SCHEMA, REJECTIONS_TABLE, rows_of
from orchestration.lakehouse.landing_to_bronze import file_sha256, ingest_company, keep_in_quarantine
from orchestration.lakehouse.table_state import company_table_state
from orchestration.lakehouse.registry import land_registry, read_registry
from orchestration.partitions import company_partitions
from orchestration.resources import LakeResource
from orchestration.retries import retry_when_transient

UNATTRIBUTED = "_unattributed"

DATASET_DESCRIPTIONS = {
    "sensor_readings": "Process sensor readings (PLC/SCADA), one row per reading, in the client's units.",
    "production_lots": "Production lots/batches from the client's MES: start, end, quantity.",
    "quality_inspections": "Quality inspections per lot: measured value, spec limits, pass/fail, defect label.",
    "equipment_events": "Equipment run/stop/alarm events.",
    "work_orders": "MES work orders (작업지시): order, product, dates, ordered quantity and its unit.",
    "shipments": "Shipments per work order (1st..nth 출하 of a wide MES export), quantity and its unit.",
}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["bronze", "companies"], description="Client registry: one row per client company (기업)."),
        dg.AssetSpec(["bronze", "support_stages"], description="Programme support stages per company, with dates."),
        dg.AssetSpec(["bronze", "company_shifts"], description="Work shifts (근무조) of the companies that have "
                     "their own; the others work the warehouse's default day/night pattern."),
        dg.AssetSpec(["bronze", "company_programme"], description="Programme facts per company: baseline and "
                     "follow-up periods of the outcome KPIs, consent to publish an anonymised dataset."),
    ],
    group_name="bronze",
)
def client_registry(context: dg.AssetExecutionContext, lake: LakeResource):
    """Land clients/registry.yaml as bronze tables and register each company as a partition. A
    faulty entry is reported (and fails that company's ingest runs); the others land."""
    registry = read_registry(lake.registry_file)
    companies = registry.companies
    for company, problem in registry.problems.items():
        context.log.error(f"registry entry of {company} not loaded: {problem}")
    known = set(context.instance.get_dynamic_partitions(company_partitions.name))
    new = [c for c in sorted(registry.listed) if c not in known]
    if new:
        context.instance.add_dynamic_partitions(company_partitions.name, new)
    for name, table in land_registry(companies, lake.bronze_lake()).items():
        yield dg.MaterializeResult(
            asset_key=["bronze", name],
            metadata={"rows": table.num_rows, "registry": str(lake.registry_file), "newly_registered": ", ".join(new),
                      "faulty_entries": dg.MetadataValue.md(_markdown_table(
                          [{"company": c, "problem": m} for c, m in registry.problems.items()]) or "none")},
        )


@dg.asset(
    key=["bronze", "landing_audit"],
    group_name="bronze",
    deps=[["bronze", "companies"]],
    description="Landing files that cannot be attributed to a client (unknown company folder, unsafe "
    "paths): quarantined with a reason so nothing disappears unnoticed.",
)
def landing_audit(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    known = read_registry(lake.registry_file).listed
    scan = discover_landing(lake.landing, known)
    bronze = lake.bronze_lake()
    already = bronze.hashes_in(REJECTIONS_TABLE, UNATTRIBUTED, "source_hash")
    now = datetime.now(timezone.utc)
    records = []
    for rejection in scan.rejected:
        path = lake.landing / rejection.file
        readable = rejection.reason not in NEVER_READ and path.is_file() and not path.is_symlink()
        # A link pointing outside the landing area is recorded by name; it is never followed.
        key = file_sha256(path) if readable else f"path:{rejection.file}"
        if readable:
            keep_in_quarantine(path, lake.quarantine, UNATTRIBUTED, key)
        record = {"company_id": UNATTRIBUTED, "source_file": rejection.file, "source_hash": key,
                  "dataset": None, "row_number": None, "column_name": None, "reason": rejection.reason,
                  "message": rejection.message, "quarantined_at": now, "ingest_run_id": context.run.run_id}
        if key not in already:
            records.append(record)
    if records:
        bronze.append(REJECTIONS_TABLE, rows_of(records, REJECTIONS_SCHEMA))
    return dg.MaterializeResult(
        metadata={
            "files_seen": len(scan.files),
            "unattributed_files": len(scan.rejected),
            "newly_quarantined": len(records),
            "problems": dg.MetadataValue.md(_markdown_table(
                [{"file": r.file, "reason": r.reason, "message": r.message} for r in scan.rejected]
            ) or "none"),
        }
    )


class IngestConfig(dg.Config):
    retry_quarantined: bool = Field(
        default=False,
        description="Try files that were quarantined whole again even if the client's mapping has not "
        "changed (it is retried automatically after a mapping change).",
    )
    only_files: str = Field(
        default="",
        description="Limit the run to this company's landing files matching a glob on the path under its "
        "folder, e.g. 'sensors/*20261103*' for one day or 'qc/검사_20261103.csv' for one file. Empty: all "
        "new files. Files already ingested are still skipped (exactly once).",
    )
    retract_files: str = Field(
        default="",
        description="Before ingesting, retract this company's already-landed files matching a glob on the path "
        "under its folder (e.g. 'kamp/2019*.csv'): their rows leave every bronze table (a logged Delta delete, "
        "recorded in the ledger; the originals stay in landing and quarantine), and this run ingests them "
        "again under the current mapping. The same as `python -m orchestration.ingest.retract --reingest`.",
    )
    retract_version: str = Field(
        default="",
        description="With retract_files: retract only this version of the matching file (a file the client "
        "re-exported under the same name has one per content): its sha256 or the first 8+ hex digits, as in "
        "bronze/ingest_log's source_hash. The ledger's supersedes chain is re-linked around it.",
    )


@dg.multi_asset(
    specs=[
        *[
            dg.AssetSpec(["bronze", name], description=DATASET_DESCRIPTIONS[name], deps=[["bronze", "companies"]],
                         partitions_def=company_partitions, skippable=True)
            for name in DATASETS
        ],
        # Skippable: a run that lands nothing new materialises nothing, so automation downstream
        # sees no change and starts no warehouse build.
        dg.AssetSpec(["bronze", REJECTIONS_TABLE], partitions_def=company_partitions, skippable=True,
                     description="Quarantined rows and files with a machine-readable reason (file, row, column, message)."),
        dg.AssetSpec(["bronze", LOG_TABLE], partitions_def=company_partitions, skippable=True,
                     description="One row per landing file and mapping entry: hash, status, source rows = rows landed + rows rejected, bronze rows, duplicate_of, mapping version. Exactly-once ledger."),
    ],
    group_name="bronze",
    partitions_def=company_partitions,
)
def company_landing_files(context: dg.AssetExecutionContext, config: IngestConfig, lake: LakeResource):
    """Ingest every new landing file of one company into the bronze Delta tables."""
    company_id = context.partition_key
    registry = read_registry(lake.registry_file)
    known = registry.listed
    if company_id in registry.problems:  # this company only: the others' runs go on
        raise dg.Failure(f"{company_id}: its entry in the client registry is faulty, nothing ingested: "
                         f"{registry.problems[company_id]}")
    if company_id not in known:
        raise dg.Failure(f"Company {company_id} is not in {lake.registry_file}; add it to the registry first.")
    mapping_file = lake.mapping_file(company_id)
    mapping = load_mapping(mapping_file)
    scan = discover_landing(lake.landing, known, mappings={company_id: mapping})
    files = [f for f in scan.files if f.company_id == company_id
             and (not config.only_files or fnmatch.fnmatch(f.relative_path.split("/", 1)[1], config.only_files))]
    if config.only_files:
        context.log.info(f"{company_id}: {len(files)} landing file(s) match {config.only_files!r}")
    waiting = [w for w in scan.waiting if w.file.startswith(f"{company_id}/")]
    if waiting:
        context.log.info(f"{company_id}: {len(waiting)} file(s) not complete yet, taken by a later run "
                         f"(e.g. {waiting[0].file}: {waiting[0].message})")
    bronze = lake.bronze_lake()
    if config.retract_files:
        retract_matching(context, bronze, lake.quarantine, company_id, config.retract_files,
                         version=config.retract_version or None)
    # exactly-once makes a re-run safe: a commit that lost a race is simply tried again
    with retry_when_transient(context):
        report = ingest_company(
            company_id, files, mapping=mapping, bronze=bronze,
            quarantine_root=lake.quarantine, run_id=context.run.run_id,
            mapping_version=mapping.version, retry_quarantined=config.retry_quarantined,
        )
    older = [f for f in report.files_with_status("already_ingested") if f.first_problem]
    if older:
        context.log.info(f"{company_id}: {len(older)} landed file(s) were read under an earlier mapping version and are "
                         f"not re-read by themselves (e.g. {older[0].source_file}); retract_files re-ingests them")
    for outcome in report.files_with_status("duplicate"):
        context.log.info(f"{company_id}: {outcome.source_file} ({outcome.dataset_entry}) skipped as a duplicate of "
                         f"{outcome.duplicate_of}")
    for outcome in report.files:
        if outcome.missing_columns:
            context.log.warning(f"{company_id}: {outcome.source_file} ({outcome.dataset_entry}) lacks mapped "
                                f"column(s) {', '.join(outcome.missing_columns)}; those values are not loaded")
    quarantined = report.files_with_status("quarantined")
    partial = report.files_with_status("partial")
    if quarantined or partial:
        context.log.warning(
            f"{company_id}: {len(quarantined)} file(s) quarantined, {len(partial)} partially ingested, "
            f"{report.rows_rejected} row problem(s); see bronze/ingest_rejections"
        )
    new_files = [f for f in report.files if f.status != "already_ingested"]

    # A partition never materialised counts as missing, and one missing parent partition stops
    # eager automation of everything downstream: so the first run of a company materialises
    # every table; later runs only what they changed. Asked of the instance once per table.
    never_materialised = {t for t in (*DATASETS, REJECTIONS_TABLE, LOG_TABLE)
                          if company_id not in context.instance.get_materialized_partitions(dg.AssetKey(["bronze", t]))}

    def changed(table: str, *, when: bool) -> bool:
        return when or table in never_materialised

    if not new_files and not never_materialised:
        context.log.info(f"{company_id}: no new landing files; nothing materialised (no-op)")
        return
    for name in DATASETS:
        dataset_files = [f for f in report.files if f.dataset == name]
        if not changed(name, when=report.rows_landed(name) > 0):
            continue
        yield dg.MaterializeResult(
            asset_key=["bronze", name],
            metadata={
                **company_table_state(bronze.table_path(name), company_id, bronze.storage_options),
                "rows_landed": report.rows_landed(name),
                "files_ingested": sum(f.status in ("ingested", "partial") for f in dataset_files),
                "files_quarantined": sum(f.status == "quarantined" for f in dataset_files),
                "rows_rejected": sum(f.rows_rejected for f in dataset_files),
                "unmapped_columns": ", ".join(sorted({c for f in dataset_files for c in f.unmapped_columns})) or "none",
                "table": dg.MetadataValue.path(str(bronze.table_path(name))),
            },
        )
    if changed(REJECTIONS_TABLE, when=bool(report.rejections or quarantined or partial)):
        yield dg.MaterializeResult(
            asset_key=["bronze", REJECTIONS_TABLE],
            metadata={
                **company_table_state(bronze.table_path(REJECTIONS_TABLE), company_id, bronze.storage_options),
                "rejections": len(report.rejections),
                "files_quarantined": len(quarantined),
                "files_partially_ingested": len(partial),
                "quarantine_folder": dg.MetadataValue.path(str(lake.quarantine / company_id)),
                "first_problems": dg.MetadataValue.md(_markdown_table([
                    {k: r[k] for k in ("source_file", "row_number", "column_name", "reason", "message")}
                    for r in report.rejections[:20]
                ]) or "none"),
            },
        )
    if changed(LOG_TABLE, when=bool(new_files)):
        yield dg.MaterializeResult(
            asset_key=["bronze", LOG_TABLE],
            metadata={
                **company_table_state(bronze.table_path(LOG_TABLE), company_id, bronze.storage_options),
                "files_seen": len(report.files),
                "files_new": len(new_files),
                "duplicates": len(report.files_with_status("duplicate")),
                "files": dg.MetadataValue.md(_markdown_table([
                    {"file": f.source_file, "entry": f.dataset_entry or "", "status": f.status,
                     "source_rows": f.source_rows, "rows_landed": f.source_rows_landed,
                     "rows_rejected": f.source_rows_rejected, "bronze_rows": f.rows_landed,
                     "duplicate_of": f.duplicate_of or "", "note": f.first_problem or ""}
                    for f in new_files
                ][:50]) or "no new files"),
            },
        )


def retract_matching(context: dg.AssetExecutionContext, bronze, quarantine_root, company_id: str, pattern: str,
                     version: str | None = None) -> None:
    from orchestration.lakehouse.retraction import files_in_ledger, retract_file

    matching = [f for f in files_in_ledger(bronze, company_id) if fnmatch.fnmatch(f.split("/", 1)[1], pattern)]
    if not matching:
        context.log.warning(f"{company_id}: no landed file matches retract_files {pattern!r}")
    problems = []
    for source_file in matching:
        try:
            result = retract_file(company_id, source_file, bronze=bronze, quarantine_root=quarantine_root,
                                  run_id=context.run.run_id,
                                  reason=f"retract_files {pattern!r} in run {context.run.run_id}", version=version)
        except LookupError as problem:  # with retract_version: a matching file without that version
            problems.append(str(problem))
            continue
        context.log.info(f"{company_id}: retracted {source_file} ({result.total_deleted} bronze rows deleted, "
                         f"entries {', '.join(result.entries)}); it is ingested again in this run")
    if matching and len(problems) == len(matching):
        raise dg.Failure(f"{company_id}: nothing retracted: {problems[0]}")


def _markdown_table(rows: list[dict]) -> str:
    if not rows:
        return ""
    headers = list(rows[0])
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append("| " + " | ".join(str(row[h] if row[h] is not None else "").replace("|", "\\|")
                                      .replace("\n", " ") for h in headers) + " |")
    return "\n".join(lines)
