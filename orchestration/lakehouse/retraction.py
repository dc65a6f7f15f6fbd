"""Take one landing file's rows back out of bronze, and read it again under the current mapping.

After a mapping fix (a wrong unit, a missed column, a scale factor), the file's rows are removed
from every bronze table with a Delta delete (a logged commit: `DeltaTable.history()` shows it, with
the predicate), its earlier rejections likewise, and the ledger gets one `retracted` row per mapping
entry that had read it. The ledger is append-only: what was landed when, and that it was retracted,
stays visible. The original file stays in landing and in quarantine. With `reingest`, the file is
then ingested again, in the same company lock, exactly as a new file would be.

One version only (`version`: its content hash or the first 8+ hex digits of it): a file the client
re-exported under the same name has several versions, each superseding the one before (ledger
column `supersedes`; the warehouse keeps only the latest). Retracting one removes that version's
rows and re-links the chain around it: the version that superseded it now supersedes what it
superseded, and it supersedes nothing (a Delta update of `supersedes`, with the retraction's commit
metadata). Retracting the latest version makes the one before it current again. A retracted
version still in landing is ingested again by the next run (that is how `reingest` works); to keep
it out for good, the client replaces or removes the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from deltalake import CommitProperties

from orchestration.ingest.bronze_schemas import DATASETS
from orchestration.lakehouse.bronze import INGEST_LOG_SCHEMA, LOG_TABLE, REJECTIONS_TABLE, BronzeLake, rows_of
from orchestration.lakehouse.company_lock import company_lock
from orchestration.lakehouse.delta_reads import delta_dataset


@dataclass
class Retraction:
    company_id: str
    source_file: str
    rows_deleted: dict[str, int] = field(default_factory=dict)  # bronze table -> rows removed
    entries: list[str] = field(default_factory=list)  # mapping entries whose ledger rows were retracted
    reingest: object | None = None  # the CompanyIngestReport of the re-ingest, when asked for

    @property
    def total_deleted(self) -> int:
        return sum(self.rows_deleted.values())


def retract_file(company_id: str, source_file: str, *, bronze: BronzeLake, quarantine_root: Path, run_id: str,
                 reason: str = "", lock_dir: Path | None = None, reingest_with: dict | None = None,
                 now: datetime | None = None, version: str | None = None) -> Retraction:
    """Remove `source_file` (landing path `<company_id>/...`) from bronze, every version of it or
    only `version`, under the company's ingest lock (the one `ingest_company` takes);
    `reingest_with`: the keyword arguments of an ingest (`files`, `mapping`...) to run right after,
    under the same lock. LookupError when the file (or that version) was never logged."""
    from orchestration.lakehouse.landing_to_bronze import _ingest_company

    now = now or datetime.now(timezone.utc)
    result = Retraction(company_id, source_file)
    with company_lock(lock_dir or Path(quarantine_root).parent / "locks", company_id):
        log = bronze.open(LOG_TABLE)
        logged = [] if log is None else [
            r for r in delta_dataset(log, company_id).to_table(
                columns=["source_file", "source_hash", "dataset", "dataset_entry", "status", "ingested_at",
                         "supersedes"]).to_pylist()
            if r["source_file"] == source_file]
        if not logged:
            raise LookupError(f"{company_id}: {source_file} is not in the ingest log; nothing to retract")
        targets = _versions_to_retract(company_id, source_file, logged, version)
        commit = CommitProperties(custom_metadata={"retraction": "landing file" if version is None else "file version",
                                                   "company_id": company_id, "source_file": source_file,
                                                   "versions": ",".join(sorted(targets)), "reason": reason,
                                                   "run_id": run_id})
        of_version = "" if version is None else " AND {hash} = " + _sql(next(iter(targets)))
        for name, column, hash_column in [(d, "_source_file", "_source_hash") for d in DATASETS] + [
                (REJECTIONS_TABLE, "source_file", "source_hash")]:
            table = bronze.open(name)
            if table is None:
                continue
            metrics = table.delete(f"company_id = {_sql(company_id)} AND {column} = {_sql(source_file)}"
                                   + of_version.format(hash=hash_column), commit_properties=commit)
            result.rows_deleted[name] = int(metrics.get("num_deleted_rows", 0))
        latest: dict[tuple, dict] = {}
        for row in sorted(logged, key=lambda r: r["ingested_at"]):
            latest[(row["source_hash"], row.get("dataset_entry") or row["dataset"])] = row
        records = []
        for (digest, entry), row in latest.items():
            if row["status"] == "retracted" or digest not in targets:
                continue
            result.entries.append(entry)
            records.append({"company_id": company_id, "source_file": source_file, "source_hash": digest,
                            "dataset": row["dataset"], "dataset_entry": row.get("dataset_entry"),
                            "status": "retracted", "source_rows": 0, "rows_landed": 0, "rows_rejected": 0,
                            "bronze_rows": 0, "ingested_at": now, "ingest_run_id": run_id,
                            "unmapped_columns": f"retracted ({reason or 'no reason given'}): "
                                                f"{result.rows_deleted.get(row['dataset'], 0)} bronze rows deleted"})
        if records:
            bronze.append(LOG_TABLE, rows_of(records, INGEST_LOG_SCHEMA))
        relink_versions(bronze, company_id, source_file, logged, targets, commit)
        if reingest_with is not None:  # a later instant, so the ledger orders the re-ingest after the retraction
            result.reingest = _ingest_company(company_id, bronze=bronze, quarantine_root=quarantine_root,
                                              run_id=run_id, now=now + timedelta(microseconds=1), **reingest_with)
    return result


def _versions_to_retract(company_id: str, source_file: str, logged: list[dict], version: str | None) -> set[str]:
    hashes = list(dict.fromkeys(r["source_hash"] for r in sorted(logged, key=lambda r: r["ingested_at"])))
    if version is None:
        return set(hashes)
    wanted = version.strip().lower()
    chosen = [h for h in hashes if h.startswith(wanted)] if len(wanted) >= 8 else []
    listed = ", ".join(h[:12] for h in hashes)
    if len(chosen) != 1:
        problem = "matches several versions" if chosen else "is not a version of it (8+ hex digits of its sha256)"
        raise LookupError(f"{company_id}: {source_file}: {version!r} {problem}; its versions, oldest first: {listed}")
    return set(chosen)


def relink_versions(bronze: BronzeLake, company_id: str, source_file: str, logged: list[dict], retracted: set[str],
                    commit: CommitProperties) -> None:
    """Keep the `supersedes` chain of a file's versions true without the retracted ones: a version
    that superseded a retracted one now supersedes what that one superseded (None at the start of
    the chain), and a retracted version supersedes nothing. Computed from the whole log, so running
    a retraction again repairs a chain left half-updated by a crash."""
    supersedes = {r["source_hash"]: r.get("supersedes") for r in logged if r.get("supersedes")}
    changes: dict[str, str | None] = {digest: None for digest in retracted if digest in supersedes}
    for digest, older in supersedes.items():
        if digest in retracted or older not in retracted:
            continue
        while older in retracted:
            older = supersedes.get(older)
        changes[digest] = older
    if not changes:
        return
    log = bronze.open(LOG_TABLE)
    for digest, older in sorted(changes.items()):
        log.update(updates={"supersedes": "NULL" if older is None else _sql(older)},
                   predicate=f"company_id = {_sql(company_id)} AND source_file = {_sql(source_file)} "
                             f"AND source_hash = {_sql(digest)}", commit_properties=commit)


def files_in_ledger(bronze: BronzeLake, company_id: str) -> list[str]:
    """The landing paths (`<company_id>/...`) the company's ledger knows."""
    log = bronze.open(LOG_TABLE)
    if log is None:
        return []
    names = delta_dataset(log, company_id).to_table(
        columns=["source_file"])["source_file"]
    return sorted(set(names.to_pylist()) - {None})


def _sql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
