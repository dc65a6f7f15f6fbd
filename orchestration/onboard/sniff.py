"""Read a client's sample file the way a careful engineer opens it in a text editor: which
encoding, which delimiter, which lines are report titles above the header, which line is the
header, and the first rows of data as text cells.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

SAMPLE_BYTES = 4 << 20  # enough lines to judge every column, little enough to stay instant
SAMPLE_ROWS = 2000
DELIMITERS = (",", "\t", ";", "|")


class SniffError(ValueError):
    pass


@dataclass
class Sample:
    path: Path
    format: str  # csv | xlsx
    encoding: str | None = None  # csv only
    delimiter: str | None = None
    sheet: str | None = None  # xlsx only, when the workbook has several sheets
    header_row: int = 1  # 1-based line (csv) or row (xlsx)
    title_lines: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)  # data rows as text, len(header) cells each
    native: dict[int, str] = field(default_factory=dict)  # xlsx column index -> "datetime" | "date" | "time"
    notes: list[str] = field(default_factory=list)

    def column(self, index: int) -> list[str]:
        return [row[index] for row in self.rows if row[index] != ""]


def sniff(path: Path) -> Sample:
    path = Path(path)
    if not path.is_file():
        raise SniffError(f"{path}: no such file")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _sniff_xlsx(path)
    return _sniff_text(path)


def detect_encoding(raw: bytes) -> str:
    """utf-8-sig when the file starts with a BOM; utf-8 when it decodes; else CP949 (Korean
    Windows software), which decodes EUC-KR too."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    for encoding in ("utf-8", "cp949"):
        try:
            raw.decode(encoding)
            return encoding
        except UnicodeDecodeError as error:
            if encoding == "utf-8" and error.start >= len(raw) - 3:  # cut inside the last character
                return "utf-8"
    raise SniffError("neither UTF-8 nor CP949: ask the client which encoding the export uses")


def _sniff_text(path: Path) -> Sample:
    with open(path, "rb") as handle:
        raw = handle.read(SAMPLE_BYTES)
    if not raw.strip():
        raise SniffError(f"{path}: the file is empty")
    encoding = detect_encoding(raw)
    text = raw.decode(encoding, errors="ignore")
    lines = text.splitlines()
    if len(raw) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = [line for line in lines[: SAMPLE_ROWS + 50]]
    delimiter = _delimiter(lines)
    parsed = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    width = Counter(len(r) for r in parsed if len(r) > 1).most_common(1)[0][0] if any(len(r) > 1 for r in parsed) else 1
    header_index = next((i for i, r in enumerate(parsed) if len(r) == width and _looks_like_header(r)), None)
    if header_index is None:
        header_index = next(i for i, r in enumerate(parsed) if len(r) == width)
    sample = Sample(path=path, format="csv", encoding=encoding, delimiter=delimiter, header_row=header_index + 1)
    sample.title_lines = [delimiter.join(r).strip() for r in parsed[:header_index]]
    sample.header = [h.strip() for h in parsed[header_index]]
    for row in parsed[header_index + 1:][:SAMPLE_ROWS]:
        if not any(cell.strip() for cell in row):
            continue
        sample.rows.append([c.strip() for c in (row + [""] * width)[:width]])
    return sample


def _delimiter(lines: list[str]) -> str:
    """The candidate that splits the most lines into the same number of (more than one) fields."""
    best, best_score = ",", -1.0
    body = [line for line in lines[:200] if line.strip()]
    for candidate in DELIMITERS:
        widths = [len(r) for r in csv.reader(io.StringIO("\n".join(body)), delimiter=candidate)]
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        if width < 2:
            continue
        score = count / len(widths) + 0.01 * width
        if score > best_score:
            best, best_score = candidate, score
    return best


def _looks_like_header(cells: list[str]) -> bool:
    """Mostly words, not numbers or dates: a header line rather than a data row."""
    filled = [c.strip() for c in cells if c.strip()]
    if len(filled) < max(1, len(cells) // 2):
        return False
    numeric = sum(_is_number(c) or c[:1].isdigit() for c in filled)
    return numeric <= len(filled) // 4


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
        return True
    except ValueError:
        return False


def _sniff_xlsx(path: Path) -> Sample:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged workbook
        raise SniffError(f"{path}: not a readable XLSX workbook ({error})") from None
    try:
        sheets = {ws.title: list(ws.iter_rows(max_row=SAMPLE_ROWS + 20, values_only=True)) for ws in workbook.worksheets}
    finally:
        workbook.close()
    name, rows = max(sheets.items(), key=lambda kv: sum(1 for r in kv[1] if any(v is not None for v in r)))
    sample = Sample(path=path, format="xlsx", sheet=name if len(sheets) > 1 else None)
    if len(sheets) > 1:
        sample.notes.append(f"sheets {', '.join(sheets)}: drafted from {name!r}, the one with the most rows")
    rows = [list(r) for r in rows]
    width = Counter(sum(v is not None for v in r) for r in rows if any(v is not None for v in r)).most_common(1)[0][0]
    header_index = next((i for i, r in enumerate(rows) if sum(v is not None for v in r) >= width
                         and _looks_like_header([_text(v) for v in r if v is not None])), 0)
    header_cells = rows[header_index]
    used = [i for i, v in enumerate(header_cells) if v is not None and str(v).strip()]
    sample.header_row = header_index + 1
    sample.title_lines = [" ".join(_text(v) for v in r if v is not None) for r in rows[:header_index]]
    sample.header = [str(header_cells[i]).strip() for i in used]
    for row in rows[header_index + 1:]:
        cells = [(row[i] if i < len(row) else None) for i in used]
        if all(v is None or _text(v) == "" for v in cells):
            continue
        for j, value in enumerate(cells):
            kind = ("datetime" if isinstance(value, datetime) else "date" if isinstance(value, date)
                    else "time" if isinstance(value, time) else None)
            if kind:
                sample.native.setdefault(j, kind)
        sample.rows.append([_text(v) for v in cells])
    return sample


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
