"""Read one client export (CSV or XLSX) into an Arrow table of its source columns.

CSV goes through Arrow's multi-threaded reader with every column read as text (casting is done
afterwards, column at a time, so a bad cell rejects one row instead of the whole file). The bytes
are checked against the mapped encoding first: a CP949 file declared UTF-8 is rejected as
`wrong_encoding`, never decoded into mojibake. Each data row keeps the 1-based line number (CSV)
or sheet row number (XLSX) it came from.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from orchestration.ingest.mapping import DatasetSpec, canonical_header
from orchestration.ingest.rejections import FileRejected, Rejection
from orchestration.ingest.limits import InputLimits, input_limits
from orchestration.ingest.timestamps import KOREAN_MERIDIEM

SNIFF_BYTES = 1 << 16
UTF8_BOM = codecs.BOM_UTF8
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls / encrypted .xlsx
CP949_FAMILY = {"cp949", "euc_kr", "johab", "iso2022_kr"}
# Control characters no text cell may hold (tab, newline and carriage return may: quoted cells).
CONTROL_BYTES = bytes(range(0x00, 0x09)) + b"\x0b\x0c" + bytes(range(0x0e, 0x20)) + b"\x7f"
NOT_CONTROL = bytes(b for b in range(256) if b not in CONTROL_BYTES)
CONTROL_PATTERN = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"


@dataclass
class RawFile:
    """A file's data rows as read, before any standardisation."""

    table: pa.Table  # one column per used source column: text (CSV, possibly dictionary-encoded) or
                     # native cell types (XLSX)
    header: list[str]  # every column name of the header, stripped, in file order
    source_rows: pa.Array  # int64, the 1-based line/row number of each data row
    encoding: str
    rejections: list[Rejection] = field(default_factory=list)  # rows that could not even be split
    cells_checked: bool = True  # False: read for several entries; each checks the cells it uses (`for_columns`)
    long_lines: bool = False  # some line is beyond the cell limit, so cells' lengths need checking
    rel: str = ""  # the landing file, for the cell checks' messages

    @property
    def rows_read(self) -> int:
        return len(self.source_rows) + len(self.rejections)

    def for_columns(self, wanted: set[str]) -> "RawFile":
        """This read as if only `wanted` had been read: those columns, and the rows whose used cells
        hold control characters or are too long left out (a bad cell in a column another entry reads
        does not reject this entry's row)."""
        keep = [i for i, name in enumerate(self.table.column_names) if name in wanted]
        table = self.table.select(keep)
        if self.cells_checked:
            return RawFile(table, self.header, self.source_rows, self.encoding, list(self.rejections))
        table, source_rows, cell_rejections = reject_bad_cells(table, self.source_rows, self.rel, input_limits(),
                                                               check_length=self.long_lines)
        return RawFile(table, self.header, source_rows, self.encoding, self.rejections + cell_rejections)


def source_bytes(source: Path | bytes) -> bytes:
    """A reader's input: the bytes already read by the ingest (hashed and parsed from the same
    buffer), or a path (the validate command, tests)."""
    return source if isinstance(source, (bytes, bytearray, memoryview)) else Path(source).read_bytes()


def read_file(path: Path | bytes, spec: DatasetSpec, *, relative_path: str, wanted: set[str] | None = None,
              types: dict[str, pa.DataType] | None = None, timestamp_format: str | None = None,
              timestamp_columns: set[str] | None = None) -> RawFile:
    """Read the data rows of `path` per the dataset spec; `wanted` limits the columns
    materialised (all header names are still reported)."""
    if spec.format == "xlsx":
        return read_xlsx(path, spec, relative_path=relative_path, wanted=wanted)
    return read_csv(path, spec, relative_path=relative_path, wanted=wanted, types=types,
                    timestamp_format=timestamp_format, timestamp_columns=timestamp_columns)


# ---------------------------------------------------------------- CSV


