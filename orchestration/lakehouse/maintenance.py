"""Bronze table upkeep: every ingest commit adds small Parquet files (one per company and
dataset), which over a programme's three years slows every reader. Compaction rewrites them into
large files holding the same rows; vacuum then deletes the files no version within the retention
window still needs.

The warehouse hand-over recognises compaction and does not read the rewritten rows again
(orchestration/warehouse/bronze_handover.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deltalake import DeltaTable

from orchestration.lakehouse.bronze import WRITER_PROPERTIES

# Readers of an older version (a hand-over, a time-travel query) keep their files for a week.
RETENTION_HOURS = 7 * 24


@dataclass(frozen=True)
class TableUpkeep:
    table: str
    files_before: int
    files_after: int
    files_vacuumed: int


def bronze_tables(bronze_root: Path) -> list[Path]:
    return sorted(path for path in Path(bronze_root).iterdir() if (path / "_delta_log").is_dir()) \
        if Path(bronze_root).is_dir() else []


def compact_and_vacuum(table_path: Path, *, retention_hours: int = RETENTION_HOURS) -> TableUpkeep:
    table = DeltaTable(str(table_path))
    before = len(table.file_uris())
    table.optimize.compact(writer_properties=WRITER_PROPERTIES)
    # a retention shorter than the week is the caller's deliberate choice (tests, a full disk)
    vacuumed = table.vacuum(retention_hours=retention_hours, dry_run=False,
                            enforce_retention_duration=retention_hours >= RETENTION_HOURS)
    return TableUpkeep(Path(table_path).name, before, len(DeltaTable(str(table_path)).file_uris()), len(vacuumed))


def upkeep_bronze(bronze_root: Path, *, retention_hours: int = RETENTION_HOURS) -> list[TableUpkeep]:
    return [compact_and_vacuum(path, retention_hours=retention_hours) for path in bronze_tables(bronze_root)]
