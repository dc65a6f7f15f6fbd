"""One client export -> rows in the standard bronze shape of its dataset.

`parse_file` reads the file per the client's mapping and returns a table with exactly the columns
of `CONTENT_SCHEMAS[dataset]`, plus every row it left out with a reason. Work is done column at a
time in Arrow; Python only loops over rejected rows. A row with several problems is rejected once,
for the first problem in the order the checks are listed below.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from orchestration.ingest.bronze_schemas import CONTENT_SCHEMAS
from orchestration.ingest.mapping import (
    EVENT_TYPES,
    FUTURE_FIELDS,
    RESULTS,
    TIMESTAMP_FIELDS,
    ClientMapping,
    DatasetSpec,
    Source,
    load_vocabulary,
)
from orchestration.ingest.readers import RawFile, bool_array, int64_array, load_sheet, read_file, read_xlsx
from orchestration.ingest.rejections import FileRejected, Rejection
from orchestration.ingest.timestamps import as_text, blank_to_null, parse_timestamps

NUMBER = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"
THOUSANDS = r"^\s*[-+]?\d{1,3}(,\d{3})+(\.\d*)?\s*$"

FALSE = pa.scalar(False)
TRUE = pa.scalar(True)
ZERO = pa.scalar(0.0)


@dataclass
class ParsedFile:
    table: pa.Table  # exactly CONTENT_SCHEMAS[dataset]
    rejections: list[Rejection]
    unmapped_columns: list[str]  # in the file, not used by the mapping
    missing_columns: list[str]  # used by the mapping (optional ones), not in the file
    encoding: str
    rows_read: int  # data rows in the file (landed or not)
    header: list[str] = field(default_factory=list)
    mapped_columns: list[str] = field(default_factory=list)  # used by the mapping and present
    rows_rejected: int = 0  # data rows of which nothing landed (each has at least one rejection with its reason)

    @property
    def rows_landed(self) -> int:
        """Data rows accepted: source rows = rows_landed + rows_rejected, always."""
        return self.rows_read - self.rows_rejected


def rows_left_out(table: pa.Table, rejections: list[Rejection]) -> int:
    """How many rejected rows contributed nothing to `table` (a wide row with one bad cell still lands)."""
    rows = sorted({r.row for r in rejections if r.row is not None})
    if not rows:
        return 0
    landed = pc.is_in(pa.array(rows, pa.int64()), value_set=table["_source_row"].combine_chunks())
    return len(rows) - pc.sum(landed.cast(pa.int64())).as_py()


def parse_file(path: Path | bytes, spec: DatasetSpec, mapping: ClientMapping, *, relative_path: str,
               now: dt.datetime | None = None, raw: RawFile | None = None) -> ParsedFile:
    """Read `path` as `spec.dataset` per the client's mapping; FileRejected when the file as a
    whole cannot be used. `now` (landing time) bounds the plausible timestamps. `raw`: the file
    already read for this entry (`parse_entries` reads a file once for all its entries)."""
    rel = relative_path
    used = spec.used_columns()
    if raw is None:
        types, timestamp_format = _type_hints(spec)
        raw = read_file(path, spec, relative_path=rel, wanted=set(used), types=types,
                        timestamp_format=timestamp_format, timestamp_columns=_timestamp_columns(spec))
    counts = Counter(raw.header)
    duplicated = [name for name in used if counts[name] > 1]
    if duplicated:
        raise FileRejected("duplicate_column", f"{rel}: column {duplicated[0]!r} occurs {counts[duplicated[0]]} "
                           f"times in the header", rel, row=None, column=duplicated[0])
    present = set(raw.header)
    unmapped = [name if name else f"(column {i + 1} without a header)"
                for i, name in enumerate(raw.header) if name not in used]
    required, optional = _required_and_optional(spec)
    for name in required:
        if name not in present:
            raise FileRejected("missing_column", f"{rel}: required column {name!r} is not in the header "
                               f"({', '.join(map(repr, raw.header))})", rel, column=name)
    missing = [name for name in optional if name not in present]
    if spec.dataset == "sensor_readings" and spec.layout == "wide" and len(missing) == len(spec.sensors):
        raise FileRejected("missing_column", f"{rel}: none of the mapped sensor columns "
                           f"({', '.join(map(repr, spec.sensors))}) is in the header", rel,
                           column=next(iter(spec.sensors)))

    rows = _Rows(raw, rel, mapping.company_id, spec, now or dt.datetime.now(dt.timezone.utc))
    table = BUILDERS[spec.dataset](rows, spec, mapping)
    rejections = raw.rejections + rows.rejections
    rejections.sort(key=lambda r: (r.row or 0, r.column or ""))
    parsed = ParsedFile(table, rejections, unmapped, missing, raw.encoding, raw.rows_read, raw.header,
                        [name for name in used if name in present], rows_left_out(table, rejections))
    if rejections and parsed.rows_landed == 0:
        reason, count = Counter(r.reason for r in rejections).most_common(1)[0]
        example = next(r for r in rejections if r.reason == reason)
        raise FileRejected(reason, f"{rel}: no row can be used: all {raw.rows_read} data row(s) rejected, "
                           f"{count} for {reason}; e.g. {example.message}", rel, row=example.row, column=example.column)
    return parsed


def parse_entries(data: bytes, specs: list[DatasetSpec], mapping: ClientMapping, *, relative_path: str,
                  now: dt.datetime | None = None) -> list[ParsedFile | FileRejected]:
    """Every entry's parse of one file (in the order of `specs`), the bytes read and split once for
    all CSV entries that read them alike (encoding, delimiter, header row), and a workbook's sheet
    loaded once for the XLSX entries that read it: a per-shot export feeding readings, inspections,
    events and lots is parsed once, not four times. Each entry's result is
    the one `parse_file` gives it alone; a file the shared read refuses is read per entry again, so
    each entry keeps its own reason."""
    results: dict[str, ParsedFile | FileRejected] = {}
    groups: dict[tuple, list[DatasetSpec]] = {}
    for spec in specs:
        groups.setdefault((spec.format, spec.encoding, spec.delimiter, spec.header_row, spec.sheet), []).append(spec)
    for (fmt, *_), group in groups.items():
        shared = sheet = None
        if len(group) > 1 and fmt == "csv":
            shared = _shared_csv_read(data, group, relative_path)
        elif len(group) > 1:
            try:
                sheet = load_sheet(data, group[0], relative_path=relative_path)
            except FileRejected:
                pass  # each entry gets the reason by itself
        for spec in group:
            try:
                raw = (shared.for_columns(set(spec.used_columns())) if shared is not None else
                       read_xlsx(data, spec, relative_path=relative_path, wanted=set(spec.used_columns()),
                                 loaded=sheet) if sheet is not None else None)
                results[spec.name] = parse_file(data, spec, mapping, relative_path=relative_path, now=now, raw=raw)
            except FileRejected as rejected:
                results[spec.name] = rejected
    return [results[spec.name] for spec in specs]


def _shared_csv_read(data: bytes, specs: list[DatasetSpec], rel: str) -> RawFile | None:
    """One read of the columns every entry of `specs` uses, with the type hints they agree on; None
    when they cannot share one (two entries map variants of one header) or the read refuses the file."""
    from orchestration.ingest.mapping import header_key
    from orchestration.ingest.readers import read_csv

    wanted = {name for spec in specs for name in spec.used_columns()}
    if len({header_key(name) for name in wanted}) != len(wanted):
        return None
    hints = [_type_hints(spec) for spec in specs]
    types: dict[str, pa.DataType] = {}
    conflicting: set[str] = set()
    for spec_types, _ in hints:
        for name, kind in spec_types.items():
            if types.setdefault(name, kind) != kind:
                conflicting.add(name)
    formats = []  # distinct timestamp formats (pyarrow's ISO8601 marker is not hashable)
    for _, fmt in hints:
        if not any(fmt is known or fmt == known for known in formats):
            formats.append(fmt)
    if len(formats) > 1:  # timestamp-typed columns need one format: leave them as text
        conflicting |= {name for name, kind in types.items() if pa.types.is_timestamp(kind)}
    for spec in specs:  # a column read typed by one entry but used as text by another is read as text
        for name in set(spec.used_columns()) - set(_type_hints(spec)[0]):
            conflicting.add(name)
    timestamp_columns = set().union(*(_timestamp_columns(spec) for spec in specs))
    for spec in specs:  # dictionary-encoded timestamps only where every entry reading them takes a time
        timestamp_columns -= set(spec.used_columns()) - _timestamp_columns(spec)
    try:
        return read_csv(data, specs[0], relative_path=rel, wanted=wanted,
                        types={n: t for n, t in types.items() if n not in conflicting},
                        timestamp_format=formats[0] if len(formats) == 1 else None,
                        timestamp_columns=timestamp_columns, check_cells=False)
    except FileRejected:
        return None


def _timestamp_columns(spec: DatasetSpec) -> set[str]:
    return set(spec.timestamp.columns) | {c for n, s in spec.columns.items() if n in TIMESTAMP_FIELDS for c in s.columns}


def _type_hints(spec: DatasetSpec) -> tuple[dict[str, pa.DataType], str | None]:
    """Columns worth reading typed (numbers; single-column timestamps in a format Arrow's CSV
    reader parses the same way `parse_local` would)."""
    from orchestration.ingest.mapping import NUMERIC_FIELDS, TIMESTAMP_FIELDS
    from orchestration.ingest.timestamps import ISO_FORMATS

    hints: dict[str, pa.DataType] = {}
    timestamp_columns: list[tuple[str, ...]] = []
    if spec.dataset == "sensor_readings":
        numeric = [spec.value_column] if spec.layout == "long" else list(spec.sensors)
        timestamp_columns.append(spec.timestamp.columns)
    elif spec.shipments is not None:
        numeric = list(spec.shipments.quantity)
        timestamp_columns += [(c,) for c in spec.shipments.shipped_at]
    else:
        numeric = [s.columns[0] for name, s in spec.columns.items() if name in NUMERIC_FIELDS and s.columns]
        timestamp_columns += [s.columns for name, s in spec.columns.items() if name in TIMESTAMP_FIELDS]
    hints.update({name: pa.float64() for name in numeric if name})
    fmt = spec.timestamp.format
    if "%p" not in fmt and "%z" not in fmt and "%Z" not in fmt:
        for columns in timestamp_columns:
            if len(columns) == 1:
                hints[columns[0]] = pa.timestamp("us")
    return hints, (pacsv.ISO8601 if fmt in ISO_FORMATS else fmt)


def _required_and_optional(spec: DatasetSpec) -> tuple[list[str], list[str]]:
    required = list(spec.timestamp.columns) if spec.timestamp else []
    for source in (spec.line, spec.equipment):
        if source is not None:
            required += source.columns
    optional: list[str] = []
    if spec.dataset == "sensor_readings":
        required += [s.columns[0] for s in (spec.sequence, spec.lot) if s is not None]
        if spec.timestamp.relative is not None and spec.timestamp.relative.counter:
            required.append(spec.timestamp.relative.counter)
        if spec.layout == "long":
            required += [c for c in (spec.tag_column, spec.value_column, spec.unit_column) if c]
        else:
            optional += list(spec.sensors)
    else:
        if spec.shipments is not None:
            optional += [c for pair in zip(spec.shipments.quantity, spec.shipments.shipped_at) for c in pair]
        from orchestration.ingest.mapping import REQUIRED_FIELDS

        for name, source in spec.columns.items():
            (required if name in REQUIRED_FIELDS[spec.dataset] else optional).extend(source.columns)
    return list(dict.fromkeys(required)), [c for c in dict.fromkeys(optional) if c not in required]


class _Rows:
    """The rows of one file and the rejections found so far (first problem per row wins)."""

    def __init__(self, raw: RawFile, rel: str, company_id: str, spec: DatasetSpec, now: dt.datetime):
        self.spec = spec
        self.now = now
        self.table = raw.table
        self.n = len(raw.source_rows)
        self.source_rows = raw.source_rows
        self.rel = rel
        self.company_id = company_id
        self.bad = np.zeros(self.n, dtype=bool)
        self.rejections: list[Rejection] = []
        self.present = set(raw.table.column_names)

    def column(self, name: str) -> pa.ChunkedArray | pa.Array:
        return blank_to_null(self.table[name].combine_chunks()) if self.table[name].num_chunks != 1 else \
            blank_to_null(self.table[name].chunk(0))

    def source(self, source: Source | None) -> pa.Array:
        """Text of a field: a constant, or a column (missing optional column -> null)."""
        if source is None:
            return pa.nulls(self.n, pa.string())
        if source.is_constant:
            return constant(source.value, self.n)
        if source.columns[0] not in self.present:
            return pa.nulls(self.n, pa.string())
        return as_text(self.column(source.columns[0]))

    def reject(self, mask, reason: str, column: str | None, describe: Callable[[np.ndarray], list[str]]) -> None:
        if not isinstance(mask, np.ndarray) and not pc.any(mask).as_py():
            return  # the common case: nothing wrong, no conversion to numpy
        mask = as_numpy(mask)
        new = mask & ~self.bad
        indices = np.flatnonzero(new)
        if indices.size:
            rows = self.source_rows.take(int64_array(indices)).to_pylist()
            for row, message in zip(rows, describe(indices)):
                self.rejections.append(Rejection(reason, f"line/row {row}: {message}", self.rel, row, column))
        self.bad |= mask

    def timestamps(self, columns: tuple[str, ...], spec: DatasetSpec, mapping: ClientMapping, *,
                   required: bool = True, future_allowed: bool = False) -> pa.Array:
        """UTC timestamps from one or two columns; rows that fail are rejected."""
        if not all(c in self.present for c in columns):
            return pa.nulls(self.n, pa.timestamp("us", tz="UTC"))
        arrays = [self.column(c) for c in columns]
        ts = spec.timestamp
        utc, missing, unparseable = parse_timestamps(arrays, ts.format, ts.timezone or mapping.timezone)
        label = " + ".join(columns)
        if required:
            self.reject(missing, "missing_timestamp", label, lambda idx: [f"{label} is empty"] * len(idx))
        self.reject(unparseable, "unparseable_timestamp", label, lambda idx: [
            f"{label} {v!r} does not match the format {ts.format!r}" for v in _texts(arrays, idx)])
        self.reject_implausible(utc, label, texts=lambda idx: _texts(arrays, idx), future_allowed=future_allowed)
        return utc

    def reject_implausible(self, utc: pa.Array, label: str, *, texts: Callable[[np.ndarray], list[str]],
                           future_allowed: bool = False) -> None:
        """Times outside the mapping's plausible window (junk cells read as 1900 or 2068)."""
        ts = self.spec.timestamp
        earliest = dt.datetime.combine(ts.not_before, dt.time(), dt.timezone.utc)
        latest = self.now + dt.timedelta(days=ts.days_ahead)
        outside = pc.less(utc, pa.scalar(earliest, utc.type))
        if not future_allowed:
            outside = pc.or_(outside, pc.greater(utc, pa.scalar(latest, utc.type)))
        window = f"{ts.not_before} .. {'(any later date)' if future_allowed else f'{latest:%Y-%m-%d %H:%M} UTC'}"
        self.reject(outside, "implausible_timestamp", label, lambda idx: [
            f"{label} {v.removesuffix('.000000')!r} is outside the plausible window {window} (a historical backfill "
            f"widens it with timestamp.not_before in the mapping)" for v in texts(idx)])

    def numbers(self, name: str, *, required: bool, missing_reason: str = "missing_value",
                sentinels: tuple[float, ...] = ()) -> pa.Array:
        if name not in self.present:
            return pa.nulls(self.n, pa.float64())
        values = self.column(name)
        numbers, bad = parse_numbers(values)
        sentinels = self.spec.missing_values + sentinels
        if sentinels:  # a sentinel cell is an empty cell
            hit = pc.fill_null(pc.is_in(numbers, value_set=pa.array(sentinels, pa.float64())), FALSE)
            numbers = pc.if_else(hit, pa.scalar(None, pa.float64()), numbers)
            values = pc.if_else(hit, pa.scalar(None, values.type), values)
        if required:
            self.reject(pc.is_null(values), missing_reason, name, lambda idx: [f"{name} is empty"] * len(idx))
        self.reject(bad, "non_numeric_value", name, lambda idx: [
            f"{name} {v!r} is not a number" for v in values.take(int64_array(idx)).to_pylist()])
        return numbers

    def number_field(self, source: Source | None, *, required: bool) -> pa.Array:
        """A numeric field: a constant of the mapping (`{value: 1}`) or a column."""
        if source is None:
            return pa.nulls(self.n, pa.float64())
        if source.is_constant:
            return pa.nulls(self.n, pa.float64()).fill_null(float(source.value))
        return scaled(self.numbers(source.columns[0], required=required), source.scale, source.offset)

    def required_text(self, source: Source, reason: str, what: str) -> pa.Array:
        """A text field every row must have (a lot id, an order id): blank cells reject the row."""
        values = self.source(source)
        label = source.columns[0] if source.columns else None
        self.reject(pc.is_null(values), reason, label, lambda idx: [f"{what} ({label}) is empty"] * len(idx))
        return values

    def output(self, dataset: str, columns: dict[str, pa.Array]) -> pa.Table:
        schema = CONTENT_SCHEMAS[dataset]
        columns = {"company_id": constant(self.company_id, self.n), **columns, "_source_row": self.source_rows}
        table = pa.Table.from_arrays([columns[f.name].cast(f.type) if f.name in columns else pa.nulls(self.n, f.type)
                                      for f in schema], schema=schema)
        if self.bad.any():
            table = table.filter(bool_array(~self.bad))
        return table