def read_csv(path: Path, spec: DatasetSpec, *, relative_path: str, wanted: set[str] | None = None,
             types: dict[str, pa.DataType] | None = None, timestamp_format: str | None = None,
             timestamp_columns: set[str] | None = None, check_cells: bool = True) -> RawFile:
    """`types`: column name -> the type to try first (the file is re-read as text when any cell
    does not convert); `timestamp_format`: the strptime format (or pyarrow.csv.ISO8601) for
    timestamp-typed columns; `timestamp_columns`: text timestamp columns, which a CP949 file hands
    over dictionary-encoded; `check_cells` False leaves the cell checks to `RawFile.for_columns`."""
    rel = relative_path
    raw = source_bytes(path)
    _reject_non_text(raw, rel)
    data, encoding, codec = resolve_encoding(raw, spec.encoding, rel)
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]

    header_start = _offset_of_line(data, spec.header_row)
    if header_start is None:
        raise FileRejected("missing_header", f"{rel}: the mapping puts the header on line {spec.header_row}, "
                           f"but the file has fewer lines", rel, row=spec.header_row)
    header_end = data.find(b"\n", header_start)
    header_end = len(data) if header_end == -1 else header_end + 1
    try:
        header_line = data[header_start:header_end].decode(codec or "utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise FileRejected("wrong_encoding", f"{rel}: the header (line {spec.header_row}) is not valid {encoding}",
                           rel, row=spec.header_row) from None
    if not header_line.strip():
        raise FileRejected("missing_header", f"{rel}: line {spec.header_row} (the header row per the mapping) "
                           f"is blank", rel, row=spec.header_row)
    raw_names = next(csv.reader([header_line], delimiter=spec.delimiter))
    header = canonical_header([name.strip() for name in raw_names], wanted)
    limits = input_limits()
    if len(header) > limits.max_columns:
        raise FileRejected("too_many_columns", f"{rel}: the header has {len(header)} columns, more than the "
                           f"limit of {limits.max_columns} (INGEST_MAX_COLUMNS)", rel, row=spec.header_row)
    body = data[header_end:]
    # Lines beyond the line limit are left out as rows of their own (blanked, so every other line
    # keeps its number); any line beyond the cell limit means some cell may be, checked per cell below.
    long_lines = _long_lines(body, min(limits.max_line_bytes, limits.max_cell_bytes))
    body, line_rejections = _blank_long_lines(body, [s for s in long_lines if s[1] - s[0] > limits.max_line_bytes],
                                              spec.header_row, rel, limits)
    if not body[:SNIFF_BYTES].strip() and not body.strip():
        raise FileRejected("header_only", f"{rel}: header on line {spec.header_row} but no data rows", rel)

    # Read by position with our own (stripped) names, so stray spaces in the header do not matter.
    names = [f"c{i}" for i in range(len(header))]
    keep = [names[i] for i, h in enumerate(header) if wanted is None or h in wanted]
    newlines_in_values = _has_quoted_newline(body)

    def parse(column_types: dict[str, pa.DataType], timestamp_parsers: list) -> tuple[pa.Table, list]:
        invalid: list[pacsv.InvalidRow] = []

        def on_invalid(row: pacsv.InvalidRow) -> str:
            invalid.append(row)
            return "skip"

        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(body)),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=spec.delimiter, invalid_row_handler=on_invalid,
                                             newlines_in_values=newlines_in_values),
            convert_options=pacsv.ConvertOptions(column_types=column_types, include_columns=keep,
                                                 strings_can_be_null=True, null_values=[""],
                                                 quoted_strings_can_be_null=True,
                                                 timestamp_parsers=timestamp_parsers),
        )
        return table, invalid

    # CP949 bytes are read as binary and decoded column by column below (every CP949 byte of a
    # Korean character is >= 0x41, so delimiters, quotes and newlines are found correctly).
    text_type = pa.binary() if codec else pa.string()
    as_text = {n: text_type for n in keep}
    # Optimistically read the columns the caller will cast (numbers, timestamps) typed: a clean file
    # (the usual case) is then read at Arrow's full speed; any bad cell sends it down the text path,
    # where each bad cell rejects one row.
    typed = {n: (types or {}).get(header[int(n[1:])], text_type) for n in keep}
    table = invalid = None
    if any(t != text_type for t in typed.values()):
        try:
            table, invalid = parse(typed, [timestamp_format] if timestamp_format else [])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            table = None
    if table is None:
        try:
            try:
                table, invalid = parse(as_text, [])
            except pa.ArrowInvalid as error:
                # Arrow hands a broken row to the handler as UTF-8 text, so in a CP949 file one ragged
                # row with Korean in it failed the whole file (found by tests/ingest/test_fuzz.py):
                # find such rows with Python's csv module, reject them, blank their lines, read again.
                if not (codec and "columns, got" in str(error)):
                    raise
                _, ragged = _number_rows(body, spec, len(header), rel, codec)
                body = _blank_lines(body, [r.row - spec.header_row for r in ragged])
                line_rejections += ragged
                table, invalid = parse(as_text, [])
        except pa.ArrowInvalid as error:
            text = str(error)
            if "UTF8" in text or "UTF-8" in text:
                raise FileRejected("wrong_encoding", f"{rel}: the file is not valid {encoding}: {text}", rel) from None
            raise FileRejected("malformed_csv", f"{rel}: cannot be parsed as CSV: {text}", rel) from None
    table = table.rename_columns([header[int(n[1:])] for n in table.column_names])

    rejections: list[Rejection] = []
    total_lines = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    if not invalid and table.num_rows == total_lines:
        first = spec.header_row + 1
        source_rows = int64_array(np.arange(first, first + table.num_rows, dtype=np.int64))
    else:  # blank lines, multi-line cells or broken rows: number the rows by re-reading them
        source_rows, rejections = _number_rows(body, spec, len(header), rel, codec or "utf-8")
        if len(source_rows) != table.num_rows:
            raise FileRejected("malformed_csv", f"{rel}: the row structure is ambiguous ({table.num_rows} rows by "
                               f"Arrow, {len(source_rows)} by Python's csv module)", rel)
        source_rows = pa.array(source_rows, pa.int64())
    if codec:
        table = pa.table({name: _decode_column(table[name], codec, name in (timestamp_columns or ()), source_rows,
                                               rel, name, encoding)
                          if pa.types.is_binary(table[name].type) else table[name] for name in table.column_names})
    if not check_cells:
        return RawFile(table, header, source_rows, encoding, line_rejections + rejections, cells_checked=False,
                       long_lines=bool(long_lines), rel=rel)
    table, source_rows, cell_rejections = reject_bad_cells(table, source_rows, rel, limits,
                                                           check_length=bool(long_lines))
    return RawFile(table, header, source_rows, encoding, line_rejections + rejections + cell_rejections)


