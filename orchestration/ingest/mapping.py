"""Client source mappings (`clients/mappings/<company_id>.yaml`): load and check them.

The contract is `clients/README.md`. A mapping is checked completely when it is loaded, against
the reference seeds (tags, units), so a typo fails here, naming the file and the key, and never
half-way through an ingest.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from orchestration import settings
from orchestration.ingest.bronze_schemas import DATASETS

DEFAULT_TIMEZONE = "Asia/Seoul"
FORMATS = ("csv", "xlsx")
ENCODINGS = ("utf-8", "utf-8-sig", "cp949", "auto")
ENCODING_ALIASES = {"utf8": "utf-8", "utf_8": "utf-8", "utf-8-bom": "utf-8-sig", "euc-kr": "cp949",
                    "euc_kr": "cp949", "ms949": "cp949", "uhc": "cp949"}
LAYOUTS = ("wide", "long")
RESULTS = ("pass", "fail")
EVENT_TYPES = ("run", "stop", "alarm")

# Per dataset: the standard fields of `columns:` a file must have, and those it may have.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "sensor_readings": (),
    "production_lots": ("lot_id", "start", "quantity"),
    "quality_inspections": ("lot_id", "inspected_at"),
    "equipment_events": ("event_time", "event_type"),
}
OPTIONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "sensor_readings": (),
    "production_lots": ("product_code", "end", "defect_quantity"),
    "quality_inspections": ("characteristic", "measured_value", "lower_spec", "upper_spec", "unit", "result",
                            "defect_type"),
    "equipment_events": ("code", "message"),
}
TIMESTAMP_FIELDS = {"start", "end", "inspected_at", "event_time"}
NUMERIC_FIELDS = {"quantity", "defect_quantity", "measured_value", "lower_spec", "upper_spec"}

DATASET_KEYS = {"dataset", "files", "format", "encoding", "delimiter", "header_row", "sheet", "timestamp",
                "line", "equipment", "layout", "sensors", "tag_column", "value_column", "unit_column", "tags",
                "columns", "result_values", "event_values", "description"}
TOP_KEYS = {"company_id", "timezone", "datasets", "description", "name_ko", "notes"}


class MappingError(ValueError):
    """A client mapping that cannot be used; the message names the file and the key at fault."""


@dataclass(frozen=True)
class Source:
    """Where one standard field comes from: source column(s) of the file, or a constant."""

    columns: tuple[str, ...] = ()  # one column, or several joined with a space (date + time)
    value: str | None = None

    @property
    def is_constant(self) -> bool:
        return not self.columns


@dataclass(frozen=True)
class TagUnit:
    tag: str
    unit: str


@dataclass(frozen=True)
class TimestampSpec:
    columns: tuple[str, ...]  # sensor_readings: the reading time; empty for the other datasets
    format: str
    timezone: str
    locale: str | None = None


@dataclass(frozen=True)
class DatasetSpec:
    dataset: str
    files: str
    format: str = "csv"
    encoding: str = "utf-8"
    delimiter: str = ","
    header_row: int = 1
    sheet: str | None = None
    timestamp: TimestampSpec | None = None
    line: Source | None = None
    equipment: Source | None = None
    layout: str | None = None  # sensor_readings only: wide | long
    sensors: Mapping[str, TagUnit] = field(default_factory=dict)  # wide: source column -> tag, unit
    tag_column: str | None = None  # long
    value_column: str | None = None
    unit_column: str | None = None
    tags: Mapping[str, TagUnit] = field(default_factory=dict)  # long: source tag -> tag, unit
    columns: Mapping[str, Source] = field(default_factory=dict)  # standard field -> source
    result_values: Mapping[str, str] = field(default_factory=dict)
    event_values: Mapping[str, str] = field(default_factory=dict)
    pattern: re.Pattern = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.pattern is None:
            object.__setattr__(self, "pattern", glob_to_regex(self.files))

    def matches(self, relative_path: str) -> bool:
        return bool(self.pattern.fullmatch(relative_path))

    def used_columns(self) -> list[str]:
        """Every source column this dataset reads (in a stable order)."""
        used: list[str] = []
        if self.timestamp is not None:
            used += self.timestamp.columns
        for source in (self.line, self.equipment, *self.columns.values()):
            if source is not None:
                used += source.columns
        used += list(self.sensors)
        used += [c for c in (self.tag_column, self.value_column, self.unit_column) if c]
        return list(dict.fromkeys(used))


@dataclass(frozen=True)
class Vocabulary:
    """The reference seeds a mapping is checked against."""

    tag_quantity: Mapping[str, str]  # tag code -> quantity
    unit_quantity: Mapping[str, str]  # unit code -> quantity


@dataclass(frozen=True)
class ClientMapping:
    company_id: str
    timezone: str
    datasets: tuple[DatasetSpec, ...]
    source: Path
    vocabulary: Vocabulary | None = field(default=None, repr=False, compare=False)

    def dataset_for(self, relative_path_within_company: str) -> DatasetSpec | None:
        """The first dataset whose glob matches the path (relative to the company folder)."""
        path = relative_path_within_company.replace("\\", "/").lstrip("/")
        return next((spec for spec in self.datasets if spec.matches(path)), None)


@lru_cache(maxsize=8)
def load_vocabulary(seeds_dir: Path = settings.SEEDS_DIR) -> Vocabulary:
    def read(name: str, key: str) -> dict[str, str]:
        with open(Path(seeds_dir) / name, encoding="utf-8", newline="") as handle:
            return {row[key]: row["quantity"] for row in csv.DictReader(handle)}

    return Vocabulary(MappingProxyType(read("tag_dictionary.csv", "tag_code")),
                      MappingProxyType(read("unit_conversions.csv", "unit")))


def glob_to_regex(pattern: str) -> re.Pattern:
    """A path glob as a regex: `*` and `?` stay within one folder, `**/` spans folders; case-insensitive
    (exports come from Windows PCs: `DATA.CSV` is `data.csv`)."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.IGNORECASE)