def scaled(numbers: pa.Array, scale: float, offset: float) -> pa.Array:
    """Values as the mapping says to land them: sent x scale + offset (sentinels already removed)."""
    if scale != 1.0:
        numbers = pc.multiply(numbers, pa.scalar(scale))
    if offset != 0.0:
        numbers = pc.add(numbers, pa.scalar(offset))
    return numbers


def constant(value, n: int) -> pa.Array:
    return pa.nulls(n, pa.string()).fill_null(str(value))


def drop_sentinels(numbers: pa.Array, sentinels: tuple[float, ...]) -> pa.Array:
    """Values the client writes for "no value" (-1, 9999) become missing."""
    if not sentinels:
        return numbers
    hit = pc.is_in(numbers, value_set=pa.array(sentinels, pa.float64()))
    return pc.if_else(hit, pa.scalar(None, pa.float64()), numbers)


def as_numpy(mask) -> np.ndarray:
    if isinstance(mask, np.ndarray):
        return mask
    mask = pc.fill_null(mask, FALSE)
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    return mask.to_numpy(zero_copy_only=False)


def _texts(arrays: list, idx: np.ndarray) -> list[str]:
    taken = [as_text(a).take(int64_array(idx)).to_pylist() for a in arrays]
    return [" ".join("" if v is None else str(v) for v in parts) for parts in zip(*taken)]


