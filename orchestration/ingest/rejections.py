"""Why input was not used: one vocabulary of reason codes for whole files and single rows.

A whole file that cannot be used raises `FileRejected` (the caller quarantines it); a single bad
row becomes a `Rejection` and only that row is left out. Either way the record names the file,
the row (1-based line of a CSV, row of an XLSX sheet) and the column, so a person can open the
file and find it.
"""

from __future__ import annotations

from dataclasses import dataclass

# Every reason code the ingest path can produce, with what it means. Codes are stable: they are
# stored in bronze/ingest_rejections and dashboards group by them.
REASONS: dict[str, str] = {
    # landing area (discover_landing): the file is not attributed to any client
    "unknown_company": "the landing folder is not a company of clients/registry.yaml",
    "not_in_company_folder": "file lies directly in the landing root, not under lake/landing/<company_id>/",
    "symlink": "symbolic link in the landing area; links are never followed",
    "unsafe_name": "file or folder name with control characters, a newline, a backslash, '..' or invalid UTF-8",
    "temporary_file": "a file still being written or an editor lock (.part, .tmp, .crdownload, ~$x.xlsx, .~lock)",
    "hidden_file": "hidden file or folder (name starting with '.'), e.g. .DS_Store",
    "special_file": "not a regular file (FIFO, socket, device)",
    "hard_link": "a hard link (the file has more than one name, e.g. a link to a system file); never read",
    "foreign_owner": "a file owned by another user than the landing area; never read",
    # whole file (FileRejected)
    "unmapped_file": "the file matches no dataset glob of the company's mapping",
    "empty_file": "the file has no bytes, or only whitespace",
    "header_only": "the file has a header but no data rows",
    "missing_header": "the header row given by the mapping is missing or blank",
    "binary_file": "the file is not text (NUL bytes, or a ZIP/XLSX where CSV was mapped)",
    "wrong_encoding": "the bytes are not valid in the mapped encoding (e.g. CP949 declared UTF-8); nothing is decoded to mojibake",
    "malformed_csv": "the CSV cannot be parsed at all (e.g. an unterminated quote)",
    "unreadable_xlsx": "the XLSX cannot be opened (corrupt, truncated, encrypted or not an XLSX)",
    "missing_sheet": "the sheet named by the mapping is not in the workbook",
    "missing_column": "a column the dataset requires (per the mapping) is not in the file",
    "file_too_large": "the file is larger than INGEST_MAX_FILE_BYTES",
    "xlsx_too_large": "the XLSX inflates beyond INGEST_MAX_XLSX_UNCOMPRESSED_BYTES (a zip bomb or a runaway export)",
    "sheet_too_large": "the sheet's used range has more cells than INGEST_MAX_SHEET_CELLS",
    "too_many_columns": "the header has more columns than INGEST_MAX_COLUMNS",
    "duplicate_column": "a mapped column name occurs more than once in the header",
    "no_start_time": "relative time: the start time is not in the file name (or does not match the format)",
    # one row (Rejection). When no row of a file can be used, the file is quarantined whole with
    # the most frequent of these reasons and an example row.
    "line_too_long": "a CSV line longer than INGEST_MAX_LINE_BYTES (only that line is left out)",
    "cell_too_long": "a text cell longer than INGEST_MAX_CELL_BYTES",
    "control_character": "a cell holds NUL or another control character (binary garbage, a broken export)",
    "formula_without_value": "an XLSX formula cell with no cached value (the workbook was never recalculated and saved by Excel)",
    "truncated_row": "row with fewer fields than the header (often the last line of a cut-off file)",
    "ragged_row": "row with more fields than the header",
    "missing_timestamp": "the timestamp cell is empty",
    "unparseable_timestamp": "the timestamp does not match the mapping's format",
    "implausible_timestamp": "the timestamp is outside the plausible window (default 2000-01-01 .. landing time + 1 "
                             "day; timestamp.not_before / days_ahead widen it), e.g. a junk cell read as 1900 or 2068",
    "non_numeric_value": "a numeric cell holds text, NaN or infinity",
    "missing_value": "a required value cell is empty (a long-layout reading, a lot quantity)",
    "unknown_tag": "long layout: the tag is not listed under `tags` in the mapping",
    "unknown_unit": "the unit cell is not a unit code of seeds/unit_conversions.csv",
    "unit_mismatch": "the unit measures another quantity than the tag (e.g. kPa for a temperature)",
    "missing_equipment": "the equipment cell is empty",
    "missing_lot_id": "the lot id cell is empty",
    "missing_order_id": "the work order id cell is empty",
    "missing_event_type": "the equipment event type (run/stop/alarm state) cell is empty",
    "missing_result": "the inspection result (label) cell is empty although the mapping maps a result column",
    "no_readings": "wide layout: every mapped sensor cell of the row is empty (or a missing-value sentinel)",
    "end_before_start": "a lot ends before it starts",
    "negative_quantity": "a quantity or defect quantity below zero",
    "defects_exceed_quantity": "more defective units than units produced",
    "unknown_result": "the inspection result is not in the mapping's result_values (nor pass/fail)",
    "unknown_event_type": "the equipment event type is not in the mapping's event_values (nor run/stop/alarm)",
}


def _check(reason: str) -> str:
    if reason not in REASONS:
        raise ValueError(f"undocumented rejection reason {reason!r}; add it to REASONS in {__name__}")
    return reason


class FileRejected(Exception):
    """The whole file is unusable; the caller keeps it in quarantine with this reason."""

    def __init__(self, reason: str, message: str, file: str, row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.reason = _check(reason)
        self.message = message
        self.file = file
        self.row = row
        self.column = column

    def __repr__(self) -> str:
        return f"FileRejected({self.reason!r}, {self.message!r}, file={self.file!r}, row={self.row}, column={self.column!r})"


@dataclass(frozen=True)
class Rejection:
    """One row left out of bronze."""

    reason: str
    message: str
    file: str
    row: int | None
    column: str | None

    def __post_init__(self):
        _check(self.reason)
