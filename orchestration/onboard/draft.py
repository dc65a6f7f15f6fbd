"""Draft a client's source mapping from sample files (`onboard draft COMPANY FILE ...`).

Each sample is sniffed (encoding, delimiter, title lines, header), its columns are read for what
they are (timestamps and their format, sensors with the unit in their header, pass/fail labels,
run/stop states, ids), the file is given the dataset it looks like, and the whole is written as
commented YAML in the language of `clients/README.md`. Every guess says `GUESS`, every column
that found no place says `UNPLACED`: the engineer reviews those lines, nothing else.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from orchestration.onboard import columns as col
from orchestration.onboard.sniff import Sample, SniffError, sniff

DEFAULT_LINE = "LINE-1"
DEFAULT_EQUIPMENT = "EQ-01"
TIME_HINTS = ("일시", "시각", "시간", "일자", "날짜", "date", "time", "ts", "timestamp", "datetime", "수집", "기록")
MAX_LONG_TAGS = 300
TRY_SHOT_WORDS = ("tryshot", "시험사출", "시사출", "warmup")


class DraftError(ValueError):
    pass


def q(text) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


@dataclass
class Entry:
    """One drafted dataset entry: its YAML lines and its review notes."""

    dataset: str
    files: str
    source: str  # the sample it was drafted from
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # comment lines above the entry
    unplaced: list[str] = field(default_factory=list)  # comment lines at its end
    guesses: int = 0
    # sensor entries: what an entry drafted from the same file's other columns reuses
    timestamp: tuple | None = None
    lot_index: int | None = None
    sequence_index: int | None = None
    equipment_line: str = ""
    line_line: str = ""

    def add(self, line: str, guess: str | None = None, note: str | None = None) -> None:
        if guess:
            self.guesses += 1
            line += f"  # GUESS: {guess}"
        elif note:
            line += f"  # {note}"
        self.lines.append(line)

    def render(self) -> str:
        out = [f"  # from {self.source}"] + [f"  # {n}" for n in self.notes]
        out.append(f"  - dataset: {self.dataset}")
        out += [f"    {line}" for line in self.lines]
        out += [f"    # UNPLACED {u}" for u in self.unplaced]
        return "\n".join(out)


# ------------------------------------------------------------------ what each column is
@dataclass
class Columns:
    sample: Sample
    numeric: set[int] = field(default_factory=set)
    timestamps: list[tuple[tuple[int, ...], col.TimeFormat | None]] = field(default_factory=list)  # None: Excel cells
    results: dict[int, dict[str, str]] = field(default_factory=dict)
    events: dict[int, dict[str, str]] = field(default_factory=dict)

    @property
    def header(self) -> list[str]:
        return self.sample.header

    def with_role(self, role: str, among=None) -> int | None:
        candidates = [i for i in range(len(self.header)) if among is None or i in among]
        for i in candidates:
            if col.normalise(self.header[i]) in col.KEYWORDS[role]:
                return i
        return next((i for i in candidates if col.role_of(self.header[i], role)), None)

    def timestamp_columns(self) -> set[int]:
        return {i for cols, _ in self.timestamps for i in cols}


def read_columns(sample: Sample) -> Columns:
    found = Columns(sample)
    n = len(sample.header)
    values = [sample.column(i) for i in range(n)]
    taken: set[int] = set()
    for i in range(n):
        if i in taken or not values[i]:
            continue
        if sample.native.get(i) == "datetime":
            found.timestamps.append(((i,), None))
            taken.add(i)
            continue
        hinted = any(h in col.normalise(sample.header[i]) for h in TIME_HINTS)
        formats = col.DATETIME_FORMATS if hinted else tuple(f for f in col.DATETIME_FORMATS if not f.replace("%", "").isalpha())
        fmt = col.time_format(values[i], formats)
        if fmt is not None:
            found.timestamps.append(((i,), fmt))
            taken.add(i)
            continue
        date_formats = col.DATE_FORMATS if hinted else col.DATE_FORMATS[:-1]
        day = col.time_format(values[i], date_formats)
        # a date column and a time column beside it, in either order (KAMP writes time, date, count):
        # a neighbour named as a time before one that merely parses as one
        beside = sorted((j for j in (i + 1, i - 1) if 0 <= j < n and j not in taken and values[j]),
                        key=lambda j: not any(h in col.normalise(sample.header[j]) for h in TIME_HINTS))
        partner = next((j for j in beside if col.time_format(values[j], col.TIME_FORMATS) is not None),
                       None) if day else None
        if partner is not None:
            clock = col.time_format(values[partner], col.TIME_FORMATS)
            found.timestamps.append(((i, partner), col.TimeFormat(
                f"{day.format} {clock.format}", day.locale or clock.locale, min(day.share, clock.share),
                f"{day.ambiguous} {clock.format}" if day.ambiguous else None)))
            taken.update((i, partner))
            continue
        if day is not None and hinted:
            found.timestamps.append(((i,), day))
            taken.add(i)
    for i in range(n):
        if i in taken or not values[i]:
            continue
        events = col.event_map(values[i])
        results = col.result_map(values[i])
        if events is not None:
            found.events[i] = events
        elif results is not None and (not col.is_numeric(values[i]) or col.role_of(sample.header[i], "result")):
            found.results[i] = results
        elif col.is_numeric(values[i]):
            found.numeric.add(i)
    return found


# ------------------------------------------------------------------ which dataset a file is
def dataset_of(c: Columns) -> str | None:
    text_columns = [i for i in range(len(c.header)) if i not in c.numeric and i not in c.timestamp_columns()]
    tag_column = c.with_role("tag_name", among=text_columns)
    value_column = c.with_role("measured_value", among=c.numeric)
    lot = c.with_role("lot")
    if tag_column is not None and value_column is not None and not c.results:
        return "sensor_readings:long"
    if c.results and lot is not None and (c.with_role("characteristic", among=text_columns) is not None
                                          or value_column is not None):
        return "quality_inspections"
    sensors = [i for i in c.numeric if not _is_id_or_count(c.header[i])]
    if c.results and not sensors and c.timestamps and (lot is not None or c.with_role("sequence") is not None):
        return "quality_inspections"  # a verdict file: one pass/fail per lot or shot, nothing measured
    if lot is not None and c.with_role("quantity", among=c.numeric) is not None and c.timestamps:
        return "production_lots"
    if c.events and len(sensors) <= 1 and c.timestamps:
        return "equipment_events"
    if sensors and (c.timestamps or file_name_stamp(c.sample.path.name)):
        return "sensor_readings:wide"
    return None


FILE_STAMPS = ((r"(\d{8}_\d{6})", "%Y%m%d_%H%M%S"), (r"(\d{14})", "%Y%m%d%H%M%S"), (r"(\d{8}-\d{6})", "%Y%m%d-%H%M%S"))


def file_name_stamp(name: str) -> tuple[str, str] | None:
    """(regex with one group, strptime format) of a start time written in a file name
    (`CNC01_20240305_080000.csv`), for exports without a clock column."""
    for pattern, fmt in FILE_STAMPS:
        match = re.search(pattern, name)
        if match and col._strptime(match.group(1), fmt) is not None:
            return pattern, fmt
    return None


def _is_id_or_count(header: str) -> bool:
    if _is_measured(header):
        return False
    return any(col.role_of(header, r) for r in ("lot", "sequence", "quantity", "defect_quantity", "code")) \
        or col.normalise(header) in ("no", "번호", "id")


def _is_measured(header: str) -> bool:
    """A name the tag vocabulary reads as a measured quantity (facility_operation_cycleTime,
    shot_weight) is a sensor, although it holds an id word (cycle, shot)."""
    return col.tag_for_name(header) not in (None, "COUNT")


# ------------------------------------------------------------------ the entry of one file
def files_glob(path: Path, company_id: str) -> tuple[str, bool]:
    """The glob for files like this one, relative to the company folder: its date/time part as `*`."""
    parts = path.resolve().parts
    if company_id in parts[:-1]:
        index = len(parts) - 1 - parts[::-1].index(company_id)
        relative = "/".join(parts[index + 1:])
    else:
        relative = path.name
    folder, _, name = relative.rpartition("/")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    runs = list(re.finditer(r"\d[\d\-_.]{4,}\d", stem))
    if runs:
        run = max(runs, key=lambda m: len(m.group()))
        stem = stem[:run.start()] + "*" + stem[run.end():]
    glob = (f"{folder}/" if folder else "") + stem + (f".{suffix}" if dot else "")
    return glob, company_id in parts[:-1]


def draft_entries(sample: Sample, company_id: str) -> tuple[list[Entry], str | None]:
    c = read_columns(sample)
    kind = dataset_of(c)
    glob, in_landing = files_glob(sample.path, company_id)
    source = f"{sample.path.name}: " + ", ".join(filter(None, [
        sample.format.upper(), sample.encoding, f"delimiter {sample.delimiter!r}" if sample.delimiter else None,
        f"{len(sample.title_lines)} title line(s) above the header" if sample.title_lines else None,
        f"{len(sample.rows)} data rows read"]))
    if kind is None:
        return [], (f"{sample.path.name}: could not tell which dataset it is (columns: {', '.join(sample.header)}); "
                    "map it by hand (clients/README.md)")
    dataset, _, layout = kind.partition(":")
    entry = Entry(dataset, glob, source)
    entry.notes += sample.notes
    entry.add(f"files: {q(glob)}", note="the sample's name with its date part as *" if "*" in glob else None)
    if not in_landing:
        entry.notes.append("the sample was not in lake/landing/<company>/: put the folder in `files:` if exports "
                           "land in a subfolder")
    _reading_lines(entry, sample)
    placed: set[int] = set()
    entries = [entry]
    if layout:
        _sensor_entry(entry, c, layout, placed)
        entries += _outcomes_of_rows(entry, c, placed)
    else:
        _fields_entry(entry, c, placed)
    for i, name in enumerate(sample.header):
        if i in placed or not name:
            continue
        entry.unplaced.append(_unplaced(c, i))
    return entries, None


def _reading_lines(entry: Entry, sample: Sample) -> None:
    entry.add(f"format: {sample.format}")
    if sample.format == "csv":
        entry.add(f"encoding: {sample.encoding}")
        entry.add(f"delimiter: {q(sample.delimiter)}")
    if sample.sheet:
        entry.add(f"sheet: {q(sample.sheet)}")
    entry.add(f"header_row: {sample.header_row}",
              note=f"line(s) above: {' | '.join(t for t in sample.title_lines if t)[:80]}" if sample.title_lines else None)


def _outcomes_of_rows(sensors: Entry, c: Columns, placed: set[int]) -> list[Entry]:
    """A per-shot/per-cycle table carries each row's outcome beside its readings: its pass/fail
    label becomes a quality_inspections entry and its run/stop status an equipment_events entry
    of the same file (a mapping may take several datasets from one file)."""
    ts = sensors.timestamp
    extra: list[Entry] = []
    if ts is None:
        return extra
    ts_source = _source_of(c, ts[0])
    lot = sensors.lot_index if sensors.lot_index is not None else sensors.sequence_index

    def outcome_entry(dataset: str, index: int, what: str, why: str, fields: list[tuple[str, str]],
                      value_key: str, values: dict, where: list[str]) -> Entry:
        entry = Entry(dataset, sensors.files, f"{c.sample.path.name} (its {what} column {c.header[index]!r})")
        entry.notes.append(f"GUESS: {why}")
        entry.guesses += 1
        entry.lines.append(f"files: {q(sensors.files)}")
        _reading_lines(entry, c.sample)
        entry.lines.append("columns:")
        entry.lines += [f"  {name}: {source}" for name, source in fields]
        _value_map(entry, value_key, values)
        _timestamp_lines(entry, c, ts, with_columns=False)
        entry.lines += where
        placed.add(index)
        return entry

    if c.results and lot is not None:  # an inspection needs its lot or shot; else left UNPLACED with its map
        index, values = next(iter(c.results.items()))
        label = q(c.header[index])
        extra.append(outcome_entry(
            "quality_inspections", index, "pass/fail", "each row's label read as the inspection of its lot/shot",
            [("lot_id", q(c.header[lot])), ("inspected_at", ts_source), ("result", label),
             ("characteristic", f"{{value: {label}}}")], "result_values", values, [sensors.line_line]))
    if c.events:
        index, values = next(iter(c.events.items()))
        extra.append(outcome_entry(
            "equipment_events", index, "status", "each row's status read as an equipment state at that time",
            [("event_time", ts_source), ("event_type", q(c.header[index]))], "event_values", values,
            [sensors.equipment_line, sensors.line_line]))
    return extra


def _source_of(c: Columns, cols: tuple[int, ...]) -> str:
    names = [c.header[i] for i in cols]
    return q(names[0]) if len(names) == 1 else f"[{', '.join(q(n) for n in names)}]"


def _timestamp_lines(entry: Entry, c: Columns, ts, *, with_columns: bool) -> None:
    cols, fmt = ts
    names = [c.header[i] for i in cols]
    entry.lines.append("timestamp:")
    if with_columns:
        entry.lines.append(f"  columns: [{', '.join(q(n) for n in names)}]")
    if fmt is None:
        entry.lines.append(f"  format: {q('%Y-%m-%d %H:%M:%S')}  # Excel date cells are read as they are; "
                           f"this format is for text cells")
        return
    share = f"{fmt.share:.0%} of the sample values parse"
    if fmt.ambiguous:
        entry.guesses += 1
        entry.lines.append(f"  format: {q(fmt.format)}  # GUESS: {share}, but {q(fmt.ambiguous)} reads them too "
                           f"(day and month swapped): check a date after the 12th")
    else:
        entry.lines.append(f"  format: {q(fmt.format)}  # {share}")
    if fmt.locale:
        entry.lines.append(f"  locale: {fmt.locale}  # 오전/오후 for AM/PM")


def _where(entry: Entry, c: Columns, key: str, role: str, placed: set[int], *, default: str | None) -> None:
    text = [i for i in range(len(c.header)) if i not in c.numeric and i not in placed]
    index = c.with_role(role, among=text)
    if index is not None and not _looks_like_ids(c.sample.column(index)):
        # a description such as KAMP's line "전자교반 3라인" is a name, not the id the warehouse keys on
        named, names = c.header[index], ", ".join(sorted(set(c.sample.column(index)))[:3])
        if default is not None:
            entry.add(f"{key}: {{value: {q(default)}}}",
                      guess=f"column {q(named)} holds names, not {key} ids ({names}): every row is {default}; "
                      f"write {{column: {q(named)}}} to keep the client's names as ids")
            return
        index = None
    if index is None and key == "equipment":
        index = next((i for i in text if i not in c.results and i not in c.events and i not in c.timestamp_columns()
                      and _looks_like_codes(c.sample.column(i))), None)
        if index is not None:
            placed.add(index)
            entry.add(f"{key}: {{column: {q(c.header[index])}}}",
                      guess=f"its values look like machine codes ({', '.join(sorted(set(c.sample.column(index)))[:3])})")
            return
    if index is not None:
        placed.add(index)
        entry.add(f"{key}: {{column: {q(c.header[index])}}}")
    elif default is not None:
        entry.add(f"{key}: {{value: {q(default)}}}", guess=f"no {key} column found: every row is {default}")


def _sensor_entry(entry: Entry, c: Columns, layout: str, placed: set[int]) -> None:
    ts = _best_timestamp(c, ("event_time", "inspected_at"))
    if ts is None:
        stamp = file_name_stamp(c.sample.path.name)
        if stamp is None:
            raise DraftError(f"{c.sample.path.name}: no timestamp column found; sensor readings need one")
        entry.lines.append("timestamp:")
        entry.lines.append(f"  format: {q(stamp[1])}")
        entry.guesses += 1
        entry.lines.append(f"  relative: {{interval: 1.0, start_from_file_name: {q(stamp[0])}}}  # GUESS: no clock "
                           f"column: time = the file name's start + row number x interval; the sampling interval "
                           f"(seconds) is not in the file: ask the client")
    else:
        placed.update(ts[0])
        entry.timestamp = ts
        _timestamp_lines(entry, c, ts, with_columns=True)
    _where(entry, c, "equipment", "equipment", placed, default=DEFAULT_EQUIPMENT)
    entry.equipment_line = entry.lines[-1]
    _where(entry, c, "line", "line", placed, default=DEFAULT_LINE)
    entry.line_line = entry.lines[-1]
    entry.add(f"layout: {layout}")
    text = [i for i in range(len(c.header)) if i not in placed and i not in c.results and i not in c.events]
    for key, role in (("sequence", "sequence"), ("lot", "lot")):
        index = c.with_role(role, among=[i for i in text if i not in placed and not _is_measured(c.header[i])])
        if index is not None and key == "sequence" and not (
                len(c.sample.column(index)) == len(c.sample.rows) and _distinct_in_order(c.sample.column(index))):
            index = None  # a counter that repeats or is blank (KAMP's tryshot_signal) is not a row's identity
        if index is not None:
            placed.add(index)
            setattr(entry, f"{key}_index", index)
            entry.add(f"{key}: {{column: {q(c.header[index])}}}",
                      note="the shot/cycle id: part of each reading's identity" if key == "sequence"
                      else "each reading's lot/batch, for features per lot")
    if layout == "long":
        _long_sensors(entry, c, placed)
        return
    entry.lines.append("sensors:")
    wrote = 0
    for i in sorted(c.numeric):
        if _is_id_or_count(c.header[i]):
            continue
        guess = col.sensor_guess(c.header[i])
        if guess.tag is None or guess.unit is None:
            continue  # left for UNPLACED, with the reason
        placed.add(i)
        wrote += 1
        line = f"  {q(c.header[i])}: {{tag: {guess.tag}, unit: {q(guess.unit)}}}"
        entry.add(line, guess=None if guess.sure else guess.note, note=guess.note if guess.sure else None)
    if not wrote:
        raise DraftError(f"{c.sample.path.name}: no sensor column could be given a standard tag and unit")


def _long_sensors(entry: Entry, c: Columns, placed: set[int]) -> None:
    text = [i for i in range(len(c.header)) if i not in c.numeric and i not in placed]
    tag_index = c.with_role("tag_name", among=text)
    value_index = c.with_role("measured_value", among=c.numeric)
    unit_index = c.with_role("unit", among=[i for i in text if i != tag_index])
    placed.update(i for i in (tag_index, value_index, unit_index) if i is not None)
    entry.add(f"tag_column: {q(c.header[tag_index])}")
    entry.add(f"value_column: {q(c.header[value_index])}")
    if unit_index is not None:
        entry.add(f"unit_column: {q(c.header[unit_index])}")
    units_of: dict[str, Counter] = {}
    for row in c.sample.rows:
        units_of.setdefault(row[tag_index], Counter())[row[unit_index] if unit_index is not None else ""] += 1
    entry.lines.append("tags:")
    for source_tag, units in list(units_of.items())[:MAX_LONG_TAGS]:
        if not source_tag:
            continue
        unit_text = units.most_common(1)[0][0] or None
        guess = col.sensor_guess(source_tag, unit_text)
        if guess.tag is None or guess.unit is None:
            entry.unplaced.append(f"source tag {q(source_tag)}: {guess.note} "
                                  f"(add `{q(source_tag)}: {{tag: ..., unit: ...}}` under tags)")
            continue
        entry.add(f"  {q(source_tag)}: {{tag: {guess.tag}, unit: {q(guess.unit)}}}",
                  guess=None if guess.sure else guess.note, note=guess.note if guess.sure else None)
    if len(units_of) > MAX_LONG_TAGS:
        entry.unplaced.append(f"{len(units_of) - MAX_LONG_TAGS} more source tags in the sample: list them under tags")


FIELD_ROLES = {
    "production_lots": ("lot_id:lot", "product_code:product", "quantity:quantity", "defect_quantity:defect_quantity"),
    "quality_inspections": ("lot_id:lot", "characteristic:characteristic", "measured_value:measured_value",
                            "lower_spec:lower_spec", "upper_spec:upper_spec", "unit:unit", "defect_type:defect_type"),
    "equipment_events": ("code:code", "message:message"),
}
NUMERIC_FIELDS = {"quantity", "defect_quantity", "measured_value", "lower_spec", "upper_spec"}


def _fields_entry(entry: Entry, c: Columns, placed: set[int]) -> None:
    dataset = entry.dataset
    fields: list[tuple[str, int]] = []
    ts_fields: list[tuple[str, tuple]] = []
    if dataset == "production_lots":
        start = _best_timestamp(c, ("start",))
        end = next((t for t in c.timestamps if t is not start and any(col.role_of(c.header[i], "end") for i in t[0])),
                   next((t for t in c.timestamps if t is not start), None))
        ts_fields = [("start", start)] + ([("end", end)] if end else [])
    elif dataset == "quality_inspections":
        ts_fields = [("inspected_at", _best_timestamp(c, ("inspected_at",)))]
    else:
        ts_fields = [("event_time", _best_timestamp(c, ("event_time",)))]
    for name, ts in ts_fields:
        placed.update(ts[0])
    if dataset == "quality_inspections":
        index = next(iter(c.results))
        fields.append(("result", index))
        placed.add(index)
    if dataset == "equipment_events":
        index = next(iter(c.events))
        fields.append(("event_type", index))
        placed.add(index)
    # exact header words first, then words inside longer headers
    for exact in (True, False):
        for spec in FIELD_ROLES[dataset]:
            name, role = spec.split(":")
            if any(f == name for f, _ in fields):
                continue
            among = [i for i in range(len(c.header)) if i not in placed and i not in c.timestamp_columns()
                     and ((i in c.numeric) == (name in NUMERIC_FIELDS) or name in ("lot_id", "code"))]
            match = next((i for i in among if col.normalise(c.header[i]) in col.KEYWORDS[role]), None) if exact \
                else next((i for i in among if col.role_of(c.header[i], role)), None)
            if match is not None:
                fields.append((name, match))
                placed.add(match)
    if dataset == "quality_inspections" and not any(f == "lot_id" for f, _ in fields):
        shot = next((i for i in range(len(c.header)) if i not in placed and col.role_of(c.header[i], "sequence")), None)
        if shot is not None:  # a verdict per shot/serial: that id is the unit the verdict belongs to
            fields.append(("lot_id", shot))
            placed.add(shot)
    order = {name: n for n, name in enumerate(
        ["lot_id", "product_code", "start", "end", "quantity", "defect_quantity", "inspected_at", "characteristic",
         "measured_value", "lower_spec", "upper_spec", "unit", "result", "defect_type", "event_time", "event_type",
         "code", "message"])}
    rows = [(name, f"{q(c.header[i])}") for name, i in fields]
    for name, (cols, _) in ts_fields:
        names = [c.header[i] for i in cols]
        rows.append((name, q(names[0]) if len(names) == 1 else f"[{', '.join(q(n) for n in names)}]"))
    constant_characteristic = dataset == "quality_inspections" and not any(f == "characteristic" for f, _ in fields)
    if constant_characteristic:
        rows.append(("characteristic", "{value: verdict}"))
    entry.lines.append("columns:")
    for name, source in sorted(rows, key=lambda r: order[r[0]]):
        entry.add(f"  {name}: {source}", guess="no characteristic column: the verdict is the unit's overall pass/fail"
                  if name == "characteristic" and constant_characteristic else None)
    if dataset == "quality_inspections":
        _value_map(entry, "result_values", c.results[next(iter(c.results))])
    if dataset == "equipment_events":
        _value_map(entry, "event_values", c.events[next(iter(c.events))])
    formats = {fmt.format if fmt else None for _, (_, fmt) in ts_fields}
    _timestamp_lines(entry, c, ts_fields[0][1], with_columns=False)
    if len(formats) > 1:
        entry.unplaced.append(f"the timestamp columns use different formats ({', '.join(map(str, formats))}); "
                              f"one format per dataset entry: ask for one export format")
    _where(entry, c, "line", "line", placed, default=DEFAULT_LINE)
    _where(entry, c, "equipment", "equipment", placed,
           default=DEFAULT_EQUIPMENT if dataset == "equipment_events" else None)


def _distinct_in_order(values: list[str]) -> bool:
    return len(set(values)) == len(values)


def _looks_like_ids(values: list[str]) -> bool:
    """Line or equipment ids (LINE-A, 1라인, CNC_02, Bay3): short and without spaces."""
    return all(len(v) <= 24 and not any(ch.isspace() for ch in v) for v in set(values))


def _looks_like_codes(values: list[str]) -> bool:
    """Short codes of letters and digits such as P-1, DCM-02, EXT01: few distinct ones."""
    distinct = set(values)
    return bool(distinct) and len(distinct) <= 30 and all(
        re.fullmatch(r"[A-Za-z가-힣]{1,8}[-_ ]?\d{1,4}[A-Za-z]?", v) for v in distinct)


def _value_map(entry: Entry, key: str, values: dict[str, str]) -> None:
    body = ", ".join(f"{q(k)}: {v}" for k, v in values.items())
    entry.add(f"{key}: {{{body}}}", guess="labels from the sample, their partners added; add any other label the "
              "client uses")


def _best_timestamp(c: Columns, roles: tuple[str, ...]):
    for ts in c.timestamps:
        if any(col.role_of(c.header[i], r) for i in ts[0] for r in roles):
            return ts
    return c.timestamps[0] if c.timestamps else None


def _unplaced(c: Columns, i: int) -> str:
    name = c.header[i]
    values = c.sample.column(i)
    examples = ", ".join(list(dict.fromkeys(values))[:3]) if values else "empty in the sample"
    if i in c.results:
        what = f"pass/fail label, values {json.dumps(c.results[i], ensure_ascii=False)}"
    elif i in c.events:
        what = f"run/stop status, values {json.dumps(c.events[i], ensure_ascii=False)}"
    elif col.role_of(name, "lot"):
        what = "lot/batch id"
    elif any(w in col.normalise(name) for w in TRY_SHOT_WORDS):
        what = "try-shot (warm-up) marker: marked rows are test shots, to leave out of models"
    elif col.role_of(name, "sequence"):
        what = "shot/cycle/serial id"
    elif any(w in col.normalise(name) for w in ("mold", "mould", "금형")):
        what = "the mould (tooling that moves between machines), not the equipment"
    elif i in c.numeric:
        what = col.sensor_guess(name).note
    elif i in c.timestamp_columns():
        what = "a second timestamp"
    else:
        what = "text"
    return f"{q(name)}: {what} (e.g. {examples}); not loaded by this entry"


# ------------------------------------------------------------------ the whole mapping
def draft_mapping(company_id: str, files: list[Path]) -> str:
    if not files:
        raise DraftError("give at least one sample file")
    entries: dict[tuple[str, str], Entry] = {}
    problems: list[str] = []
    for file in files:
        try:
            sample = sniff(Path(file))
        except SniffError as error:
            raise DraftError(str(error)) from None
        drafted, problem = draft_entries(sample, company_id)
        if problem:
            problems.append(problem)
            continue
        for entry in drafted:
            key = (entry.dataset, entry.files)
            if key in entries:
                entries[key].notes.append(f"also matches {sample.path.name}")
            else:
                entries[key] = entry
    if not entries:
        raise DraftError("; ".join(problems) or "nothing to draft")
    guesses = sum(e.guesses for e in entries.values())
    unplaced = sum(len(e.unplaced) for e in entries.values())
    head = [
        f"# Drafted by `python -m orchestration.onboard draft {company_id}` on {date.today().isoformat()} from "
        f"{len(files)} sample file(s).",
        f"# Review the {guesses} line(s) marked GUESS and the {unplaced} column(s) marked UNPLACED, then check it:",
        f"#   python -m orchestration.onboard validate {company_id}",
        "# The language is described in clients/README.md; tags and units are the codes of dbt_project/seeds/.",
    ]
    head += [f"# UNPLACED file {p}" for p in problems]
    body = [f"company_id: {company_id}",
            "timezone: Asia/Seoul  # GUESS: exports in Korean wall-clock time (KST)",
            "datasets:"]
    return "\n".join(head + body + [e.render() for e in entries.values()]) + "\n"