def parse_numbers(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Numbers from text (or native numbers): (float64 values, mask of non-empty cells that are not a
    finite number). Thousands separators (1,234.5) and stray spaces are accepted."""
    if pa.types.is_floating(values.type) or pa.types.is_integer(values.type):
        numbers = values.cast(pa.float64())
    elif not pa.types.is_string(values.type):
        numbers = pa.nulls(len(values), pa.float64())
        return numbers, pc.is_valid(values)
    else:
        try:
            numbers = pc.cast(values, pa.float64())
        except pa.ArrowInvalid:
            cleaned = values
            if pc.any(pc.match_substring(values, ",")).as_py():
                grouped = pc.match_substring_regex(values, THOUSANDS)
                cleaned = pc.if_else(grouped, pc.replace_substring(values, ",", ""), values)
            valid = pc.fill_null(pc.match_substring_regex(cleaned, NUMBER), FALSE)
            numbers = pc.cast(pc.utf8_trim_whitespace(pc.if_else(valid, cleaned, pa.scalar(None, pa.string()))),
                              pa.float64())
    finite = pc.fill_null(pc.is_finite(numbers), TRUE)
    bad = pc.or_(pc.and_(pc.is_valid(values), pc.is_null(numbers)), pc.invert(finite))
    return pc.if_else(finite, numbers, pa.scalar(None, pa.float64())), bad


def _lookup(values: pa.Array, table: dict[str, str]) -> pa.Array:
    """Map source labels to standard codes (exact, then case- and space-insensitive); null when unknown."""
    keys = list(table)
    mapped = pc.take(pa.array(list(table.values()), pa.string()), pc.index_in(values, value_set=pa.array(keys, pa.string())))
    unknown = pc.and_(pc.is_valid(values), pc.is_null(mapped))
    if pc.any(unknown).as_py():
        folded = {k.strip().casefold(): v for k, v in table.items()}
        again = pc.take(pa.array(list(folded.values()), pa.string()),
                        pc.index_in(pc.utf8_lower(pc.utf8_trim_whitespace(values)),
                                    value_set=pa.array(list(folded), pa.string())))
        mapped = pc.coalesce(mapped, again)
    unknown = pc.and_(pc.is_valid(values), pc.is_null(mapped))
    if pc.any(unknown).as_py():  # a label written as a number: "1.0" (or 1.0 from Excel) is the mapping's "1"
        numeric = {_number_label(k): v for k, v in table.items() if _number_label(k) is not None}
        if numeric:
            as_number, _ = parse_numbers(values)
            texts = pc.cast(pc.cast(as_number, pa.int64(), safe=False), pa.string())
            whole = pc.equal(pc.floor(as_number), as_number)
            texts = pc.if_else(whole, texts, pa.scalar(None, pa.string()))
            again = pc.take(pa.array(list(numeric.values()), pa.string()),
                            pc.index_in(texts, value_set=pa.array(list(numeric), pa.string())))
            mapped = pc.coalesce(mapped, again)
    return mapped


def _number_label(label: str) -> str | None:
    try:
        number = float(label)
    except ValueError:
        return None
    return str(int(number)) if number.is_integer() else None


# ---------------------------------------------------------------- per dataset


def build_sensor_readings(rows: _Rows, spec: DatasetSpec, mapping: ClientMapping) -> pa.Table:
    if spec.timestamp.relative is not None:
        reading_ts = relative_timestamps(rows, spec, mapping)
    else:
        reading_ts = rows.timestamps(spec.timestamp.columns, spec, mapping)
    equipment = rows.source(spec.equipment)
    line = rows.source(spec.line)
    equipment_label = spec.equipment.columns[0] if spec.equipment.columns else None
    rows.reject(pc.is_null(equipment), "missing_equipment", equipment_label,
                lambda idx: [f"{equipment_label} is empty"] * len(idx))
    links = {"sequence_id": rows.source(spec.sequence), "lot_id": rows.source(spec.lot)}
    if spec.layout == "long":
        return _long_readings(rows, spec, mapping, reading_ts, equipment, line, links)
    return _wide_readings(rows, spec, reading_ts, equipment, line, links)


def relative_timestamps(rows: _Rows, spec: DatasetSpec, mapping: ClientMapping) -> pa.Array:
    """A file without a clock: start (from the mapping or the file name) + sample number x interval.
    The sample number is the counter column's value minus its first value, else the row's place
    among the data lines."""
    relative = spec.timestamp.relative
    name = PurePosixPath(rows.rel).name
    text = relative.start
    if relative.start_from_file_name is not None:
        found = relative.start_from_file_name.search(name)
        if found is None:
            raise FileRejected("no_start_time", f"{rows.rel}: the file name {name!r} does not carry the start time "
                               f"(timestamp.relative.start_from_file_name {relative.start_from_file_name.pattern!r})",
                               rows.rel)
        text = found.group(1)
    try:
        local_start = dt.datetime.strptime(text.strip(), spec.timestamp.format)
    except ValueError:
        raise FileRejected("no_start_time", f"{rows.rel}: start time {text!r} does not match the format "
                           f"{spec.timestamp.format!r}", rows.rel) from None
    zone = ZoneInfo(spec.timestamp.timezone or mapping.timezone)
    start = local_start.replace(tzinfo=zone).astimezone(dt.timezone.utc)
    if relative.counter:
        counter = rows.numbers(relative.counter, required=True)
        first = pc.min(counter).as_py() or 0.0
        samples = pc.subtract(counter, pa.scalar(first))
    else:
        first_line = rows.spec.header_row + 1
        samples = pc.subtract(rows.source_rows, pa.scalar(first_line, pa.int64())).cast(pa.float64())
    micros = pc.round(pc.multiply(samples, pa.scalar(relative.interval_seconds * 1e6))).cast(pa.int64())
    start_micros = int((start - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) / dt.timedelta(microseconds=1))
    utc = pc.add(micros, pa.scalar(start_micros, pa.int64())).cast(pa.timestamp("us", tz="UTC"))
    label = relative.counter or "start + row x interval"
    rows.reject_implausible(utc, label, texts=lambda idx: [
        str(v) for v in utc.take(int64_array(idx)).to_pylist()])
    return utc


def _long_readings(rows, spec, mapping, reading_ts, equipment, line, links) -> pa.Table:
    source_tag = rows.column(spec.tag_column)
    index = pc.index_in(source_tag, value_set=pa.array(list(spec.tags), pa.string()))
    if pc.any(pc.and_(pc.is_null(index), pc.is_valid(source_tag))).as_py():  # "T-03 " matches "T-03"
        index = pc.coalesce(index, pc.index_in(pc.utf8_trim_whitespace(source_tag),
                                               value_set=pa.array(list(spec.tags), pa.string())))
    tag = pc.take(pa.array([t.tag for t in spec.tags.values()], pa.string()), index)
    rows.reject(pc.is_null(tag), "unknown_tag", spec.tag_column, lambda idx: [
        f"{spec.tag_column} {v!r} is not among the mapping's tags ({', '.join(spec.tags)})"
        for v in source_tag.take(int64_array(idx)).to_pylist()])
    value = _scaled_long_values(rows, spec, index)
    unit = pc.take(pa.array([t.unit for t in spec.tags.values()], pa.string()), index)
    if spec.unit_column:
        sent = rows.column(spec.unit_column)
        unit = pc.coalesce(sent, unit)
        vocabulary = mapping.vocabulary or load_vocabulary()
        units = list(vocabulary.unit_quantity)
        quantities = sorted(set(vocabulary.unit_quantity.values()) | set(vocabulary.tag_quantity.values()))
        unit_index = pc.index_in(unit, value_set=pa.array(units, pa.string()))
        rows.reject(pc.is_null(unit_index), "unknown_unit", spec.unit_column, lambda idx: [
            f"{spec.unit_column} {v!r} is not a unit code of seeds/unit_conversions.csv"
            for v in unit.take(int64_array(idx)).to_pylist()])
        # compare quantities as small integers: what the unit measures vs what the tag is
        unit_quantity = pc.take(pa.array([quantities.index(vocabulary.unit_quantity[u]) for u in units]), unit_index)
        tag_quantity = pc.take(pa.array([quantities.index(vocabulary.tag_quantity[t.tag]) for t in spec.tags.values()]),
                               index)
        rows.reject(pc.not_equal(unit_quantity, tag_quantity), "unit_mismatch", spec.unit_column, lambda idx: [
            f"unit {u!r} does not measure {vocabulary.tag_quantity.get(t, '?')} (tag {t})"
            for t, u in zip(tag.take(int64_array(idx)).to_pylist(), unit.take(int64_array(idx)).to_pylist())])
    return rows.output("sensor_readings", {
        "line_id": line, "equipment_id": equipment, "source_tag": source_tag, "tag": tag, "value": value,
        "unit": unit, "reading_ts": reading_ts, **links})


def _scaled_long_values(rows: _Rows, spec: DatasetSpec, index: pa.Array) -> pa.Array:
    """Long layout: each tag's sentinels are missing (-> missing_value), then its scale and offset."""
    tags = list(spec.tags.values())
    sentinels = tuple(sorted({m for t in tags for m in t.missing}))
    value = rows.numbers(spec.value_column, required=not sentinels)
    if sentinels:  # per tag: a sentinel of one tag may be a real value of another
        hit = pc.fill_null(pc.is_in(value, value_set=pa.array(sentinels, pa.float64())), FALSE)
        if pc.any(hit).as_py():
            per_row = [set(t.missing) for t in tags]
            idx_list, val_list = index.to_pylist(), value.to_pylist()
            mask = np.array([i is not None and v in per_row[i] for i, v in zip(idx_list, val_list)], dtype=bool)
            value = pc.if_else(bool_array(mask), pa.scalar(None, pa.float64()), value)
        label = spec.value_column
        rows.reject(pc.is_null(value), "missing_value", label, lambda idx: [f"{label} is empty or a "
                    f"missing-value sentinel"] * len(idx))
    if any(t.scale != 1.0 or t.offset != 0.0 for t in tags):
        scale = pc.take(pa.array([t.scale for t in tags], pa.float64()), index)
        offset = pc.take(pa.array([t.offset for t in tags], pa.float64()), index)
        value = pc.add(pc.multiply(value, scale), offset)
    return value


def _wide_readings(rows, spec, reading_ts, equipment, line, links) -> pa.Table:
    parts = []
    has_reading = np.zeros(rows.n, dtype=bool)
    rejected_cells = np.zeros(rows.n, dtype=bool)
    for name, tag_unit in spec.sensors.items():
        if name not in rows.present:
            continue
        values = rows.column(name)
        numbers, bad = parse_numbers(values)
        numbers = drop_sentinels(numbers, spec.missing_values + tag_unit.missing)
        if tag_unit.scale != 1.0 or tag_unit.offset != 0.0:
            numbers = pc.add(pc.multiply(numbers, pa.scalar(tag_unit.scale)), pa.scalar(tag_unit.offset))
        bad = as_numpy(bad)
        rejected_cells |= bad
        fresh = bad & ~rows.bad
        indices = np.flatnonzero(fresh)
        if indices.size:  # a bad cell rejects that reading only, not the row's other sensors
            for row, value in zip(rows.source_rows.take(int64_array(indices)).to_pylist(),
                                  values.take(int64_array(indices)).to_pylist()):
                rows.rejections.append(Rejection("non_numeric_value", f"line/row {row}: {name} {value!r} is not a "
                                                 f"number", rows.rel, row, name))
        keep = as_numpy(pc.is_valid(numbers)) & ~rows.bad
        if not keep.any():
            continue
        has_reading |= keep
        selector = bool_array(keep)
        count = int(keep.sum())
        parts.append(pa.table({
            "line_id": line.filter(selector), "equipment_id": equipment.filter(selector),
            "source_tag": constant(name, count), "tag": constant(tag_unit.tag, count),
            "value": numbers.filter(selector), "unit": constant(tag_unit.unit, count),
            "reading_ts": reading_ts.filter(selector),
            **{link: values.filter(selector) for link, values in links.items()},
            "_source_row": rows.source_rows.filter(selector)}))
    # a row that yields no reading at all is rejected with a reason, so source rows always reconcile
    empty = ~has_reading & ~rows.bad & ~rejected_cells
    if empty.any():
        sensors = ", ".join(c for c in spec.sensors if c in rows.present)
        rows.reject(empty, "no_readings", None, lambda idx: [f"every mapped sensor cell ({sensors}) is empty or a "
                                                             f"missing-value sentinel"] * len(idx))
    schema = CONTENT_SCHEMAS["sensor_readings"]
    if not parts:
        return schema.empty_table()
    melted = pa.concat_tables(parts)
    melted = melted.take(pc.sort_indices(melted, [("_source_row", "ascending")]))  # stable: row, then column
    n = melted.num_rows
    columns = {"company_id": constant(rows.company_id, n), **{c: melted[c] for c in melted.column_names}}
    return pa.Table.from_arrays([columns[f.name].cast(f.type) for f in schema], schema=schema)


def build_production_lots(rows: _Rows, spec: DatasetSpec, mapping: ClientMapping) -> pa.Table:
    cols = spec.columns
    lot_id = rows.required_text(cols["lot_id"], "missing_lot_id", "the lot id")
    start = rows.timestamps(cols["start"].columns, spec, mapping)
    end = rows.timestamps(cols["end"].columns, spec, mapping, required=False) if "end" in cols else \
        pa.nulls(rows.n, pa.timestamp("us", tz="UTC"))
    if "end" in cols:
        label = " + ".join(cols["end"].columns)
        rows.reject(pc.less(end, start), "end_before_start", label, lambda idx: [
            f"lot ends at {e} before it starts at {s}" for s, e in
            zip(start.take(int64_array(idx)).to_pylist(), end.take(int64_array(idx)).to_pylist())])
    quantity = rows.number_field(cols["quantity"], required=True)
    defects = rows.number_field(cols.get("defect_quantity"), required=False)
    for name, values in (("quantity", quantity), ("defect_quantity", defects)):
        if name in cols and cols[name].columns:
            column = cols[name].columns[0]
            rows.reject(pc.less(values, ZERO), "negative_quantity", column, lambda idx, v=values, c=column: [
                f"{c} {x} is negative" for x in v.take(int64_array(idx)).to_pylist()])
    if "defect_quantity" in cols:
        column = cols["defect_quantity"].columns[0] if cols["defect_quantity"].columns else None
        rows.reject(pc.greater(defects, quantity), "defects_exceed_quantity", column, lambda idx: [
            f"{d} defective of {q} produced" for d, q in
            zip(defects.take(int64_array(idx)).to_pylist(), quantity.take(int64_array(idx)).to_pylist())])
    return rows.output("production_lots", {
        "line_id": rows.source(spec.line), "equipment_id": rows.source(spec.equipment), "lot_id": lot_id,
        "product_code": rows.source(cols.get("product_code")), "start_ts": start, "end_ts": end,
        "quantity": quantity, "defect_quantity": defects, "quantity_unit": constant(spec.quantity_unit, rows.n)})


def build_quality_inspections(rows: _Rows, spec: DatasetSpec, mapping: ClientMapping) -> pa.Table:
    cols = spec.columns
    lot_id = rows.required_text(cols["lot_id"], "missing_lot_id", "the lot id")
    inspected = rows.timestamps(cols["inspected_at"].columns, spec, mapping)
    numbers = {name: rows.number_field(cols.get(name), required=False)
               for name in ("measured_value", "lower_spec", "upper_spec")}
    result = pa.nulls(rows.n, pa.string())
    if "result" in cols:
        sent = rows.source(cols["result"])
        column = cols["result"].columns[0] if cols["result"].columns else None
        if column is not None and column in rows.present:  # a mapped label is required: blank is not "no defect"
            rows.reject(pc.is_null(sent), "missing_result", column, lambda idx: [
                f"the result ({column}) is empty"] * len(idx))
        result = _lookup(sent, {**{r: r for r in RESULTS}, **spec.result_values})
        rows.reject(pc.and_(pc.is_valid(sent), pc.is_null(result)), "unknown_result", column, lambda idx: [
            f"result {v!r} is not in result_values ({', '.join(spec.result_values) or 'pass, fail'})"
            for v in sent.take(int64_array(idx)).to_pylist()])
    return rows.output("quality_inspections", {
        "line_id": rows.source(spec.line), "lot_id": lot_id, "inspected_at": inspected,
        "characteristic": rows.source(cols.get("characteristic")), **numbers,
        "unit": rows.source(cols.get("unit")), "result": result, "defect_type": rows.source(cols.get("defect_type"))})


def build_equipment_events(rows: _Rows, spec: DatasetSpec, mapping: ClientMapping) -> pa.Table:
    cols = spec.columns
    event_ts = rows.timestamps(cols["event_time"].columns, spec, mapping)
    equipment = rows.source(spec.equipment)
    equipment_label = spec.equipment.columns[0] if spec.equipment.columns else None
    rows.reject(pc.is_null(equipment), "missing_equipment", equipment_label,
                lambda idx: [f"{equipment_label} is empty"] * len(idx))
    sent = rows.source(cols["event_type"])
    column = cols["event_type"].columns[0] if cols["event_type"].columns else None
    rows.reject(pc.is_null(sent), "missing_event_type", column, lambda idx: [f"the event type ({column}) is empty"] * len(idx))
    event_type = _lookup(sent, {**{e: e for e in EVENT_TYPES}, **spec.event_values})
    rows.reject(pc.is_null(event_type), "unknown_event_type", column, lambda idx: [
        f"event type {v!r} is not in event_values ({', '.join(spec.event_values) or 'run, stop, alarm'})"
        for v in sent.take(int64_array(idx)).to_pylist()])
    return rows.output("equipment_events", {
        "line_id": rows.source(spec.line), "equipment_id": equipment, "event_ts": event_ts,
        "event_type": event_type, "event_code": rows.source(cols.get("code")),
        "message": rows.source(cols.get("message"))})


def build_work_orders(rows: _Rows, spec: DatasetSpec, mapping: ClientMapping) -> pa.Table:
    cols = spec.columns
    order_id = rows.required_text(cols["order_id"], "missing_order_id", "the work order id")
    times = {name: rows.timestamps(cols[name].columns, spec, mapping, required=False,
                                   future_allowed=name in FUTURE_FIELDS)
             if name in cols else pa.nulls(rows.n, pa.timestamp("us", tz="UTC")) for name in ("ordered_at", "due_at")}
    quantity = rows.number_field(cols.get("quantity"), required=False)
    if "quantity" in cols and cols["quantity"].columns:
        column = cols["quantity"].columns[0]
        rows.reject(pc.less(quantity, ZERO), "negative_quantity", column, lambda idx: [
            f"{column} {x} is negative" for x in quantity.take(int64_array(idx)).to_pylist()])
    return rows.output("work_orders", {
        "line_id": rows.source(spec.line), "order_id": order_id, "product_code": rows.source(cols.get("product_code")),
        **times, "quantity": quantity, "quantity_unit": constant(spec.quantity_unit, rows.n)})


def build_shipments(rows: _Rows, spec: DatasetSpec, mapping: ClientMapping) -> pa.Table:
    """A wide export's n-th shipment columns -> one row per shipment that has a quantity or a date;
    a work order without shipments yet lands none (its row is still accepted)."""
    order_id = rows.required_text(spec.columns["order_id"], "missing_order_id", "the work order id")
    shipments = spec.shipments
    parts = []
    for number, (quantity_column, date_column) in enumerate(zip(shipments.quantity, shipments.shipped_at), start=1):
        quantity = scaled(rows.numbers(quantity_column, required=False), shipments.scale, shipments.offset)
        shipped = rows.timestamps((date_column,), spec, mapping, required=False)
        rows.reject(pc.less(quantity, ZERO), "negative_quantity", quantity_column, lambda idx, q=quantity, c=quantity_column: [
            f"{c} {x} is negative" for x in q.take(int64_array(idx)).to_pylist()])
        parts.append((number, quantity, shipped))
    tables = []
    for number, quantity, shipped in parts:  # after every check, so a bad cell drops its whole row
        keep = as_numpy(pc.or_(pc.is_valid(quantity), pc.is_valid(shipped))) & ~rows.bad
        if not keep.any():
            continue
        selector = bool_array(keep)
        count = int(keep.sum())
        tables.append(pa.table({
            "company_id": constant(rows.company_id, count), "order_id": order_id.filter(selector),
            "shipment_no": pa.nulls(count, pa.int32()).fill_null(number), "shipped_at": shipped.filter(selector),
            "quantity": quantity.filter(selector), "quantity_unit": constant(spec.quantity_unit, count),
            "_source_row": rows.source_rows.filter(selector)}, schema=CONTENT_SCHEMAS["shipments"]))
    if not tables:
        return CONTENT_SCHEMAS["shipments"].empty_table()
    table = pa.concat_tables(tables)
    return table.take(pc.sort_indices(table, [("_source_row", "ascending"), ("shipment_no", "ascending")]))


BUILDERS = {
    "sensor_readings": build_sensor_readings,
    "production_lots": build_production_lots,
    "quality_inspections": build_quality_inspections,
    "equipment_events": build_equipment_events,
    "work_orders": build_work_orders,
    "shipments": build_shipments,
}