def _long_lines(body: bytes, limit: int) -> list[tuple[int, int]]:
    """(start, end) of every line longer than `limit` bytes. Such a line covers a whole aligned
    window of limit/2 bytes without a newline, so only one search per window is needed (memchr:
    a 200 MB export costs a few hundred short searches, not a scan in Python)."""
    window = max(1, limit // 2)
    spans: list[tuple[int, int]] = []
    size, low = len(body), 0
    while low < size:
        if body.find(b"\n", low, min(low + window, size)) != -1:
            low += window
            continue
        start = body.rfind(b"\n", 0, low) + 1
        end = body.find(b"\n", low)
        end = size if end == -1 else end
        if end - start > limit:
            spans.append((start, end))
        low = (end // window + 1) * window
    return spans


def _blank_lines(body: bytes, lines: list[int]) -> bytes:
    """`body` with the given 1-based lines emptied (their newline kept, so later lines keep their numbers)."""
    if not lines:
        return body
    starts = np.concatenate([[0], np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == ord("\n")) + 1])
    spans = []
    for line in sorted(set(lines)):
        start = int(starts[line - 1])
        end = body.find(b"\n", start)
        spans.append((start, len(body) if end == -1 else end))
    pieces, previous = [], 0
    for start, end in spans:
        pieces.append(body[previous:start])
        previous = end
    pieces.append(body[previous:])
    return b"".join(pieces)


def _blank_long_lines(body: bytes, spans: list[tuple[int, int]], header_row: int, rel: str,
                      limits: InputLimits) -> tuple[bytes, list[Rejection]]:
    if not spans:
        return body, []
    pieces, rejections, previous = [], [], 0
    for start, end in spans:
        line = header_row + body.count(b"\n", 0, start) + 1
        rejections.append(Rejection("line_too_long", f"line {line} is {end - start:,} bytes long, more than the limit "
                                    f"of {limits.max_line_bytes:,} (INGEST_MAX_LINE_BYTES)", rel, line, None))
        pieces.append(body[previous:start])
        previous = end
    pieces.append(body[previous:])
    return b"".join(pieces), rejections


def _text_chunks(column: pa.ChunkedArray):
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary
        if pa.types.is_string(chunk.type) or pa.types.is_binary(chunk.type) or pa.types.is_large_string(chunk.type) \
                or pa.types.is_large_binary(chunk.type):
            yield chunk


def _may_hold_control_bytes(column: pa.ChunkedArray) -> bool:
    """Cheap test on the column's value bytes (one C pass); the exact cells are looked up only when true."""
    for chunk in _text_chunks(column):
        data = chunk.buffers()[2]
        if data is not None and data.size and data.to_pybytes().translate(None, NOT_CONTROL):
            return True
    return False


def reject_bad_cells(table: pa.Table, source_rows: pa.Array, rel: str, limits: InputLimits,
                     check_length: bool = True) -> tuple[pa.Table, pa.Array, list[Rejection]]:
    """Leave out every row with a text cell holding a control character (NUL and friends: binary
    garbage would land as phantom equipment) or longer than the cell limit; one rejection per row."""
    problems: dict[int, Rejection] = {}
    for position, name in enumerate(table.column_names):  # by position: a header may repeat a name
        column = table.column(position)
        if not any(True for _ in _text_chunks(column)):
            continue
        control = _may_hold_control_bytes(column)
        if not control and not check_length:
            continue
        values = column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column
        if check_length:
            too_long = pc.fill_null(pc.greater(pc.binary_length(values), limits.max_cell_bytes), False)
            for index in np.flatnonzero(too_long.to_numpy(zero_copy_only=False)):
                row = source_rows[int(index)].as_py()
                problems.setdefault(int(index), Rejection(
                    "cell_too_long", f"row {row}, column {name!r}: the cell is longer than the limit of "
                    f"{limits.max_cell_bytes:,} bytes (INGEST_MAX_CELL_BYTES)", rel, row, name))
        if control:
            found = pc.fill_null(pc.match_substring_regex(values, CONTROL_PATTERN), False)
            for index in np.flatnonzero(found.to_numpy(zero_copy_only=False)):
                row = source_rows[int(index)].as_py()
                cell = values[int(index)].as_py()
                bad = next(ch for ch in (cell if isinstance(cell, str) else cell.decode("latin-1"))
                           if ord(ch) < 0x20 and ch not in "\t\n\r" or ord(ch) == 0x7f)
                problems.setdefault(int(index), Rejection(
                    "control_character", f"row {row}, column {name!r}: the cell holds the control character "
                    f"{bad!r} (U+{ord(bad):04X})", rel, row, name))
    if not problems:
        return table, source_rows, []
    keep = np.ones(table.num_rows, dtype=bool)
    keep[list(problems)] = False
    mask = bool_array(keep)
    return table.filter(mask), source_rows.filter(mask), [problems[i] for i in sorted(problems)]


def _decode_column(column: pa.ChunkedArray, codec: str, timestamp: bool, source_rows: pa.Array, rel: str,
                   name: str, encoding: str) -> pa.Array:
    """A binary column of CP949 cells as text. ASCII-only columns (numbers, codes, ISO times) are
    reinterpreted without copying; others are decoded once per distinct value.

    Timestamp columns come back dictionary-encoded (a long export repeats each time once per tag,
    and the parser then reads every distinct time once); when their only Korean is 오전/오후, those
    words are re-encoded as UTF-8 in place, so the rest needs no decoding at all."""
    column = column.combine_chunks()
    as_string = column.view(pa.string())
    if pc.all(pc.fill_null(pc.string_is_ascii(as_string), True)).as_py():
        return as_string
    encoded = column.dictionary_encode()
    decoded = _meridiem_only(encoded.dictionary, codec) if timestamp else None
    if decoded is None:
        decoded = []
        for index, value in enumerate(encoded.dictionary.to_pylist()):
            try:
                decoded.append(value.decode(codec))
            except UnicodeDecodeError:
                first = pc.index(encoded.indices, pa.scalar(index, encoded.indices.type)).as_py()
                row = source_rows[first].as_py()
                raise FileRejected("wrong_encoding", f"{rel}: line {row}, column {name!r} is not valid {encoding}",
                                   rel, row=row, column=name) from None
        decoded = pa.array(decoded, pa.string())
    if timestamp:
        return pa.DictionaryArray.from_arrays(encoded.indices, decoded)
    return pc.take(decoded, encoded.indices)


def _meridiem_only(values: pa.Array, codec: str) -> pa.Array | None:
    """CP949 text whose only non-ASCII words are 오전/오후, as UTF-8; None for any other text."""
    words = [(word.encode(codec), word.encode("utf-8")) for word in KOREAN_MERIDIEM]
    rest = values
    for word, _ in words:
        rest = pc.replace_substring(rest, word, b"")
    if not pc.all(pc.string_is_ascii(rest.view(pa.string()))).as_py():
        return None
    for word, utf8 in words:
        values = pc.replace_substring(values, word, utf8)
    return values.view(pa.string())


def int64_array(values: np.ndarray) -> pa.Array:
    """numpy int64 -> Arrow without going through `pa.array` (which imports pandas on first use)."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def bool_array(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=bool)
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(np.packbits(values, bitorder="little"))])


def _offset_of_line(data: bytes, line: int) -> int | None:
    offset = 0
    for _ in range(line - 1):
        offset = data.find(b"\n", offset)
        if offset == -1:
            return None
        offset += 1
    return offset if offset < len(data) else None


def _has_quoted_newline(body: bytes) -> bool:
    """Whether a quoted cell spans lines: some line has an odd number of quote characters."""
    if b'"' not in body:
        return False
    data = np.frombuffer(body, dtype=np.uint8)
    quotes = np.flatnonzero(data == ord('"'))
    line_of_quote = np.searchsorted(np.flatnonzero(data == ord("\n")), quotes)
    return bool((np.bincount(line_of_quote) % 2).any())


def _number_rows(body: bytes, spec: DatasetSpec, width: int, rel: str,
                 codec: str = "utf-8") -> tuple[list[int], list[Rejection]]:
    """Line numbers of the rows Arrow kept (skipping blank lines), and a rejection for each row
    with the wrong number of fields."""
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as error:
        line = spec.header_row + _first_bad_line(body, error)
        raise FileRejected("wrong_encoding", f"{rel}: line {line} is not valid {codec}", rel, row=line) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=spec.delimiter)
    rows, rejections, consumed = [], [], 0
    for record in reader:
        line = spec.header_row + consumed + 1
        consumed = reader.line_num
        if not record:
            continue
        if len(record) != width:
            reason = "truncated_row" if len(record) < width else "ragged_row"
            rejections.append(Rejection(reason, f"line {line} has {len(record)} field(s), the header has {width}",
                                        rel, line, None))
            continue
        rows.append(line)
    return rows, rejections


def _reject_non_text(raw: bytes, rel: str) -> None:
    head = raw[:SNIFF_BYTES]
    if not head.replace(UTF8_BOM, b"").strip() and not raw.replace(UTF8_BOM, b"").strip():
        raise FileRejected("empty_file", f"{rel}: the file is empty", rel)
    if head.startswith(ZIP_MAGIC):
        raise FileRejected("binary_file", f"{rel}: this is a ZIP/XLSX file, but the mapping reads it as CSV "
                           f"(set format: xlsx, or fix the files glob)", rel)
    if head.startswith(OLE_MAGIC):
        raise FileRejected("binary_file", f"{rel}: this is a legacy Excel (.xls) or encrypted file, not CSV", rel)
    if head.startswith(UTF16_BOMS):
        raise FileRejected("wrong_encoding", f"{rel}: the file is UTF-16 (Excel 'Unicode text'); export it as "
                           f"CSV UTF-8 or CP949", rel)
    if b"\x00" in head:
        raise FileRejected("binary_file", f"{rel}: the file contains NUL bytes; it is not a text export", rel)


def _first_bad_line(raw: bytes, error: UnicodeDecodeError) -> int:
    return raw.count(b"\n", 0, error.start) + 1


def guess_encoding(raw: bytes) -> str | None:
    """charset-normalizer's best guess for bytes that are not UTF-8 (None when it has none)."""
    from charset_normalizer import from_bytes

    best = from_bytes(raw[: 1 << 20]).best()
    return best.encoding if best is not None else None


def resolve_encoding(raw: bytes, encoding: str, rel: str) -> tuple[bytes, str, str | None]:
    """(bytes, the encoding they are in, codec): codec is None when the bytes are UTF-8 and
    "cp949" when they are CP949 to be decoded column by column by the reader."""
    if encoding == "cp949" or encoding == "auto" and not _is_utf8(raw):
        if encoding == "cp949" and not raw.isascii() and _is_utf8(raw):
            raise FileRejected("wrong_encoding", f"{rel}: the file is UTF-8, but the mapping declares cp949 "
                               f"(set encoding: utf-8 or auto)", rel)
        if encoding == "cp949" or _mostly(raw, "cp949"):  # Korean exports: CP949 first
            return raw, "cp949", "cp949"
        guess = (guess_encoding(raw) or "").lower()
        if guess in CP949_FAMILY or not guess:
            return raw, "cp949", "cp949"
    data, label = decode_to_utf8(raw, encoding, rel)
    return data, label, None


def decode_to_utf8(raw: bytes, encoding: str, rel: str) -> tuple[bytes, str]:
    """The file's bytes as UTF-8 and the encoding they were read in; FileRejected
    `wrong_encoding` when they are not valid in the mapped encoding."""
    if encoding in ("utf-8", "utf-8-sig"):
        try:
            codecs.getincrementaldecoder("utf-8")().decode(raw[:SNIFF_BYTES], final=False)
        except UnicodeDecodeError as error:
            guess = guess_encoding(raw)
            hint = f"; it looks like {guess} (set encoding: cp949 or auto)" if guess else ""
            raise FileRejected("wrong_encoding", f"{rel}: line {_first_bad_line(raw, error)} is not valid UTF-8 "
                               f"as the mapping declares{hint}", rel, row=_first_bad_line(raw, error)) from None
        return raw, "utf-8-sig" if raw.startswith(UTF8_BOM) else "utf-8"  # the rest is checked by Arrow
    if encoding == "cp949":
        if not raw.isascii() and _is_utf8(raw):
            raise FileRejected("wrong_encoding", f"{rel}: the file is UTF-8, but the mapping declares cp949 "
                               f"(set encoding: utf-8 or auto)", rel)
        return _transcode(raw, "cp949", rel), "cp949"
    # auto: valid UTF-8 is UTF-8 (other encodings of Korean text practically never are);
    # otherwise ask charset-normalizer, and for Korean exports prefer CP949 (a superset of EUC-KR).
    if _is_utf8(raw):
        return raw, "utf-8-sig" if raw.startswith(UTF8_BOM) else "utf-8"
    guess = (guess_encoding(raw) or "").lower()
    candidates = (["cp949"] if guess in CP949_FAMILY or not guess else [guess, "cp949"])
    for candidate in candidates:
        try:
            return raw.decode(candidate).encode("utf-8"), candidate
        except (UnicodeDecodeError, LookupError):
            continue
    raise FileRejected("wrong_encoding", f"{rel}: encoding: auto could not read the file as UTF-8 or CP949"
                       f"{f' (best guess {guess})' if guess else ''}", rel)


def _mostly(raw: bytes, codec: str) -> bool:
    """Whether the first 64 KiB read as `codec` with at most a few undecodable spots (the bad
    cells are then rejected where they are, instead of the whole file being misread)."""
    text = raw[:SNIFF_BYTES].decode(codec, errors="replace")
    wide = sum(1 for ch in text if ord(ch) > 127)
    return text.count("\ufffd") <= max(2, wide // 100)


def _is_utf8(raw: bytes) -> bool:
    """Whole-file UTF-8 check in 1 MiB steps (a failed `bytes.decode` would copy the file into
    the exception)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(raw)
    try:
        for start in range(0, len(raw), 1 << 20):
            decoder.decode(view[start:start + (1 << 20)], final=start + (1 << 20) >= len(raw))
    except UnicodeDecodeError:
        return False
    return True


def _transcode(raw: bytes, encoding: str, rel: str) -> bytes:
    try:
        return raw.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as error:
        line = _first_bad_line(raw, error)
        raise FileRejected("wrong_encoding", f"{rel}: line {line} is not valid {encoding} as the mapping declares",
                           rel, row=line) from None


# ---------------------------------------------------------------- XLSX


@dataclass(frozen=True)
class LoadedSheet:
    """One sheet of a workbook as cells (rows from A1), loaded once for every entry that reads it."""

    name: str
    rows: list  # rows[i] is sheet row i + 1, from column A
    extent: "SheetExtent | None"


def load_sheet(source: Path | bytes, spec: DatasetSpec, *, relative_path: str) -> LoadedSheet:
    """The sheet `spec` reads, after every bound on the workbook and the sheet was checked."""
    from python_calamine import CalamineWorkbook

    rel = relative_path
    raw = source_bytes(source)
    if not raw:
        raise FileRejected("empty_file", f"{rel}: the file is empty", rel)
    limits = input_limits()
    _check_inflated_size(raw, rel, limits)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(raw))
        names = workbook.sheet_names
        if spec.sheet is not None and spec.sheet not in names:
            raise FileRejected("missing_sheet", f"{rel}: no sheet {spec.sheet!r} (the workbook has "
                               f"{', '.join(map(repr, names))})", rel)
        if not names:
            raise FileRejected("unreadable_xlsx", f"{rel}: the workbook has no sheets", rel)
        extent = _check_sheet_extent(raw, spec.sheet or names[0], rel, limits)  # before calamine allocates the range
        sheet = workbook.get_sheet_by_name(spec.sheet or names[0])
        if sheet.width > limits.max_columns:
            raise FileRejected("too_many_columns", f"{rel}: the sheet has {sheet.width} columns, more than the limit "
                               f"of {limits.max_columns} (INGEST_MAX_COLUMNS)", rel)
        if sheet.height * sheet.width > limits.max_sheet_cells:
            raise FileRejected("sheet_too_large", f"{rel}: the sheet's used range is {sheet.height:,} rows x "
                               f"{sheet.width:,} columns, more than {limits.max_sheet_cells:,} cells "
                               f"(INGEST_MAX_SHEET_CELLS)", rel)
        rows = sheet.to_python(skip_empty_area=False)  # from A1: rows[i] is sheet row i + 1
    except FileRejected:
        raise
    except Exception as error:  # calamine raises its own errors for zip/xml problems
        raise FileRejected("unreadable_xlsx", f"{rel}: cannot be read as XLSX: {error}", rel) from None
    return LoadedSheet(spec.sheet or names[0], rows, extent)


def read_xlsx(path: Path | bytes, spec: DatasetSpec, *, relative_path: str, wanted: set[str] | None = None,
              loaded: LoadedSheet | None = None) -> RawFile:
    """`loaded`: the sheet already loaded (several entries over one workbook load it once)."""
    rel = relative_path
    raw = source_bytes(path)
    limits = input_limits()
    if loaded is None:
        loaded = load_sheet(raw, spec, relative_path=rel)
    rows, extent, sheet_name = loaded.rows, loaded.extent, loaded.name
    if not any(_filled(v) for row in rows for v in row):
        raise FileRejected("empty_file", f"{rel}: the sheet is empty", rel)
    if len(rows) < spec.header_row or not any(_filled(v) for v in rows[spec.header_row - 1]):
        raise FileRejected("missing_header", f"{rel}: row {spec.header_row} (the header row per the mapping) "
                           f"is empty", rel, row=spec.header_row)
    header_cells = rows[spec.header_row - 1]
    width = max(i + 1 for i, v in enumerate(header_cells) if _filled(v))
    header = canonical_header([(_cell_text(v) or "").strip() for v in header_cells[:width]], wanted)
    data = [(spec.header_row + 1 + i, row) for i, row in enumerate(rows[spec.header_row:])
            if any(_filled(v) for v in row)]
    if not data:
        raise FileRejected("header_only", f"{rel}: header on row {spec.header_row} but no data rows", rel)
    columns, kept = [], []
    for index, name in enumerate(header):
        if wanted is not None and name not in wanted:
            continue
        columns.append(_column([row[index] if index < len(row) else None for _, row in data]))
        kept.append(name)
    table = pa.Table.from_arrays(columns, names=kept)
    source_rows = pa.array([n for n, _ in data], pa.int64())
    rejections = []
    formula_rows = {} if extent is not None and not extent.has_formulas else _formula_cells_without_value(
        raw, sheet_name, {index for index, name in enumerate(header) if wanted is None or name in wanted})
    if formula_rows:
        keep = np.array([number not in formula_rows for number, _ in data], dtype=bool)
        rejections = [Rejection("formula_without_value", f"row {number}, column {header[column]!r}: a formula "
                                f"({formula}) with no cached value; open the workbook in Excel, let it calculate, "
                                f"save and send it again", rel, number, header[column])
                      for number, (column, formula) in sorted(formula_rows.items())
                      if number >= spec.header_row + 1]
        table, source_rows = table.filter(bool_array(keep)), source_rows.filter(bool_array(keep))
    table, source_rows, cell_rejections = reject_bad_cells(table, source_rows, rel, limits)
    return RawFile(table, header, source_rows, "xlsx", rejections + cell_rejections)


def _check_inflated_size(raw: bytes, rel: str, limits: InputLimits) -> None:
    """Refuse a workbook whose parts inflate beyond the limit, before anything is inflated."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip: calamine says what it is
    if inflated > limits.max_xlsx_uncompressed_bytes:
        raise FileRejected("xlsx_too_large", f"{rel}: the workbook inflates to {inflated:,} bytes, more than the "
                           f"limit of {limits.max_xlsx_uncompressed_bytes:,} (INGEST_MAX_XLSX_UNCOMPRESSED_BYTES)", rel)


@dataclass(frozen=True)
class SheetExtent:
    """What a sheet's XML says about its size, from A1 (the reader materialises rows from A1)."""

    declared_rows: int  # the <dimension ref="A1:K2000"/> the writer declared (0, 0: none)
    declared_columns: int
    rows: int  # the last row and column any row or cell element actually names (or implies)
    columns: int
    has_formulas: bool


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\sref="\$?([A-Za-z]{1,3})?\$?(\d+)?'
                        rb'(?::\$?([A-Za-z]{1,3})\$?(\d+))?"')
_CELL_COLUMN = re.compile(rb'<(?:\w+:)?c\b[^>]*?\sr="([A-Z]{1,3})\d')
_CELL_ROW = re.compile(rb'<(?:\w+:)?c\b[^>]*?\sr="[A-Z]{1,3}(\d+)"')
_ROW_NUMBER = re.compile(rb'<(?:\w+:)?row\b[^>]*?\sr="(\d+)"')
_ROW_TAG = re.compile(rb'<(?:\w+:)?row[\s>/]')
_CELL_TAG = re.compile(rb'<(?:\w+:)?c[\s>/]')
XML_CHUNK = 1 << 20


def column_number(letters: bytes | str) -> int:
    number = 0
    for letter in letters.upper() if isinstance(letters, str) else letters.decode("ascii").upper():
        number = number * 26 + ord(letter) - 64
    return number


def sheet_extent(archive, part: str) -> SheetExtent:
    """Stream one sheet's XML (1 MiB at a time, nothing built) for the extent its cells reach: the
    declared dimension can lie, and a single far cell makes the reader allocate the whole rectangle."""
    declared, rows, columns, row_elements, has_formulas = (0, 0), 0, 0, 0, False
    carry, first = b"", True
    with archive.open(part) as stream:
        while True:
            chunk = stream.read(XML_CHUNK)
            text = carry + chunk
            cut = text.rfind(b">") + 1 if chunk else len(text)
            body, carry = text[:cut], text[cut:]
            if len(carry) > XML_CHUNK:  # a hostile tag without an end: keep only what can still form a ref
                carry = carry[-256:]
            if first:
                found = _DIMENSION.search(body, 0, 1 << 16)
                if found is not None:
                    col, row = (found.group(3), found.group(4)) if found.group(3) else (found.group(1), found.group(2))
                    declared = (int(row or 0), column_number(col) if col else 0)
                first = False
            cell_rows = set(_CELL_ROW.findall(body)) | set(_ROW_NUMBER.findall(body))
            if cell_rows:
                rows = max(rows, max(map(int, cell_rows)))
            row_elements += len(_ROW_TAG.findall(body))
            referenced = _CELL_COLUMN.findall(body)
            if referenced:
                columns = max(columns, max(map(column_number, set(referenced))))
            if len(_CELL_TAG.findall(body)) > len(referenced):  # cells without r= follow the previous one
                columns = max(columns, max(len(_CELL_TAG.findall(seg)) for seg in _ROW_TAG.split(body)))
            has_formulas = has_formulas or b"<f" in body
            if not chunk:
                break
    return SheetExtent(declared[0], declared[1], max(rows, row_elements), columns, has_formulas)


def _check_sheet_extent(raw: bytes, sheet_name: str, rel: str, limits: InputLimits) -> SheetExtent | None:
    """Refuse a sheet whose declared dimension or whose cells' extent is beyond the limits, before
    the reader allocates its range (a 1 MB file can name cell XFD1048576)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            part = _sheet_part(archive, sheet_name)
            if part is None:
                return None
            extent = sheet_extent(archive, part)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError):
        return None  # calamine says what is wrong with the workbook
    for what, rows, columns in (("declares a used range of", extent.declared_rows, extent.declared_columns),
                                ("has cells reaching", extent.rows, extent.columns)):
        if columns > limits.max_columns:
            raise FileRejected("too_many_columns", f"{rel}: the sheet {what} {columns:,} columns, more than the "
                               f"limit of {limits.max_columns} (INGEST_MAX_COLUMNS)", rel)
        if rows * columns > limits.max_sheet_cells:
            raise FileRejected("sheet_too_large", f"{rel}: the sheet {what} {rows:,} rows x {columns:,} columns "
                               f"(from A1), more than {limits.max_sheet_cells:,} cells (INGEST_MAX_SHEET_CELLS); "
                               "refused before it was loaded", rel)
    return extent


def _formula_cells_without_value(raw: bytes, sheet_name: str, columns: set[int]) -> dict[int, tuple[int, str]]:
    """Sheet row number -> (0-based column index, formula) of the formula cells
    that carry no cached value, in the used columns. calamine reads those as empty cells, which
    would land as NULL without a word. The sheet XML is searched only when it has formulas."""
    import re
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            part = _sheet_part(archive, sheet_name)
            xml = archive.read(part).decode("utf-8", "replace") if part else ""
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return {}
    if "<f" not in xml:
        return {}
    found: dict[int, tuple[int, str]] = {}
    for match in re.finditer(r"<c\b([^>]*?)(?:/>|>(.*?)</c>)", xml, re.S):
        inner = match.group(2) or ""
        if "<f" not in inner or re.search(r"<v>[^<]+</v>|<is>", inner):
            continue
        ref = re.search(r'\br="([A-Z]+)(\d+)"', match.group(1))
        if ref is None:
            continue
        column = 0
        for letter in ref.group(1):
            column = column * 26 + ord(letter) - 64
        row = int(ref.group(2))
        formula = re.sub(r"<[^>]+>", "", inner).strip() or "shared formula"
        if column - 1 in columns:
            found.setdefault(row, (column - 1, "=" + formula))
    return found


def _sheet_part(archive, sheet_name: str) -> str | None:
    """The zip member holding a sheet, via workbook.xml and its relationships."""
    import re

    workbook = archive.read("xl/workbook.xml").decode("utf-8", "replace")
    rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    for attrs in re.findall(r"<sheet\b([^>]*)/?>", workbook):
        name = re.search(r'\bname="([^"]*)"', attrs)
        rid = re.search(r'\br:id="([^"]*)"', attrs) or re.search(r'\bid="([^"]*)"', attrs)
        if name and rid and _xml_unescape(name.group(1)) == sheet_name:
            for rel in re.findall(r"<Relationship\b([^>]*)/?>", rels):
                if f'Id="{rid.group(1)}"' in rel:
                    target = re.search(r'\bTarget="([^"]*)"', rel).group(1)
                    return target.lstrip("/") if target.startswith("/") else "xl/" + target
    return None


def _xml_unescape(text: str) -> str:
    from xml.sax.saxutils import unescape

    return unescape(text, {"&quot;": '"', "&apos;": "'"})


def _filled(value) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _cell_text(value) -> str | None:
    if not _filled(value):
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _column(values: list) -> pa.Array:
    """One sheet column as Arrow: native datetimes/dates/times/numbers when every filled cell
    has that type, else text."""
    filled = [v for v in values if _filled(v)]
    cleaned = [v if _filled(v) else None for v in values]
    if filled and all(isinstance(v, dt.datetime) for v in filled):
        return pa.array(cleaned, pa.timestamp("us"))
    if filled and all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in filled):
        return pa.array(cleaned, pa.date32())
    if filled and all(isinstance(v, dt.time) for v in filled):
        return pa.array(cleaned, pa.time64("us"))
    if filled and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in filled):
        return pa.array([float(v) if v is not None else None for v in cleaned], pa.float64())
    return pa.array([_cell_text(v) for v in values], pa.string())
