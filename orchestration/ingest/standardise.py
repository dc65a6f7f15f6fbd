"""One client export -> rows in the standard bronze shape of its dataset.

`parse_file` reads the file per the client's mapping and returns a table with exactly the columns
of `CONTENT_SCHEMAS[dataset]`, plus every row it left out with a reason. Work is done column at a
time in Arrow; Python only loops over rejected rows. A row with several problems is rejected once,
for the first problem in the order the checks are listed below.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from orchestration.ingest.bronze_schemas import CONTENT_SCHEMAS
from orchestration.ingest.mapping import EVENT_TYPES, RESULTS, TIMESTAMP_FIELDS, ClientMapping, DatasetSpec, Source, load_vocabulary
from orchestration.ingest.readers import RawFile, bool_array, int64_array, read_file
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


def parse_file(path: Path, spec: DatasetSpec, mapping: ClientMapping, *, relative_path: str) -> ParsedFile:
    """Read `path` as `spec.dataset` per the client's mapping; FileRejected when the file as a
    whole cannot be used."""
    rel = relative_path
    used = spec.used_columns()
    types, timestamp_format = _type_hints(spec)
    timestamp_columns = set(spec.timestamp.columns) | {c for n, s in spec.columns.items() if n in TIMESTAMP_FIELDS
                                                       for c in s.columns}
    raw = read_file(path, spec, relative_path=rel, wanted=set(used), types=types, timestamp_format=timestamp_format,
                    timestamp_columns=timestamp_columns)
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

    rows = _Rows(raw, rel, mapping.company_id)
    table = BUILDERS[spec.dataset](rows, spec, mapping)
    rejections = raw.rejections + rows.rejections
    if table.num_rows == 0 and rejections:
        reason, count = Counter(r.reason for r in rejections).most_common(1)[0]
        example = next(r for r in rejections if r.reason == reason)
        raise FileRejected(reason, f"{rel}: no row can be used: all {raw.rows_read} data row(s) rejected, "
                           f"{count} for {reason}; e.g. {example.message}", rel, row=example.row, column=example.column)
    rejections.sort(key=lambda r: (r.row or 0, r.column or ""))
    return ParsedFile(table, rejections, unmapped, missing, raw.encoding, raw.rows_read, raw.header,
                      [name for name in used if name in present])


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
        if spec.layout == "long":
            required += [c for c in (spec.tag_column, spec.value_column, spec.unit_column) if c]
        else:
            optional += list(spec.sensors)
    else:
        from orchestration.ingest.mapping import REQUIRED_FIELDS

        for name, source in spec.columns.items():
            (required if name in REQUIRED_FIELDS[spec.dataset] else optional).extend(source.columns)
    return list(dict.fromkeys(required)), [c for c in dict.fromkeys(optional) if c not in required]


class _Rows:
    """The rows of one file and the rejections found so far (first problem per row wins)."""

    def __init__(self, raw: RawFile, rel: str, company_id: str):
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
                   required: bool = True) -> pa.Array:
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
        return utc

    def numbers(self, name: str, *, required: bool, missing_reason: str = "missing_value") -> pa.Array:
        if name not in self.present:
            return pa.nulls(self.n, pa.float64())
        values = self.column(name)
        numbers, bad = parse_numbers(values)
        if required:
            self.reject(pc.is_null(values), missing_reason, name, lambda idx: [f"{name} is empty"] * len(idx))
        self.reject(bad, "non_numeric_value", name, lambda idx: [
            f"{name} {v!r} is not a number" for v in values.take(int64_array(idx)).to_pylist()])
        return numbers

    def output(self, dataset: str, columns: dict[str, pa.Array]) -> pa.Table:
        schema = CONTENT_SCHEMAS[dataset]
        columns = {"company_id": constant(self.company_id, self.n), **columns, "_source_row": self.source_rows}
        table = pa.Table.from_arrays([columns[f.name].cast(f.type) if f.name in columns else pa.nulls(self.n, f.type)
                                      for f in schema], schema=schema)
        if self.bad.any():
            table = table.filter(bool_array(~self.bad))
        return table


def constant(value, n: int) -> pa.Array:
    return pa.nulls(n, pa.string()).fill_null(str(value))


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
    return mapped


# ---------------------------------------------------------------- per dataset


def build_sensor_readings(rows: _Rows, spec: DatasetSpec, mapping: ClientMapping) -> pa.Table:
    reading_ts = rows.timestamps(spec.timestamp.columns, spec, mapping)
    equipment = rows.source(spec.equipment)
    line = rows.source(spec.line)
    equipment_label = spec.equipment.columns[0] if spec.equipment.columns else None
    rows.reject(pc.is_null(equipment), "missing_equipment", equipment_label,
                lambda idx: [f"{equipment_label} is empty"] * len(idx))
    if spec.layout == "long":
        return _long_readings(rows, spec, mapping, reading_ts, equipment, line)
    return _wide_readings(rows, spec, reading_ts, equipment, line)


def _long_readings(rows, spec, mapping, reading_ts, equipment, line) -> pa.Table:
    source_tag = rows.column(spec.tag_column)
    index = pc.index_in(source_tag, value_set=pa.array(list(spec.tags), pa.string()))
    if pc.any(pc.and_(pc.is_null(index), pc.is_valid(source_tag))).as_py():  # "T-03 " matches "T-03"
        index = pc.coalesce(index, pc.index_in(pc.utf8_trim_whitespace(source_tag),
                                               value_set=pa.array(list(spec.tags), pa.string())))
    tag = pc.take(pa.array([t.tag for t in spec.tags.values()], pa.string()), index)
    rows.reject(pc.is_null(tag), "unknown_tag", spec.tag_column, lambda idx: [
        f"{spec.tag_column} {v!r} is not among the mapping's tags ({', '.join(spec.tags)})"
        for v in source_tag.take(int64_array(idx)).to_pylist()])
    value = rows.numbers(spec.value_column, required=True)
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
        "unit": unit, "reading_ts": reading_ts})


def _wide_readings(rows, spec, reading_ts, equipment, line) -> pa.Table:
    parts = []
    for name, tag_unit in spec.sensors.items():
        if name not in rows.present:
            continue
        values = rows.column(name)
        numbers, bad = parse_numbers(values)
        bad = as_numpy(bad)
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
        selector = bool_array(keep)
        count = int(keep.sum())
        parts.append(pa.table({
            "line_id": line.filter(selector), "equipment_id": equipment.filter(selector),
            "source_tag": constant(name, count), "tag": constant(tag_unit.tag, count),
            "value": numbers.filter(selector), "unit": constant(tag_unit.unit, count),
            "reading_ts": reading_ts.filter(selector), "_source_row": rows.source_rows.filter(selector)}))
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
    lot_id = rows.source(cols["lot_id"])
    rows.reject(pc.is_null(lot_id), "missing_lot_id", cols["lot_id"].columns[0],
                lambda idx: ["the lot id is empty"] * len(idx))
    start = rows.timestamps(cols["start"].columns, spec, mapping)
    end = rows.timestamps(cols["end"].columns, spec, mapping, required=False) if "end" in cols else \
        pa.nulls(rows.n, pa.timestamp("us", tz="UTC"))
    if "end" in cols:
        label = " + ".join(cols["end"].columns)
        rows.reject(pc.less(end, start), "end_before_start", label, lambda idx: [
            f"lot ends at {e} before it starts at {s}" for s, e in
            zip(start.take(int64_array(idx)).to_pylist(), end.take(int64_array(idx)).to_pylist())])
    quantity = rows.numbers(cols["quantity"].columns[0], required=True)
    defects = rows.numbers(cols["defect_quantity"].columns[0], required=False) if "defect_quantity" in cols else \
        pa.nulls(rows.n, pa.float64())
    for name, values in (("quantity", quantity), ("defect_quantity", defects)):
        if name in cols:
            column = cols[name].columns[0]
            rows.reject(pc.less(values, ZERO), "negative_quantity", column, lambda idx, v=values, c=column: [
                f"{c} {x} is negative" for x in v.take(int64_array(idx)).to_pylist()])
    if "defect_quantity" in cols:
        column = cols["defect_quantity"].columns[0]
        rows.reject(pc.greater(defects, quantity), "defects_exceed_quantity", column, lambda idx: [
            f"{d} defective of {q} produced" for d, q in
            zip(defects.take(int64_array(idx)).to_pylist(), quantity.take(int64_array(idx)).to_pylist())])
    return rows.output("production_lots", {
        "line_id": rows.source(spec.line), "equipment_id": rows.source(spec.equipment), "lot_id": lot_id,
        "product_code": rows.source(cols.get("product_code")), "start_ts": start, "end_ts": end,
        "quantity": quantity, "defect_quantity": defects})


def build_quality_inspections(rows: _Rows, spec: DatasetSpec, mapping: ClientMapping) -> pa.Table:
    cols = spec.columns
    lot_id = rows.source(cols["lot_id"])
    rows.reject(pc.is_null(lot_id), "missing_lot_id", cols["lot_id"].columns[0],
                lambda idx: ["the lot id is empty"] * len(idx))
    inspected = rows.timestamps(cols["inspected_at"].columns, spec, mapping)
    numbers = {name: rows.numbers(cols[name].columns[0], required=False) if name in cols and cols[name].columns
               else pa.nulls(rows.n, pa.float64()) for name in ("measured_value", "lower_spec", "upper_spec")}
    result = pa.nulls(rows.n, pa.string())
    if "result" in cols:
        sent = rows.source(cols["result"])
        result = _lookup(sent, {**{r: r for r in RESULTS}, **spec.result_values})
        column = cols["result"].columns[0] if cols["result"].columns else None
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
    event_type = _lookup(sent, {**{e: e for e in EVENT_TYPES}, **spec.event_values})
    column = cols["event_type"].columns[0] if cols["event_type"].columns else None
    rows.reject(pc.is_null(event_type), "unknown_event_type", column, lambda idx: [
        f"event type {v!r} is not in event_values ({', '.join(spec.event_values) or 'run, stop, alarm'})"
        for v in sent.take(int64_array(idx)).to_pylist()])
    return rows.output("equipment_events", {
        "line_id": rows.source(spec.line), "equipment_id": equipment, "event_ts": event_ts,
        "event_type": event_type, "event_code": rows.source(cols.get("code")),
        "message": rows.source(cols.get("message"))})


BUILDERS = {
    "sensor_readings": build_sensor_readings,
    "production_lots": build_production_lots,
    "quality_inspections": build_quality_inspections,
    "equipment_events": build_equipment_events,
}
