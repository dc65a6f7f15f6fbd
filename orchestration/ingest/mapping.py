"""Client source mappings (`clients/mappings/<company_id>.yaml`): load and check them.

The contract is `clients/README.md`. A mapping is checked completely when it is loaded, against
the reference seeds (tags, units), so a typo fails here, naming the file and the key, and never
half-way through an ingest.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path, PurePosixPath
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

# Units of counted or weighed production quantities (lots, work orders, shipments).
QUANTITY_UNITS = ("ea", "kg", "g", "t", "m", "mm", "m2", "L", "mL", "set", "box")

# Per dataset: the standard fields of `columns:` a file must have, and those it may have.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "sensor_readings": (),
    "production_lots": ("lot_id", "start", "quantity"),
    "quality_inspections": ("lot_id", "inspected_at"),
    "equipment_events": ("event_time", "event_type"),
    "work_orders": ("order_id",),
    "shipments": ("order_id",),
}
OPTIONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "sensor_readings": (),
    "production_lots": ("product_code", "end", "defect_quantity"),
    "quality_inspections": ("characteristic", "measured_value", "lower_spec", "upper_spec", "unit", "result",
                            "defect_type"),
    "equipment_events": ("code", "message"),
    "work_orders": ("product_code", "ordered_at", "due_at", "quantity"),
    "shipments": (),
}
TIMESTAMP_FIELDS = {"start", "end", "inspected_at", "event_time", "ordered_at", "due_at", "shipped_at"}
NUMERIC_FIELDS = {"quantity", "defect_quantity", "measured_value", "lower_spec", "upper_spec"}
# Timestamps that may lie in the future (a due date); all others must be before landing time + a day.
FUTURE_FIELDS = {"due_at"}
DEFAULT_NOT_BEFORE = dt.date(2000, 1, 1)
DEFAULT_DAYS_AHEAD = 1.0

DATASET_KEYS = {"dataset", "name", "files", "format", "encoding", "delimiter", "header_row", "sheet", "timestamp",
                "line", "equipment", "layout", "sensors", "tag_column", "value_column", "unit_column", "tags",
                "columns", "result_values", "event_values", "description", "sequence", "lot", "missing_values",
                "quantity_unit", "shipments", "completion_marker"}
TOP_KEYS = {"company_id", "timezone", "datasets", "description", "name_ko", "notes", "completion_marker",
            "plausible_ranges"}
MARKER_PLACEHOLDERS = ("{name}", "{stem}")


class MappingError(ValueError):
    """A client mapping that cannot be used; the message names the file and the key at fault."""


@dataclass(frozen=True)
class Source:
    """Where one standard field comes from: source column(s) of the file, or a constant."""

    columns: tuple[str, ...] = ()  # one column, or several joined with a space (date + time)
    value: str | None = None
    scale: float = 1.0  # numeric fields: value landed = value sent x scale + offset (a quantity sent in g, landed in kg)
    offset: float = 0.0

    @property
    def is_constant(self) -> bool:
        return not self.columns


@dataclass(frozen=True)
class TagUnit:
    tag: str
    unit: str
    scale: float = 1.0  # value landed = value sent x scale + offset (a PLC writing 25.3 as 253: scale 0.1)
    offset: float = 0.0
    missing: tuple[float, ...] = ()  # sentinels of this sensor meaning "no reading" (besides missing_values)


@dataclass(frozen=True)
class RelativeTime:
    """Files without a clock: time = start + sample number x interval."""

    interval_seconds: float
    start: str | None = None  # local wall clock in the timestamp format, or...
    start_from_file_name: re.Pattern | None = None  # ...a regex whose first group in the file name is the start
    counter: str | None = None  # a column numbering the samples; else the order of the data rows


@dataclass(frozen=True)
class TimestampSpec:
    columns: tuple[str, ...]  # sensor_readings: the reading time; empty for the other datasets
    format: str
    timezone: str
    locale: str | None = None
    relative: RelativeTime | None = None  # sensor_readings without a timestamp column
    not_before: dt.date = DEFAULT_NOT_BEFORE  # plausible window: earlier times are rejected...
    days_ahead: float = DEFAULT_DAYS_AHEAD  # ...and so are times after landing time + this many days


@dataclass(frozen=True)
class ShipmentColumns:
    """Wide MES exports: the n-th shipment's quantity and date columns, for n = 1..count."""

    count: int
    quantity: tuple[str, ...]
    shipped_at: tuple[str, ...]
    scale: float = 1.0  # of every shipment quantity: landed = sent x scale + offset
    offset: float = 0.0