class _Checker:
    """Collects the path of the key being checked, so every error names it."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, problem: str):
        raise MappingError(f"{self.path}: {key}: {problem}")

    def text(self, key: str, value: Any, *, allow_none: bool = False) -> str | None:
        if value is None and allow_none:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or str(value).strip() == "":
            self.fail(key, f"expected a non-empty text, got {value!r}")
        return str(value).strip()

    def mapping(self, key: str, value: Any) -> dict:
        if not isinstance(value, dict):
            self.fail(key, f"expected a mapping (key: value), got {type(value).__name__}")
        return value

    def timezone(self, key: str, value: Any) -> str:
        name = self.text(key, value)
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(key, f"unknown time zone {name!r} (use an IANA name such as Asia/Seoul)")
        return name

    def source(self, key: str, value: Any) -> Source:
        """`column`, `[date_col, time_col]`, `{column: x}`, `{columns: [..]}` or `{value: x}`."""
        if isinstance(value, dict):
            unknown = set(value) - {"column", "columns", "value"}
            if unknown or len(value) != 1:
                self.fail(key, f"expected {{column: <name>}} or {{value: <constant>}}, got {value!r}")
            (kind, inner), = value.items()
            if kind == "value":
                return Source(value=self.text(f"{key}.value", inner))
            return self.source(f"{key}.{kind}", inner)
        if isinstance(value, list):
            if not value:
                self.fail(key, "empty list of columns")
            return Source(columns=tuple(self.text(f"{key}[{i}]", v) for i, v in enumerate(value)))
        return Source(columns=(self.text(key, value),))

    def tag_unit(self, key: str, value: Any, vocabulary: Vocabulary) -> TagUnit:
        value = self.mapping(key, value)
        unknown = set(value) - {"tag", "unit"}
        if unknown:
            self.fail(key, f"unknown key(s) {sorted(unknown)}; expected tag and unit")
        tag = self.text(f"{key}.tag", value.get("tag"))
        unit = self.text(f"{key}.unit", value.get("unit"))
        if tag not in vocabulary.tag_quantity:
            self.fail(f"{key}.tag", f"unknown tag {tag!r}; tags are the codes of seeds/tag_dictionary.csv "
                      f"({', '.join(sorted(vocabulary.tag_quantity))})")
        if unit not in vocabulary.unit_quantity:
            self.fail(f"{key}.unit", f"unknown unit {unit!r}; units are the codes of seeds/unit_conversions.csv")
        if vocabulary.unit_quantity[unit] != vocabulary.tag_quantity[tag]:
            self.fail(f"{key}.unit", f"unit {unit!r} measures {vocabulary.unit_quantity[unit]}, but tag {tag!r} "
                      f"is a {vocabulary.tag_quantity[tag]}")
        return TagUnit(tag, unit)


def load_mapping(path: Path, *, seeds_dir: Path | None = None) -> ClientMapping:
    """Read and check one client mapping; raises MappingError naming the file and key at fault."""
    path = Path(path)
    check = _Checker(path)
    vocabulary = load_vocabulary(Path(seeds_dir) if seeds_dir else settings.SEEDS_DIR)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"{path}: no such mapping file") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise MappingError(f"{path}: not valid UTF-8 YAML: {error}") from None
    raw = check.mapping("(top level)", raw)
    unknown = set(raw) - TOP_KEYS
    if unknown:
        check.fail(", ".join(sorted(unknown)), f"unknown top-level key(s); expected {sorted(TOP_KEYS)}")
    company_id = check.text("company_id", raw.get("company_id"))
    if company_id != path.stem:
        check.fail("company_id", f"{company_id!r} does not match the file name (expected {path.stem!r})")
    timezone = check.timezone("timezone", raw.get("timezone", DEFAULT_TIMEZONE))
    datasets = raw.get("datasets")
    if not isinstance(datasets, list) or not datasets:
        check.fail("datasets", "expected a non-empty list of dataset entries")
    specs = tuple(_dataset_spec(check, f"datasets[{i}]", entry, timezone, vocabulary)
                  for i, entry in enumerate(datasets))
    return ClientMapping(company_id, timezone, specs, path, vocabulary)


def _dataset_spec(check: _Checker, key: str, entry: Any, default_tz: str, vocabulary: Vocabulary) -> DatasetSpec:
    entry = check.mapping(key, entry)
    unknown = set(entry) - DATASET_KEYS
    if unknown:
        check.fail(f"{key}.{sorted(unknown)[0]}", f"unknown key; expected one of {sorted(DATASET_KEYS)}")
    dataset = check.text(f"{key}.dataset", entry.get("dataset"))
    if dataset not in DATASETS:
        check.fail(f"{key}.dataset", f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
    key = f"{key} ({dataset})"
    files = check.text(f"{key}.files", entry.get("files"))
    if files.startswith("/") or ".." in files.split("/"):
        check.fail(f"{key}.files", f"glob {files!r} must be relative to the company folder")
    fmt = check.text(f"{key}.format", entry.get("format") or ("xlsx" if files.lower().endswith((".xlsx", ".xlsm")) else "csv")).lower()
    if fmt not in FORMATS:
        check.fail(f"{key}.format", f"unknown format {fmt!r}; expected csv or xlsx")
    encoding = check.text(f"{key}.encoding", entry.get("encoding", "utf-8")).lower()
    encoding = ENCODING_ALIASES.get(encoding, encoding)
    if encoding not in ENCODINGS:
        check.fail(f"{key}.encoding", f"unknown encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}")
    delimiter = entry.get("delimiter", ",")
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"":
        check.fail(f"{key}.delimiter", f"expected one character, got {delimiter!r}")
    header_row = entry.get("header_row", 1)
    if isinstance(header_row, bool) or not isinstance(header_row, int) or header_row < 1:
        check.fail(f"{key}.header_row", f"expected a 1-based row number, got {header_row!r}")
    sheet = check.text(f"{key}.sheet", entry.get("sheet"), allow_none=True)
    if sheet is not None and fmt != "xlsx":
        check.fail(f"{key}.sheet", "only xlsx files have sheets")

    ts_raw = check.mapping(f"{key}.timestamp", entry.get("timestamp"))
    unknown = set(ts_raw) - {"columns", "column", "format", "timezone", "locale"}
    if unknown:
        check.fail(f"{key}.timestamp.{sorted(unknown)[0]}", "unknown key; expected columns, format, timezone, locale")
    ts_columns: tuple[str, ...] = ()
    if "columns" in ts_raw or "column" in ts_raw:
        ts_columns = check.source(f"{key}.timestamp.columns", ts_raw.get("columns", ts_raw.get("column"))).columns
        if not ts_columns or len(ts_columns) > 2:
            check.fail(f"{key}.timestamp.columns", "expected one column, or a date column and a time column")
    ts_format = check.text(f"{key}.timestamp.format", ts_raw.get("format"))
    if "%" not in ts_format:
        check.fail(f"{key}.timestamp.format", f"{ts_format!r} is not a strptime format (e.g. %Y-%m-%d %H:%M:%S)")
    locale = check.text(f"{key}.timestamp.locale", ts_raw.get("locale"), allow_none=True)
    if locale not in (None, "ko", "en"):
        check.fail(f"{key}.timestamp.locale", f"expected ko or en, got {locale!r}")
    timestamp = TimestampSpec(ts_columns, ts_format,
                              check.timezone(f"{key}.timestamp.timezone", ts_raw.get("timezone", default_tz)), locale)

    line = check.source(f"{key}.line", entry["line"]) if entry.get("line") is not None else None
    equipment = check.source(f"{key}.equipment", entry["equipment"]) if entry.get("equipment") is not None else None

    spec: dict[str, Any] = dict(dataset=dataset, files=files, format=fmt, encoding=encoding, delimiter=delimiter,
                                header_row=header_row, sheet=sheet, timestamp=timestamp, line=line,
                                equipment=equipment, pattern=glob_to_regex(files))
    sensor_keys = {"layout", "sensors", "tag_column", "value_column", "unit_column", "tags"}
    if dataset == "sensor_readings":
        if not ts_columns:
            check.fail(f"{key}.timestamp.columns", "required for sensor_readings")
        if equipment is None:
            check.fail(f"{key}.equipment", "required for sensor_readings ({column: ...} or {value: ...})")
        if entry.get("columns"):
            check.fail(f"{key}.columns", "sensor_readings use sensors (wide) or tag_column/value_column (long)")
        layout = check.text(f"{key}.layout", entry.get("layout"))
        if layout not in LAYOUTS:
            check.fail(f"{key}.layout", f"expected wide or long, got {layout!r}")
        spec["layout"] = layout
        if layout == "wide":
            for extra in ("tag_column", "value_column", "unit_column", "tags"):
                if entry.get(extra) is not None:
                    check.fail(f"{key}.{extra}", "only for layout: long")
            sensors = check.mapping(f"{key}.sensors", entry.get("sensors"))
            if not sensors:
                check.fail(f"{key}.sensors", "a wide layout needs at least one sensor column")
            spec["sensors"] = MappingProxyType({
                str(col).strip(): check.tag_unit(f"{key}.sensors.{col}", tu, vocabulary) for col, tu in sensors.items()})
        else:
            if entry.get("sensors") is not None:
                check.fail(f"{key}.sensors", "only for layout: wide (long uses tag_column/value_column/tags)")
            spec["tag_column"] = check.text(f"{key}.tag_column", entry.get("tag_column"))
            spec["value_column"] = check.text(f"{key}.value_column", entry.get("value_column"))
            spec["unit_column"] = check.text(f"{key}.unit_column", entry.get("unit_column"), allow_none=True)
            tags = check.mapping(f"{key}.tags", entry.get("tags"))
            if not tags:
                check.fail(f"{key}.tags", "a long layout needs the list of source tags")
            spec["tags"] = MappingProxyType({
                str(src).strip(): check.tag_unit(f"{key}.tags.{src}", tu, vocabulary) for src, tu in tags.items()})
    else:
        for extra in sensor_keys:
            if entry.get(extra) is not None:
                check.fail(f"{key}.{extra}", "only for sensor_readings")
        if ts_columns:
            check.fail(f"{key}.timestamp.columns", f"{dataset} takes its timestamps from `columns` "
                       f"({', '.join(sorted(TIMESTAMP_FIELDS & set(REQUIRED_FIELDS[dataset] + OPTIONAL_FIELDS[dataset])))})")
        columns = check.mapping(f"{key}.columns", entry.get("columns"))
        allowed = REQUIRED_FIELDS[dataset] + OPTIONAL_FIELDS[dataset]
        for name in columns:
            if name not in allowed:
                check.fail(f"{key}.columns.{name}", f"not a field of {dataset}; expected {', '.join(allowed)}")
        for name in REQUIRED_FIELDS[dataset]:
            if columns.get(name) is None:
                check.fail(f"{key}.columns.{name}", f"required for {dataset}")
        sources = {name: check.source(f"{key}.columns.{name}", value) for name, value in columns.items()
                   if value is not None}
        for name, source in sources.items():
            if source.is_constant and name in TIMESTAMP_FIELDS | NUMERIC_FIELDS | {"lot_id"}:
                check.fail(f"{key}.columns.{name}", "must come from a column of the file, not a constant")
            if len(source.columns) > 2 or (len(source.columns) == 2 and name not in TIMESTAMP_FIELDS):
                check.fail(f"{key}.columns.{name}", "only timestamps may join two columns (date + time)")
        spec["columns"] = MappingProxyType(sources)
        if dataset == "equipment_events" and equipment is None:
            check.fail(f"{key}.equipment", "required for equipment_events ({column: ...} or {value: ...})")
        if dataset == "quality_inspections":
            spec["result_values"] = _value_map(check, f"{key}.result_values", entry.get("result_values"), RESULTS)
        elif entry.get("result_values") is not None:
            check.fail(f"{key}.result_values", "only for quality_inspections")
        if dataset == "equipment_events":
            spec["event_values"] = _value_map(check, f"{key}.event_values", entry.get("event_values"), EVENT_TYPES)
        elif entry.get("event_values") is not None:
            check.fail(f"{key}.event_values", "only for equipment_events")
    return DatasetSpec(**spec)


def _value_map(check: _Checker, key: str, raw: Any, allowed: tuple[str, ...]) -> Mapping[str, str]:
    if raw is None:
        return MappingProxyType({})
    raw = check.mapping(key, raw)
    out = {}
    for source, standard in raw.items():
        if isinstance(source, bool) or source is None:
            check.fail(f"{key}.{source}", "YAML read this key as true/false/null; put it in quotes")
        standard = check.text(f"{key}.{source}", standard)
        if standard not in allowed:
            check.fail(f"{key}.{source}", f"{standard!r} is not one of {', '.join(allowed)}")
        out[str(source).strip()] = standard
    return MappingProxyType(out)
