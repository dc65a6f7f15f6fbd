"""What one company's runs did, in the words an onboarding engineer needs: files landed, rows,
rejections with their first reasons, duplicates skipped, rows in the warehouse, quality scores.

Read from the bronze ledger (`ingest_log`, `ingest_rejections`) and the published warehouse, so
the summary says what is really stored, not what a run believed it wrote.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc

from orchestration.lakehouse.bronze import LOG_TABLE, REJECTIONS_TABLE, BronzeLake
from orchestration.lakehouse.delta_reads import delta_dataset

LANDED = ("ingested", "partial")
FIRST_REASONS = 3
WAREHOUSE_FACTS = {
    "sensor readings": "main.fct_sensor_readings",
    "production lots": "main.fct_production_lots",
    "quality inspections": "main.fct_quality_inspections",
    "equipment events": "main.fct_equipment_events",
}


@dataclass
class IngestSummary:
    company_id: str
    files: dict[str, int] = field(default_factory=dict)  # status -> files of this run
    rows: dict[str, int] = field(default_factory=dict)  # dataset -> rows landed by this run
    rejected_rows: int = 0
    first_reasons: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # "a.csv (same content as b.csv)"
    landed_files_ever: int = 0  # files of the company with rows in bronze, this run or before

    def lines(self) -> list[str]:
        landed = sum(self.files.get(s, 0) for s in LANDED)
        parts = [f"{landed} file(s) landed"]
        for status in ("quarantined", "duplicate"):
            if self.files.get(status):
                parts.append(f"{self.files[status]} {status}")
        out = [", ".join(parts) + f"; {self.landed_files_ever} landed in all so far"]
        if self.rows:
            out.append("rows landed: " + ", ".join(f"{ds} {n:,}" for ds, n in sorted(self.rows.items())))
        if self.rejected_rows or self.first_reasons:
            out.append(f"{self.rejected_rows:,} row(s)/file(s) rejected (bronze/ingest_rejections); first reasons:")
            out += [f"  - {reason}" for reason in self.first_reasons]
        out += [f"duplicate skipped: {d}" for d in self.duplicates]
        return out


def ingest_summary(bronze_root: Path, company_id: str, run_id: str) -> IngestSummary:
    bronze = BronzeLake(bronze_root)
    summary = IngestSummary(company_id)
    log = _company_rows(bronze, LOG_TABLE, company_id)
    # a file may feed several dataset entries (one ledger row each): files are counted once
    summary.landed_files_ever = len({r["source_file"] for r in log if r.get("status") in LANDED})
    seen: set[tuple[str, str]] = set()
    for row in log:
        if row.get("ingest_run_id") != run_id:
            continue
        status = row.get("status") or "unknown"
        if (status, row["source_file"]) not in seen:
            seen.add((status, row["source_file"]))
            summary.files[status] = summary.files.get(status, 0) + 1
        if status in LANDED and row.get("dataset"):
            # bronze_rows: rows written to the dataset table (the ledger's rows_landed counts source rows)
            landed = row.get("bronze_rows") if row.get("bronze_rows") is not None else row.get("rows_landed")
            summary.rows[row["dataset"]] = summary.rows.get(row["dataset"], 0) + int(landed or 0)
        if status == "duplicate":
            original = row.get("duplicate_of") or row.get("unmapped_columns") or "a file already landed"
            summary.duplicates.append(f"{row['source_file']} (same content as {original})".replace(
                "same content as same content as", "same content as"))
    rejections = [r for r in _company_rows(bronze, REJECTIONS_TABLE, company_id) if r.get("ingest_run_id") == run_id]
    summary.rejected_rows = len(rejections)
    by_reason = Counter(r.get("reason") for r in rejections)
    for reason, n in by_reason.most_common(FIRST_REASONS):
        example = next(r for r in rejections if r.get("reason") == reason)
        where = example.get("source_file") or "?"
        if example.get("row_number"):
            where += f" row {example['row_number']}"
        if example.get("column_name"):
            where += f" column {example['column_name']!r}"
        summary.first_reasons.append(f"{reason} ({n}x), e.g. {where}: {example.get('message')}")
    return summary


def _company_rows(bronze: BronzeLake, table_name: str, company_id: str) -> list[dict]:
    table = bronze.open(table_name)
    if table is None:
        return []
    rows = delta_dataset(table, company_id).to_table()
    rows = rows.filter(pc.equal(rows["company_id"], company_id))
    return rows.to_pylist()


def warehouse_rows(connect, company_id: str) -> dict[str, int]:
    """Rows of the company in each fact of the published warehouse; `connect` opens it read-only."""
    con = connect()
    try:
        return {name: con.execute(f"select count(*) from {table} where company_id = ?", [company_id]).fetchone()[0]
                for name, table in WAREHOUSE_FACTS.items()}
    finally:
        con.close()


def quality_lines(materialization: dict | None, report: Path) -> list[str]:
    scores = {k.removeprefix("score_"): v for k, v in (materialization or {}).items() if k.startswith("score_")}
    out = []
    if scores:
        overall = scores.pop("overall", None)
        head = f"quality score {overall:.1f}" if overall is not None else "quality scores"
        out.append(head + " (" + ", ".join(f"{k} {v:.1f}" for k, v in scores.items()) + ")")
        out.append(f"{int((materialization or {}).get('issues', 0))} issue(s) named (quality.dq_issues)")
    out.append(f"report: {report}")
    return out