@dataclass(frozen=True)
class DatasetSpec:
    dataset: str
    files: str
    name: str = ""  # the entry's name (`name:`), unique in the mapping; lineage column _dataset_entry
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
    sequence: Source | None = None  # sensor_readings: the shot/cycle/sample id column
    lot: Source | None = None  # sensor_readings: the lot/batch/shot the reading belongs to
    missing_values: tuple[float, ...] = ()  # numeric sentinels meaning "no value" (e.g. -1, 9999)
    quantity_unit: str = "ea"  # production_lots, work_orders, shipments
    shipments: ShipmentColumns | None = None
    completion_marker: str | None = None  # e.g. "{name}.done": a file is taken once this file exists beside it
    pattern: re.Pattern = field(default=None, repr=False, compare=False)
    marker_pattern: re.Pattern | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.pattern is None:
            object.__setattr__(self, "pattern", glob_to_regex(self.files))
        if self.completion_marker and self.marker_pattern is None:
            folder, _, name = self.files.rpartition("/")
            object.__setattr__(self, "marker_pattern", glob_to_regex(
                _marker_path(folder, name, PurePosixPath(name).stem, self.completion_marker)))
        if not self.name:
            object.__setattr__(self, "name", self.dataset)

    def matches(self, relative_path: str) -> bool:
        return bool(self.pattern.fullmatch(relative_path))

    def marker_for(self, relative_path: str) -> str | None:
        """The completion marker the client drops when this data file is complete (path relative
        to the company folder), or None when the entry takes files once they have settled."""
        if not self.completion_marker:
            return None
        folder, _, name = relative_path.rpartition("/")
        return _marker_path(folder, name, PurePosixPath(name).stem, self.completion_marker)

    def is_marker(self, relative_path: str) -> bool:
        """Whether the path is shaped like one of this entry's completion markers (never data)."""
        return self.marker_pattern is not None and bool(self.marker_pattern.fullmatch(relative_path))

    def used_columns(self) -> list[str]:
        """Every source column this dataset reads (in a stable order)."""
        used: list[str] = []
        if self.timestamp is not None:
            used += self.timestamp.columns
        for source in (self.line, self.equipment, *self.columns.values()):
            if source is not None:
                used += source.columns
        for source in (self.sequence, self.lot):
            if source is not None:
                used += source.columns
        if self.timestamp is not None and self.timestamp.relative is not None and self.timestamp.relative.counter:
            used.append(self.timestamp.relative.counter)
        used += list(self.sensors)
        used += [c for c in (self.tag_column, self.value_column, self.unit_column) if c]
        if self.shipments is not None:
            used += [c for pair in zip(self.shipments.quantity, self.shipments.shipped_at) for c in pair]
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
    version: str = ""  # first 16 hex of the sha256 of the mapping file's bytes
    # plausible range overrides in SI units: tag code -> (min, max) for the whole client, and
    # "EQUIPMENT:TAG" -> (min, max) for one machine (a press rated above the dictionary's range)
    plausible_ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def plausible_range(self, tag: str, equipment: str | None = None) -> tuple[float, float] | None:
        """The client's own plausible range of a tag, on one equipment if it has one there."""
        return self.plausible_ranges.get(f"{equipment}:{tag}") or self.plausible_ranges.get(tag)

    def datasets_for(self, relative_path_within_company: str) -> list[DatasetSpec]:
        """Every dataset entry whose glob matches the path (relative to the company folder): one
        per-shot export can feed sensor readings, inspections, events and lots at once."""
        path = relative_path_within_company.replace("\\", "/").lstrip("/")
        return [spec for spec in self.datasets if spec.matches(path)]

    def completion_markers_for(self, relative_path_within_company: str) -> tuple[str, ...]:
        """The completion markers a data file waits for (those its entries name; usually one)."""
        path = relative_path_within_company.replace("\\", "/").lstrip("/")
        return tuple(dict.fromkeys(m for spec in self.datasets_for(path) if (m := spec.marker_for(path))))

    def is_completion_marker(self, relative_path_within_company: str) -> bool:
        """A marker file of some entry: a signal, never ingested, never rejected (markers take
        precedence over data globs, so `files: "*"` with `{name}.done` does not read `x.csv.done`)."""
        path = relative_path_within_company.replace("\\", "/").lstrip("/")
        return any(spec.is_marker(path) for spec in self.datasets)

    def dataset_for(self, relative_path_within_company: str) -> DatasetSpec | None:
        """The first dataset entry whose glob matches the path."""
        return next(iter(self.datasets_for(relative_path_within_company)), None)


