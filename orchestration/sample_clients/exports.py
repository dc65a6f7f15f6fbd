"""Writing an export file exactly as a mapping describes it: CSV or XLSX, encoding, delimiter,
title lines above the header, timestamp format (with 오전/오후 when the mapping's locale is ko).

Byte-for-byte deterministic: no clock, no random state; XLSX files get fixed document
properties and fixed zip entry times.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

HANGUL = re.compile(r"[\uac00-\ud7a3]")
FIXED_XLSX_TIME = (2026, 1, 1, 0, 0, 0)
FIXED_XLSX_STAMP = "2026-01-01T00:00:00Z"


def is_korean(*texts: str) -> bool:
    return any(HANGUL.search(str(t)) for t in texts)


def format_times(times: np.ndarray, fmt: str, locale: str | None = None) -> pa.Array:
    """Local wall-clock datetime64[s] values as text in `fmt`; %p is AM/PM, or 오전/오후 for locale ko.

    Vectorised: each directive becomes a small dictionary (per calendar day for date parts, per
    hour/minute/second for clock parts) and Arrow joins the pieces, so millions of rows are cheap."""
    seconds = np.asarray(times, dtype="datetime64[s]").astype(np.int64)
    if len(seconds) == 0:
        return pa.array([], type=pa.string())
    days = seconds // 86400
    first_day = int(days.min())
    day_index = (days - first_day).astype(np.int32)
    calendar = [datetime(1970, 1, 1) + timedelta(days=first_day + i) for i in range(int(day_index.max()) + 1)]
    of_day = seconds - days * 86400
    hour = of_day // 3600
    am_pm = ["오전", "오후"] if (locale or "").lower().startswith("ko") else ["AM", "PM"]
    clock = {
        "H": (hour, [f"{i:02d}" for i in range(24)]),
        "I": ((hour + 11) % 12, [f"{i:02d}" for i in range(1, 13)]),
        "M": ((of_day // 60) % 60, [f"{i:02d}" for i in range(60)]),
        "S": (of_day % 60, [f"{i:02d}" for i in range(60)]),
        "p": ((hour >= 12).astype(np.int64), am_pm),
    }
    pieces: list[pa.Array | str] = []
    for token in re.split(r"(%.)", fmt):
        if not token:
            continue
        if token == "%%":
            pieces.append("%")
        elif token.startswith("%") and token[1] in clock:
            index, labels = clock[token[1]]
            pieces.append(_decode(index, labels))
        elif token.startswith("%"):
            pieces.append(_decode(day_index, [d.strftime(token) for d in calendar]))
        else:
            pieces.append(token)
    arrays = [p if isinstance(p, pa.Array) else pa.array(np.full(len(seconds), p, dtype=object), pa.string())
              for p in pieces]
    if len(arrays) == 1:
        return arrays[0]
    return pc.binary_join_element_wise(*arrays, "")


def _decode(indices: np.ndarray, labels: list[str]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(indices, dtype=np.int32)),
                                          pa.array(labels, type=pa.string())).dictionary_decode()


def split_format(fmt: str) -> tuple[str, str]:
    """A timestamp format split into the date column's and the time column's formats (at the first
    space), so that joining the two columns with a space gives the full timestamp back."""
    if " " not in fmt:
        raise ValueError(f"timestamp format {fmt!r} has no space to split a date and a time column at")
    date_format, time_format = fmt.split(" ", 1)
    return date_format, time_format


def title_lines(spec: dict, korean: bool, day_label: str) -> list[str]:
    """Report lines a client's software prints above the header (header_row - 1 of them, never empty)."""
    count = int(spec.get("header_row", 1)) - 1
    if korean:
        pool = ["설비 데이터 출력", f"조회기간: {day_label} 00:00:00 ~ {day_label} 23:59:59", "출력자: 생산관리팀",
                "비고: 자동 수집"]
    else:
        pool = ["EQUIPMENT DATA EXPORT", f"PERIOD: {day_label} 00:00:00 - {day_label} 23:59:59", "EXPORTED BY: MES",
                "NOTE: AUTO COLLECTED"]
    return [pool[i] if i < len(pool) else f"{pool[-1]} {i}" for i in range(count)]


def write_export(path: Path, spec: dict, columns: dict[str, pa.Array | np.ndarray | list], *,
                 titles: list[str] = ()) -> int:
    """Write one export file per the dataset spec; returns the number of data rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({name: _as_arrow(values) for name, values in columns.items()})
    if spec.get("format", "csv") == "xlsx":
        path.write_bytes(_xlsx_bytes(table, spec, titles))
    else:
        path.write_bytes(_csv_bytes(table, spec, titles))
    return table.num_rows


def _as_arrow(values) -> pa.Array:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    array = np.asarray(values)
    if array.dtype == object:
        return pa.array(array, type=pa.string(), from_pandas=True)
    return pa.array(array)


def _csv_bytes(table: pa.Table, spec: dict, titles: list[str]) -> bytes:
    delimiter = spec.get("delimiter", ",")
    encoding = spec.get("encoding", "utf-8")
    eol = "\r\n" if encoding == "cp949" else "\n"  # Korean Windows software writes CRLF
    header = delimiter.join(_quote(name, delimiter) for name in table.column_names)
    head = "".join(f"{line}{eol}" for line in [*titles, header])
    body = io.BytesIO()
    if table.num_rows:
        pacsv.write_csv(table, body, pacsv.WriteOptions(include_header=False, delimiter=delimiter,
                                                         quoting_style="none", eol=eol.encode()))
    raw = head.encode("utf-8") + body.getvalue()
    if encoding == "cp949":
        return raw.decode("utf-8").encode("cp949")
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + raw
    return raw


def _quote(text: str, delimiter: str) -> str:
    if delimiter in text or '"' in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _xlsx_bytes(table: pa.Table, spec: dict, titles: list[str]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=spec.get("sheet") or "Sheet1")
    for line in titles:
        sheet.append([line])
    sheet.append(table.column_names)
    for row in zip(*(column.to_pylist() for column in table.columns)):
        sheet.append(list(row))
    workbook.properties.creator = "MES"
    workbook.properties.created = datetime(2026, 1, 1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _normalised_zip(buffer.getvalue())


def _normalised_zip(data: bytes) -> bytes:
    """Re-pack an XLSX with fixed entry times and a fixed modified stamp (openpyxl writes 'now')."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:modified|created)[^>]*>)[^<]*(</dcterms:)",
                                 rb"\g<1>" + FIXED_XLSX_STAMP.encode() + rb"\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_XLSX_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, content)
    return out.getvalue()
