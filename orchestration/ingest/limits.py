"""Bounds on what one client file may cost to read. Generous by default (a real export is far
below every one of them); each can be moved with an environment variable. A file beyond a bound
is rejected whole with a reason naming the bound; a line or cell beyond one rejects that row only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

MiB = 1 << 20


@dataclass(frozen=True)
class InputLimits:
    max_file_bytes: int = 4096 * MiB            # INGEST_MAX_FILE_BYTES
    max_line_bytes: int = 1 * MiB               # INGEST_MAX_LINE_BYTES: one CSV line
    max_columns: int = 2000                     # INGEST_MAX_COLUMNS: header fields (CSV) / sheet columns (XLSX)
    max_cell_bytes: int = 64 * 1024             # INGEST_MAX_CELL_BYTES: one text cell that is used
    max_xlsx_uncompressed_bytes: int = 1024 * MiB  # INGEST_MAX_XLSX_UNCOMPRESSED_BYTES: all parts of the zip
    max_sheet_cells: int = 50_000_000           # INGEST_MAX_SHEET_CELLS: rows x columns of the used range, from
                                                # A1, as declared and as the cells reach (checked in the XML first)

    @classmethod
    def from_env(cls) -> "InputLimits":
        values = {}
        for field in fields(cls):
            raw = os.environ.get(f"INGEST_{field.name.upper()}")
            if raw:
                values[field.name] = int(raw)
        return cls(**values)


def input_limits() -> InputLimits:
    return InputLimits.from_env()