def _marker_path(folder: str, name: str, stem: str, pattern: str) -> str:
    marker = pattern.replace("{name}", name).replace("{stem}", stem)
    return f"{folder}/{marker}" if folder else marker


def load_mappings(mapping_files: Mapping[str, Path]) -> dict[str, ClientMapping]:
    """The mappings that load among `mapping_files` (company -> file). A faulty one is left out
    here: that company's own ingest run reports it (the landing scan then applies no markers)."""
    loaded = {}
    for company, path in mapping_files.items():
        try:
            loaded[company] = load_mapping(path)
        except (MappingError, OSError):
            continue
    return loaded


def mapping_version(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:16]


def header_key(name: str) -> str:
    """A header as compared with the mapping: NFKC (℃ is °C, full-width ＡＢ is AB), spaces
    removed, case folded. Exports differ from the mapping in exactly these ways."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).casefold()


def canonical_header(header: list[str], mapped: set[str] | None) -> list[str]:
    """The file's header with each name that differs from a mapped column only by Unicode variant,
    spacing or case replaced by the mapped name (exact names always win)."""
    if not mapped:
        return header
    exact = set(header)
    by_key = {header_key(m): m for m in mapped if m not in exact}
    if not by_key:
        return header
    out = []
    for name in header:
        target = by_key.get(header_key(name)) if name not in mapped else None
        out.append(target if target is not None and target not in out else name)
    return out


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

    def source(self, key: str, value: Any, *, numeric: bool = False) -> Source:
        """`column`, `[date_col, time_col]`, `{column: x}`, `{columns: [..]}` or `{value: x}`; a
        `numeric` field's column may carry `scale` and `offset` (`{column: x, scale: 0.001}`)."""
        if isinstance(value, dict):
            primary = set(value) & {"column", "columns", "value"}
            scaling = set(value) & {"scale", "offset"}
            unknown = set(value) - primary - scaling
            if unknown or len(primary) != 1:
                self.fail(key, f"expected {{column: <name>}} or {{value: <constant>}}, got {value!r}")
            if scaling and not numeric:
                self.fail(f"{key}.{sorted(scaling)[0]}", "scale and offset are for numeric fields only "
                          f"({', '.join(sorted(NUMERIC_FIELDS))})")
            kind = primary.pop()
            if kind == "value":
                if scaling:
                    self.fail(f"{key}.{sorted(scaling)[0]}", "a constant takes no scale or offset; write the value")
                return Source(value=self.text(f"{key}.value", value[kind]))
            scale, offset = self.scale_and_offset(key, value)
            return replace(self.source(f"{key}.{kind}", value[kind]), scale=scale, offset=offset)
        if isinstance(value, list):
            if not value:
                self.fail(key, "empty list of columns")
            return Source(columns=tuple(self.text(f"{key}[{i}]", v) for i, v in enumerate(value)))
        return Source(columns=(self.text(key, value),))

    def number(self, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, f"expected a number, got {value!r}")
        return float(value)

    def numbers(self, key: str, value: Any) -> tuple[float, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            value = [value]
        return tuple(self.number(f"{key}[{i}]", v) for i, v in enumerate(value))

    def scale_and_offset(self, key: str, value: dict) -> tuple[float, float]:
        scale = self.number(f"{key}.scale", value["scale"]) if value.get("scale") is not None else 1.0
        if scale == 0:
            self.fail(f"{key}.scale", "a scale of 0 would erase every value")
        offset = self.number(f"{key}.offset", value["offset"]) if value.get("offset") is not None else 0.0
        return scale, offset

    def tag_unit(self, key: str, value: Any, vocabulary: Vocabulary) -> TagUnit:
        value = self.mapping(key, value)
        unknown = set(value) - {"tag", "unit", "scale", "offset", "missing"}
        if unknown:
            self.fail(key, f"unknown key(s) {sorted(unknown)}; expected tag, unit and optionally scale, offset, missing")
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
        scale, offset = self.scale_and_offset(key, value)
        return TagUnit(tag, unit, scale, offset, self.numbers(f"{key}.missing", value.get("missing")))


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
    default_marker = _completion_marker(check, "completion_marker", raw.get("completion_marker"))
    kinds = [entry.get("dataset") if isinstance(entry, dict) else None for entry in datasets]
    specs, names = [], {}
    for i, entry in enumerate(datasets):
        spec = _dataset_spec(check, f"datasets[{i}]", entry, timezone, vocabulary, default_marker)
        # default names stay stable when entries are appended: the first of a dataset is `<dataset>`,
        # later ones `<dataset>#2`, `#3`... (the name is part of the exactly-once key: name entries
        # explicitly before reordering them)
        ordinal_ = kinds[:i + 1].count(spec.dataset)
        default = spec.dataset if ordinal_ == 1 else f"{spec.dataset}#{ordinal_}"
        name = check.text(f"datasets[{i}] ({spec.dataset}).name", entry.get("name", default))
        if name in names:
            check.fail(f"datasets[{i}] ({spec.dataset}).name", f"{name!r} is already the name of datasets[{names[name]}]; "
                       f"entry names must be unique")
        names[name] = i
        specs.append(DatasetSpec(**{**spec.__dict__, "name": name}))
    ranges = _plausible_ranges(check, raw.get("plausible_ranges"), vocabulary)
    return ClientMapping(company_id, timezone, tuple(specs), path, vocabulary, mapping_version(path.read_bytes()),
                         ranges)


def _plausible_ranges(check: _Checker, raw: Any, vocabulary: Vocabulary) -> dict[str, tuple[float, float]]:
    """`plausible_ranges: {PRES: [0, 250000], "DCM-01:TEMP": [0, 800]}`: per tag for the client, or
    per equipment and tag, in the tag's SI unit (the tag dictionary's unit)."""
    if raw is None:
        return {}
    raw = check.mapping("plausible_ranges", raw)
    ranges = {}
    for key, bounds in raw.items():
        where = f"plausible_ranges.{key}"
        tag = str(key).rsplit(":", 1)[-1]
        if tag not in vocabulary.tag_quantity:
            check.fail(where, f"unknown tag code {tag!r} (codes: dbt_project/seeds/tag_dictionary.csv)")
        values = check.numbers(where, bounds)
        if len(values) != 2 or not values[0] < values[1]:
            check.fail(where, f"expected [min, max] with min < max in the tag's SI unit, got {bounds!r}")
        ranges[str(key)] = (float(values[0]), float(values[1]))
    return ranges


def _completion_marker(check: _Checker, key: str, raw: Any) -> str | None:
    """`{name}.done`, `{stem}.ok`, `done/{name}`: a path relative to the data file's folder in which
    {name} is the data file's name and {stem} its name without the last suffix."""
    if raw is None:
        return None
    marker = check.text(key, raw)
    if not any(p in marker for p in MARKER_PLACEHOLDERS):
        check.fail(key, f"{marker!r} needs {{name}} or {{stem}} (the data file's name, or its name without the "
                   "suffix), e.g. \"{name}.done\"")
    leftover = re.sub(r"\{(name|stem)\}", "", marker)
    if "{" in leftover or "}" in leftover:
        check.fail(key, f"{marker!r}: only {{name}} and {{stem}} may be replaced")
    if marker.startswith("/") or ".." in marker.split("/") or "\\" in marker:
        check.fail(key, f"{marker!r} must be a path relative to the data file's folder, without '..'")
    if marker in MARKER_PLACEHOLDERS:
        check.fail(key, f"{marker!r} is the data file itself; a marker is another file, e.g. \"{{name}}.done\"")
    if any(ch in leftover for ch in "*?["):
        check.fail(key, f"{marker!r}: a marker names one file, not a glob")
    return marker


def _dataset_spec(check: _Checker, key: str, entry: Any, default_tz: str, vocabulary: Vocabulary,
                  default_marker: str | None = None) -> DatasetSpec:
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

    timestamp = _timestamp_spec(check, f"{key}.timestamp", entry.get("timestamp"), default_tz, dataset)
    ts_columns = timestamp.columns

    line = check.source(f"{key}.line", entry["line"]) if entry.get("line") is not None else None
    equipment = check.source(f"{key}.equipment", entry["equipment"]) if entry.get("equipment") is not None else None

    spec: dict[str, Any] = dict(dataset=dataset, files=files, format=fmt, encoding=encoding, delimiter=delimiter,
                                header_row=header_row, sheet=sheet, timestamp=timestamp, line=line,
                                equipment=equipment, pattern=glob_to_regex(files),
                                missing_values=check.numbers(f"{key}.missing_values", entry.get("missing_values")),
                                completion_marker=(_completion_marker(check, f"{key}.completion_marker",
                                                                      entry["completion_marker"])
                                                   if "completion_marker" in entry else default_marker))
    if entry.get("quantity_unit") is not None:
        if dataset not in ("production_lots", "work_orders", "shipments"):
            check.fail(f"{key}.quantity_unit", "only for production_lots, work_orders and shipments")
        unit = check.text(f"{key}.quantity_unit", entry["quantity_unit"])
        if unit not in QUANTITY_UNITS:
            check.fail(f"{key}.quantity_unit", f"unknown quantity unit {unit!r}; expected one of {', '.join(QUANTITY_UNITS)}")
        spec["quantity_unit"] = unit
    if entry.get("shipments") is not None and dataset != "shipments":
        check.fail(f"{key}.shipments", "only for the shipments dataset")
    sensor_keys = {"layout", "sensors", "tag_column", "value_column", "unit_column", "tags", "sequence", "lot"}
    if dataset == "sensor_readings":
        if not ts_columns and timestamp.relative is None:
            check.fail(f"{key}.timestamp.columns", "required for sensor_readings (or timestamp.relative for a file "
                       "without a clock)")
        for link in ("sequence", "lot"):
            if entry.get(link) is not None:
                spec[link] = check.source(f"{key}.{link}", entry[link])
                if spec[link].is_constant or len(spec[link].columns) != 1:
                    check.fail(f"{key}.{link}", "expected one column of the file ({column: <name>})")
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
        sources = {name: check.source(f"{key}.columns.{name}", value, numeric=name in NUMERIC_FIELDS)
                   for name, value in columns.items() if value is not None}
        for name, source in sources.items():
            if source.is_constant and name in TIMESTAMP_FIELDS | {"lot_id", "order_id"}:
                check.fail(f"{key}.columns.{name}", "must come from a column of the file, not a constant")
            if source.is_constant and name in NUMERIC_FIELDS:
                try:
                    float(source.value)
                except ValueError:
                    check.fail(f"{key}.columns.{name}.value", f"{source.value!r} is not a number")
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
        if dataset == "shipments":
            spec["shipments"] = _shipment_columns(check, f"{key}.shipments", entry.get("shipments"))
    built = DatasetSpec(**spec)
    if built.completion_marker and built.marker_for(files) == files:
        check.fail(f"{key}.completion_marker", f"{built.completion_marker!r} names the data files themselves "
                   f"({files!r}); a marker is another file, e.g. \"{{name}}.done\"")
    return built


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _shipment_columns(check: _Checker, key: str, raw: Any) -> ShipmentColumns:
    """`{count: 10, quantity: "{n}차출하수량", shipped_at: "{n}차출하일"}` ({nth}: 1st, 2nd, ...)."""
    raw = check.mapping(key, raw)
    unknown = set(raw) - {"count", "quantity", "shipped_at", "scale", "offset"}
    if unknown:
        check.fail(f"{key}.{sorted(unknown)[0]}", "unknown key; expected count, quantity, shipped_at, scale, offset")
    count = raw.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 50:
        check.fail(f"{key}.count", f"expected the number of shipment columns (1-50), got {count!r}")
    columns = {}
    for field_name in ("quantity", "shipped_at"):
        pattern = check.text(f"{key}.{field_name}", raw.get(field_name))
        if "{n}" not in pattern and "{nth}" not in pattern:
            check.fail(f"{key}.{field_name}", f"{pattern!r} needs {{n}} or {{nth}} where the shipment number goes")
        columns[field_name] = tuple(pattern.replace("{nth}", ordinal(n)).replace("{n}", str(n))
                                    for n in range(1, count + 1))
    return ShipmentColumns(count, columns["quantity"], columns["shipped_at"], *check.scale_and_offset(key, raw))


def _timestamp_spec(check: _Checker, key: str, raw: Any, default_tz: str, dataset: str) -> TimestampSpec:
    ts_raw = check.mapping(key, raw)
    allowed = {"columns", "column", "format", "timezone", "locale", "relative", "not_before", "days_ahead"}
    unknown = set(ts_raw) - allowed
    if unknown:
        check.fail(f"{key}.{sorted(unknown)[0]}", f"unknown key; expected {', '.join(sorted(allowed))}")
    ts_columns: tuple[str, ...] = ()
    if "columns" in ts_raw or "column" in ts_raw:
        ts_columns = check.source(f"{key}.columns", ts_raw.get("columns", ts_raw.get("column"))).columns
        if not ts_columns or len(ts_columns) > 2:
            check.fail(f"{key}.columns", "expected one column, or a date column and a time column")
    ts_format = check.text(f"{key}.format", ts_raw.get("format"))
    if "%" not in ts_format:
        check.fail(f"{key}.format", f"{ts_format!r} is not a strptime format (e.g. %Y-%m-%d %H:%M:%S)")
    locale = check.text(f"{key}.locale", ts_raw.get("locale"), allow_none=True)
    if locale not in (None, "ko", "en"):
        check.fail(f"{key}.locale", f"expected ko or en, got {locale!r}")
    relative = None
    if ts_raw.get("relative") is not None:
        if dataset != "sensor_readings":
            check.fail(f"{key}.relative", "only for sensor_readings")
        if ts_columns:
            check.fail(f"{key}.relative", "a file either has a timestamp column or relative time, not both")
        relative = _relative_time(check, f"{key}.relative", ts_raw["relative"], ts_format)
    not_before = ts_raw.get("not_before", DEFAULT_NOT_BEFORE)
    if isinstance(not_before, str):
        try:
            not_before = dt.date.fromisoformat(not_before)
        except ValueError:
            check.fail(f"{key}.not_before", f"expected a date such as 1995-01-01, got {not_before!r}")
    if not isinstance(not_before, dt.date):
        check.fail(f"{key}.not_before", f"expected a date such as 1995-01-01, got {not_before!r}")
    days_ahead = check.number(f"{key}.days_ahead", ts_raw.get("days_ahead", DEFAULT_DAYS_AHEAD))
    if days_ahead < 0:
        check.fail(f"{key}.days_ahead", "expected 0 or more days")
    return TimestampSpec(ts_columns, ts_format, check.timezone(f"{key}.timezone", ts_raw.get("timezone", default_tz)),
                         locale, relative, not_before, days_ahead)


def _relative_time(check: _Checker, key: str, raw: Any, ts_format: str) -> RelativeTime:
    """`{interval: 0.1, start: "2024-03-05 08:00:00"}` or `{interval: 0.1, start_from_file_name: "(\\d{8}_\\d{6})"}`,
    optionally `counter: <column>`; interval in seconds, start in the timestamp format."""
    raw = check.mapping(key, raw)
    unknown = set(raw) - {"interval", "start", "start_from_file_name", "counter"}
    if unknown:
        check.fail(f"{key}.{sorted(unknown)[0]}", "unknown key; expected interval, start, start_from_file_name, counter")
    interval = check.number(f"{key}.interval", raw.get("interval"))
    if interval <= 0:
        check.fail(f"{key}.interval", "expected the seconds between two samples (> 0)")
    start = check.text(f"{key}.start", raw.get("start"), allow_none=True)
    pattern = check.text(f"{key}.start_from_file_name", raw.get("start_from_file_name"), allow_none=True)
    if (start is None) == (pattern is None):
        check.fail(key, "give exactly one of start (a time) or start_from_file_name (a regex with one group)")
    if start is not None:
        try:
            dt.datetime.strptime(start, ts_format)
        except ValueError:
            check.fail(f"{key}.start", f"{start!r} does not match the timestamp format {ts_format!r}")
    compiled = None
    if pattern is not None:
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            check.fail(f"{key}.start_from_file_name", f"not a regular expression: {error}")
        if compiled.groups != 1:
            check.fail(f"{key}.start_from_file_name", "the regex needs exactly one (group): the start time")
    return RelativeTime(interval, start, compiled, check.text(f"{key}.counter", raw.get("counter"), allow_none=True))


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
