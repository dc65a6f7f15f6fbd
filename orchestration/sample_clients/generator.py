"""Seeded sample exports for every registered client, written exactly as each client's mapping
describes its files (so a new mapping gets sample data for free), plus a manifest of what was
written and which defects were planted where.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Sequence
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import yaml

from orchestration.sample_clients.exports import format_times, is_korean, split_format, title_lines, write_export
from orchestration.sample_clients.shot_export import per_shot_entries, write_shot_company
from orchestration.sample_clients.plant import Plant, build_plant, sensor_series, stable_hash, tag_dictionary

SAMPLE_START = date(2026, 11, 2)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEFECT_KINDS = ("gap", "spike", "stuck", "out_of_range", "duplicate", "late_file", "missing_values")
PERIODS = ("baseline", "followup")
DAY = 86400

# How the process behaves before and after the AI solution (per lot). A lot fails inspection at the
# industry's rate (profiles.defect_rate, 1.5-4.5 %; the follow-up period at `rate_factor` of it); in a
# company with the planted pattern most failed lots are pattern lots (TEMP runs hot during the lot),
# which is what a model can learn. The follow-up has fewer pattern lots and fewer alarms.
BEHAVIOUR = {
    "baseline": {"rate_factor": 1.0, "defects_from_pattern": 0.85, "fail_pattern": 0.6, "scrap_normal": 0.012,
                 "scrap_pattern": 0.07, "alarm": 0.08, "pattern_alarm": 0.7},
    "followup": {"rate_factor": 0.35, "defects_from_pattern": 0.85, "fail_pattern": 0.6, "scrap_normal": 0.004,
                 "scrap_pattern": 0.07, "alarm": 0.03, "pattern_alarm": 0.7},
}
# Sample companies whose defects follow no sensor pattern: labels at the industry's rate, at random.
# Their AI result must say "no usable signal" (issue 14); every other company has the pattern.
NO_PATTERN_COMPANIES = frozenset({"CH-FOD-01", "ES-SEM-03"})
# Minutes after the end of the day (or the file's last event) at which a client's export lands.
LANDING_DELAY_MINUTES = {"sensor_readings": 7, "production_lots": 12, "quality_inspections": 20,
                         "equipment_events": 9}
SPIKE_STD = 12.0  # spikes jump this many noise sds (detectors look for > 8)
SPIKES_PER_WINDOW = 3


@dataclass(frozen=True)
class PlantedDefect:
    kind: str  # gap | spike | stuck | out_of_range | duplicate | late_file | missing_values
    company_id: str
    tag: str  # standard tag code; the first equipment having it unless equipment_id is given
    start: datetime  # KST wall clock (naive = the mapping's time zone)
    hours: float = 2.0  # window length (late_file: how many hours after the day's end the file lands)
    equipment_id: str | None = None


@dataclass
class SampleManifest:
    parameters: dict
    files: list[dict] = field(default_factory=list)
    companies: dict[str, dict] = field(default_factory=dict)
    defects: list[dict] = field(default_factory=list)
    pattern_lots: list[dict] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)


def load_clients(clients_dir: Path) -> list[tuple[dict, dict]]:
    """(registry entry, mapping) for every registered company, in registry order."""
    registry = yaml.load((clients_dir / "registry.yaml").read_text(encoding="utf-8"), Loader=_LOADER) or {}
    clients = []
    for entry in registry.get("companies") or []:
        path = clients_dir / "mappings" / f"{entry['company_id']}.yaml"
        mapping = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        clients.append((entry, mapping))
    return clients


def generate_sample(landing_root: Path, *, seed: int = 42, start: date = SAMPLE_START, days: int = 3,
                    sampling_seconds: int = 60, companies: list[str] | None = None, period: str = "baseline",
                    defects: Sequence[PlantedDefect] = (), label_pattern: bool = True,
                    clients_dir: Path | None = None) -> SampleManifest:
    """Write `days` days of exports from `start` for every registered client (or `companies`) under
    `landing_root/<company_id>/`, and the manifest beside the landing root."""
    from orchestration.settings import clients_dir as default_clients_dir

    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, not {period!r}")
    for defect in defects:
        if defect.kind not in DEFECT_KINDS:
            raise ValueError(f"unknown planted defect kind {defect.kind!r}; expected one of {DEFECT_KINDS}")
    clients_dir = Path(clients_dir or default_clients_dir())
    landing_root = Path(landing_root)
    clients = load_clients(clients_dir)
    known = {entry["company_id"] for entry, _ in clients}
    wanted = set(companies) if companies is not None else known
    unknown = wanted - known | {d.company_id for d in defects} - known
    if unknown:
        raise ValueError(f"not in {clients_dir / 'registry.yaml'}: {sorted(unknown)}")
    manifest = SampleManifest(parameters={
        "seed": seed, "start": start.isoformat(), "days": days, "sampling_seconds": sampling_seconds,
        "period": period, "label_pattern": label_pattern, "companies": sorted(wanted)})
    for entry, mapping in clients:
        if entry["company_id"] not in wanted:
            continue
        if per_shot_entries(mapping):  # a per-shot die caster: one row per shot, not lots
            files, summary = write_shot_company(
                landing_root, entry["company_id"], mapping, seed=seed, start=start, days=days,
                label_pattern=label_pattern and entry["company_id"] not in NO_PATTERN_COMPANIES,
                company_seed=stable_hash(entry["company_id"]), sampling_seconds=sampling_seconds)
            manifest.files.extend(files)
            manifest.companies[entry["company_id"]] = summary
            continue
        company = _CompanySample(landing_root, entry, mapping, seed=seed, start=start, days=days,
                                 sampling_seconds=sampling_seconds, period=period, label_pattern=label_pattern,
                                 defects=[d for d in defects if d.company_id == entry["company_id"]])
        company.write(manifest)
    landing_root.parent.mkdir(parents=True, exist_ok=True)
    (landing_root.parent / "sample_manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def _first_labels(values: dict) -> dict[str, str]:
    """standard value -> the first client label the mapping lists for it."""
    labels: dict[str, str] = {}
    for label, standard in (values or {}).items():
        labels.setdefault(str(standard), str(label))
    return labels


def _column(spec: dict, key: str) -> str | None:
    value = spec.get(key)
    return value.get("column") if isinstance(value, dict) else None


class _CompanySample:
    def __init__(self, landing_root: Path, entry: dict, mapping: dict, *, seed: int, start: date, days: int,
                 sampling_seconds: int, period: str, label_pattern: bool, defects: list[PlantedDefect]):
        self.company_id = entry["company_id"]
        self.root = landing_root / self.company_id
        self.landing_root = landing_root
        self.plant: Plant = build_plant(self.company_id, entry.get("industry", ""), mapping)
        self.rng = np.random.default_rng([seed + stable_hash(self.company_id), start.toordinal(),
                                          PERIODS.index(period)])
        self.behaviour = BEHAVIOUR[period]
        self.start, self.days, self.sampling = start, days, int(sampling_seconds)
        self.label_pattern = label_pattern and self.company_id not in NO_PATTERN_COMPANIES
        self.draws_pattern = label_pattern  # a company without the pattern still draws, so its lots stay put
        rate = self.plant.profile.defect_rate * self.behaviour["rate_factor"]
        if self.label_pattern:
            self.pattern_share = rate * self.behaviour["defects_from_pattern"] / self.behaviour["fail_pattern"]
            self.fail_normal = rate * (1 - self.behaviour["defects_from_pattern"]) / (1 - self.pattern_share)
        else:
            self.pattern_share, self.fail_normal = 0.0, rate
        self.defects = defects
        self.zone = ZoneInfo(self.plant.timezone)
        self.t0 = int((datetime(start.year, start.month, start.day) - datetime(1970, 1, 1)).total_seconds())
        self.seconds = self.t0 + np.arange(0, days * DAY, self.sampling, dtype=np.int64)
        self.counts = {"readings": 0, "lots": 0, "inspections": 0, "failed_inspections": 0, "events": 0}
        sensor_format = (self.plant.specs["sensor_readings"].get("timestamp") or {}).get("format", "%S")
        if "%S" not in sensor_format and self.sampling % 60:
            raise ValueError(f"{self.company_id}: its sensor timestamps ({sensor_format!r}) have no seconds, so "
                             f"sampling every {self.sampling} s would write duplicate timestamps")

    # ------------------------------------------------------------------ time helpers
    def utc_iso(self, local_seconds: int) -> str:
        local = datetime(1970, 1, 1) + timedelta(seconds=int(local_seconds))
        return local.replace(tzinfo=self.zone).astimezone(timezone.utc).isoformat().replace("+00:00", "Z")

    def utc_epoch(self, local_seconds: int) -> float:
        local = datetime(1970, 1, 1) + timedelta(seconds=int(local_seconds))
        return local.replace(tzinfo=self.zone).timestamp()

    def local_seconds(self, moment: datetime) -> int:
        if moment.tzinfo is not None:
            moment = moment.astimezone(self.zone).replace(tzinfo=None)
        return int((moment - datetime(1970, 1, 1)).total_seconds())

    def day_file(self, spec: dict, day_seconds: int) -> tuple[Path, str]:
        stamp = (datetime(1970, 1, 1) + timedelta(seconds=int(day_seconds))).strftime("%Y%m%d")
        relative = spec["files"].replace("*", stamp, 1)
        return self.root / relative, f"{self.company_id}/{relative}"

    def record_file(self, manifest: SampleManifest, spec: dict, path: Path, relative: str, rows: int, *,
                    day_start: int, last_event: int | None) -> None:
        """List the file in the manifest and give it a realistic landing time: the client's nightly
        export lands a few minutes after the day (or after its last event, if that is later)."""
        delay = LANDING_DELAY_MINUTES[spec["dataset"]] * 60
        landed = max(day_start + DAY, last_event if last_event is not None else 0) + delay
        epoch = self.utc_epoch(landed)
        os.utime(path, (epoch, epoch))
        manifest.files.append({"path": relative, "dataset": spec["dataset"], "rows": rows,
                               "format": spec.get("format", "csv"),
                               "encoding": None if spec.get("format") == "xlsx" else spec.get("encoding", "utf-8"),
                               "landed_at_utc": self.utc_iso(landed)})

    # ------------------------------------------------------------------ the whole company
    def write(self, manifest: SampleManifest) -> None:
        plant = self.plant
        lots = self.schedule_lots()
        values = sensor_series(plant, self.rng, self.seconds, self.sampling)
        self.apply_pattern(values, lots, manifest)
        masks, planted = self.apply_defects(values)
        client = self.client_values(values)
        for index, defect, sensor_index, equipment_index in planted:
            if defect.kind == "stuck":
                series = plant.series_index(equipment_index, sensor_index)
                window = masks["window"][index]
                client[series, window] = client[series, np.argmax(window)]
        self.write_sensors(client, masks, manifest)
        self.write_lots(lots, manifest)
        self.write_inspections(lots, manifest)
        self.write_events(lots, manifest)
        self.finish_defects(planted, masks, manifest)
        manifest.companies[self.company_id] = {
            "industry": plant.industry,
            "timezone": plant.timezone,
            "lines": plant.lines,
            "equipment": [{"equipment_id": e.equipment_id, "line_id": e.line_id, "name_ko": e.name_ko,
                           "name_en": e.name_en} for e in plant.equipment],
            "sensors": [{"equipment_id": e.equipment_id, "source": s.source, "tag": s.tag, "unit": s.unit}
                        for e in plant.equipment for s in plant.sensors],
            "counts": dict(self.counts),
            "planted_pattern": self.label_pattern,
        }

    # ------------------------------------------------------------------ lots and the defect pattern
    def schedule_lots(self) -> list[dict]:
        """Back-to-back lots of 2-6 h per line with 10-45 min stops between them, all inside the period."""
        plant, rng, behaviour = self.plant, self.rng, self.behaviour
        end_of_period = self.t0 + self.days * DAY - 10 * 60
        lots = []
        for line_number, line in enumerate(plant.lines):
            t = self.t0 + int(rng.integers(0, 31)) * 60
            number_by_day: dict[int, int] = {}
            line_lots = []
            while True:
                duration = int(rng.integers(120, 361)) * 60
                if t + duration > end_of_period:
                    break
                day = (t - self.t0) // DAY
                number_by_day[day] = number_by_day.get(day, 0) + 1
                stamp = (datetime(1970, 1, 1) + timedelta(seconds=t)).strftime("%y%m%d")
                line_lots.append({
                    "lot_id": f"L{stamp}{'ABCDEFGH'[line_number]}{number_by_day[day]:02d}",
                    "line_id": line, "equipment_index": plant.main_equipment(line),
                    "start": t, "end": t + duration,
                    "product_code": plant.profile.products[int(rng.integers(0, len(plant.profile.products)))],
                    "pattern": bool(self.draws_pattern and rng.random() < self.pattern_share),
                })
                t += duration + int(rng.integers(10, 46)) * 60
            if self.label_pattern and len(line_lots) >= 2 and not any(lot["pattern"] for lot in line_lots) \
                    and self.behaviour is BEHAVIOUR["baseline"]:
                line_lots[1]["pattern"] = True  # every baseline line shows the pattern at least once
            lots.extend(line_lots)
        lots.sort(key=lambda lot: (lot["start"], lot["line_id"]))
        for lot in lots:
            pattern = lot["pattern"]
            low, high = self.plant.profile.lot_quantity
            lot["quantity"] = int(rng.integers(low, high + 1))
            scrap = behaviour["scrap_pattern" if pattern else "scrap_normal"]
            lot["defect_quantity"] = int(rng.binomial(lot["quantity"], scrap))
        return lots

    def pattern_sensor(self) -> int:
        tags = [s.tag for s in self.plant.sensors]
        return tags.index("TEMP") if "TEMP" in tags else 0

    def apply_pattern(self, values: np.ndarray, lots: list[dict], manifest: SampleManifest) -> None:
        """Pattern lots run hot: TEMP on the lot's equipment rises ~5 sd (still in range) during the lot,
        smoothly (15 min time constant) in and out, so the excursion is a process drift, not a spike."""
        plant = self.plant
        sensor_index = self.pattern_sensor()
        sensor = plant.sensors[sensor_index]
        limit = tag_dictionary()[sensor.tag]["max"]
        for lot in lots:
            if not lot["pattern"]:
                continue
            series = plant.series_index(lot["equipment_index"], sensor_index)
            size = 5.0 * plant.sds.reshape(-1)[series]
            window = (self.seconds >= lot["start"]) & (self.seconds < lot["end"])
            elapsed = (self.seconds[window] - lot["start"]).astype(np.float64)
            hot = size * (1 - np.exp(-elapsed / 900.0))
            values[series, window] = np.minimum(values[series, window] + hot, limit)
            after = (self.seconds >= lot["end"]) & (self.seconds < lot["end"] + 6 * 900)
            reached = size * (1 - np.exp(-(lot["end"] - lot["start"]) / 900.0))
            cooling = reached * np.exp(-(self.seconds[after] - lot["end"]).astype(np.float64) / 900.0)
            values[series, after] = np.minimum(values[series, after] + cooling, limit)
            manifest.pattern_lots.append({
                "company_id": self.company_id, "lot_id": lot["lot_id"], "line_id": lot["line_id"],
                "equipment_id": plant.equipment[lot["equipment_index"]].equipment_id, "tag": sensor.tag,
                "source_tag": sensor.source, "start_utc": self.utc_iso(lot["start"]),
                "end_utc": self.utc_iso(lot["end"]), "si_offset": round(5.0 * float(plant.sds.reshape(-1)[series]), 6),
            })

    # ------------------------------------------------------------------ planted defects
    def resolve(self, defect: PlantedDefect) -> tuple[int, int]:
        plant = self.plant
        sensor_index = next((j for j, s in enumerate(plant.sensors) if s.tag == defect.tag), None)
        if sensor_index is None:
            raise ValueError(f"{self.company_id} has no sensor with tag {defect.tag!r} "
                             f"(it has {sorted({s.tag for s in plant.sensors})})")
        ids = [e.equipment_id for e in plant.equipment]
        if defect.equipment_id is None:
            return sensor_index, 0
        if defect.equipment_id not in ids:
            raise ValueError(f"{self.company_id} has no equipment {defect.equipment_id!r} (it has {ids})")
        return sensor_index, ids.index(defect.equipment_id)

    def apply_defects(self, values: np.ndarray):
        """Change SI values for spike/out_of_range, and collect the row masks for gap/duplicate/missing."""
        plant = self.plant
        shape = values.shape
        masks = {"gap": np.zeros(shape, bool), "duplicate": np.zeros(shape, bool),
                 "missing_values": np.zeros(shape, bool), "window": {}, "spikes": {}}
        planted = []
        tags = tag_dictionary()
        for index, defect in enumerate(self.defects):
            if defect.kind == "late_file":  # a whole file, whatever its tags
                planted.append((index, defect, None, None))
                continue
            sensor_index, equipment_index = self.resolve(defect)
            planted.append((index, defect, sensor_index, equipment_index))
            series = plant.series_index(equipment_index, sensor_index)
            begin = self.local_seconds(defect.start)
            window = (self.seconds >= begin) & (self.seconds < begin + int(round(defect.hours * 3600)))
            if not window.any():
                raise ValueError(f"planted {defect.kind} at {defect.start} is outside the sample period")
            masks["window"][index] = window
            sensor = plant.sensors[sensor_index]
            low, high = tags[sensor.tag]["min"], tags[sensor.tag]["max"]
            sd = float(plant.sds[equipment_index, sensor_index])
            if defect.kind in ("gap", "duplicate", "missing_values"):
                masks[defect.kind][series] |= window
            elif defect.kind == "spike":
                positions = np.flatnonzero(window)
                picks = positions[np.linspace(0, len(positions) - 1, SPIKES_PER_WINDOW + 2)[1:-1].astype(int)]
                picks = np.unique(picks)
                level = float(plant.means[equipment_index, sensor_index])
                sign = 1.0 if level + (SPIKE_STD + 3) * sd < high else -1.0
                values[series, picks] = np.clip(values[series, picks] + sign * SPIKE_STD * sd, low, high)
                masks["spikes"][index] = picks
            elif defect.kind == "out_of_range":
                over = high + 0.2 * (high - low)
                values[series, window] = over + np.abs(values[series, window] - plant.means[equipment_index,
                                                                                            sensor_index])
        return masks, planted

    def client_values(self, values: np.ndarray) -> np.ndarray:
        plant = self.plant
        client = np.empty_like(values)
        for j, sensor in enumerate(plant.sensors):
            rows = [plant.series_index(e, j) for e in range(len(plant.equipment))]
            client[rows] = np.round(sensor.to_client(values[rows]), plant.decimals[j])
        return client

    def finish_defects(self, planted, masks, manifest: SampleManifest) -> None:
        plant = self.plant
        layout = plant.specs["sensor_readings"].get("layout", "wide")
        for index, defect, sensor_index, equipment_index in planted:
            record = {"kind": defect.kind, "company_id": self.company_id, "dataset": "sensor_readings",
                      "layout": layout}
            if defect.kind == "late_file":
                begin = self.local_seconds(defect.start)
                if not 0 <= begin - self.t0 < self.days * DAY:
                    raise ValueError(f"planted late_file at {defect.start} is outside the sample period")
                day_start = self.t0 + (begin - self.t0) // DAY * DAY
                path, relative = self.day_file(plant.specs["sensor_readings"], day_start)
                landed = day_start + DAY + int(round(defect.hours * 3600))
                os.utime(path, (self.utc_epoch(landed), self.utc_epoch(landed)))
                listed = next(f for f in manifest.files if f["path"] == relative)
                listed["landed_at_utc"] = self.utc_iso(landed)
                rows = listed["rows"]
                record.update(equipment_id=None, line_id=None, source_tag=None, tag=None, unit=None,
                              start_utc=self.utc_iso(day_start), end_utc=self.utc_iso(day_start + DAY),
                              landed_at_utc=self.utc_iso(landed), files=[relative], affected_rows=rows)
                manifest.defects.append(record)
                continue
            sensor = plant.sensors[sensor_index]
            equipment = plant.equipment[equipment_index]
            record.update(equipment_id=equipment.equipment_id, line_id=equipment.line_id, source_tag=sensor.source,
                          tag=sensor.tag, unit=sensor.unit)
            window = masks["window"][index]
            begin = self.local_seconds(defect.start)
            end = begin + int(round(defect.hours * 3600))
            days = sorted({int((s - self.t0) // DAY) for s in self.seconds[window]})
            files = [self.day_file(plant.specs["sensor_readings"], self.t0 + d * DAY)[1] for d in days]
            if defect.kind == "spike":
                picks = masks["spikes"][index]
                affected = len(picks)
                record["timestamps_utc"] = [self.utc_iso(self.seconds[p]) for p in picks]
            else:
                affected = int(window.sum())
            if layout == "wide" and defect.kind in ("gap", "duplicate"):
                record["whole_rows"] = True  # wide exports drop or repeat the equipment's whole row
            record.update(start_utc=self.utc_iso(begin), end_utc=self.utc_iso(end), files=files,
                          affected_rows=affected)
            manifest.defects.append(record)

    # ------------------------------------------------------------------ sensor files
    def write_sensors(self, client: np.ndarray, masks: dict, manifest: SampleManifest) -> None:
        spec = self.plant.specs["sensor_readings"]
        per_day = DAY // self.sampling if DAY % self.sampling == 0 else None
        for day in range(self.days):
            if per_day is not None:
                cols = slice(day * per_day, (day + 1) * per_day)
            else:
                cols = np.flatnonzero((self.seconds >= self.t0 + day * DAY) & (self.seconds < self.t0 + (day + 1) * DAY))
            day_start = self.t0 + day * DAY
            path, relative = self.day_file(spec, day_start)
            columns, readings = sensor_columns(self.plant, self.seconds[cols], client[:, cols],
                                               gap=masks["gap"][:, cols], duplicate=masks["duplicate"][:, cols],
                                               missing=masks["missing_values"][:, cols])
            rows = write_export(path, spec, columns, titles=self.titles(spec, day_start))
            self.counts["readings"] += readings
            self.record_file(manifest, spec, path, relative, rows, day_start=day_start,
                             last_event=int(self.seconds[cols][-1]) if rows else None)

    def titles(self, spec: dict, day_start: int) -> list[str]:
        label = (datetime(1970, 1, 1) + timedelta(seconds=int(day_start))).strftime("%Y-%m-%d")
        return title_lines(spec, is_korean(*self.header_names(spec)), label)

    @staticmethod
    def header_names(spec: dict) -> list[str]:
        names = list((spec.get("columns") or {}).values())
        names += list((spec.get("timestamp") or {}).get("columns") or [])
        names += [c for c in (_column(spec, "equipment"), _column(spec, "line"), spec.get("tag_column")) if c]
        names += list((spec.get("sensors") or {}).keys())
        return [str(n) for n in names]

    # ------------------------------------------------------------------ lots, inspections, events
    def by_day(self, items: list[dict], key: str) -> dict[int, list[dict]]:
        days: dict[int, list[dict]] = {day: [] for day in range(self.days)}
        for item in items:
            days.setdefault(int((item[key] - self.t0) // DAY), []).append(item)
        return days

    def write_frame(self, spec: dict, rows: list[dict], fields: list[tuple[str, str]], day: int,
                    manifest: SampleManifest) -> int:
        """Write rows (dicts keyed by standard field) under the mapping's column names; `fields` pairs a
        standard field with its column name, in file order."""
        timestamp = spec.get("timestamp") or {}
        fmt, locale = timestamp.get("format", "%Y-%m-%d %H:%M:%S"), timestamp.get("locale")
        time_fields = {"start", "end", "inspected_at", "event_time"}
        columns: dict[str, object] = {}
        for standard, name in fields:
            raw = [row.get(standard) for row in rows]
            if standard in time_fields:
                columns[name] = format_times(np.asarray(raw, dtype="datetime64[s]"), fmt, locale)
            elif raw and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
                integral = all(isinstance(v, int) for v in raw)
                columns[name] = pa.array(raw, type=pa.int64() if integral else pa.float64())
            else:
                columns[name] = pa.array(raw, type=pa.string())
        day_start = self.t0 + day * DAY
        path, relative = self.day_file(spec, day_start)
        count = write_export(path, spec, columns, titles=self.titles(spec, day_start))
        last = max((int(row[f]) for row in rows for f in time_fields if row.get(f) is not None), default=None)
        self.record_file(manifest, spec, path, relative, count, day_start=day_start, last_event=last)
        return count

    def fields(self, spec: dict, standard: list[str]) -> list[tuple[str, str]]:
        columns = spec.get("columns") or {}
        pairs = [(s, columns[s]) for s in standard if columns.get(s)]
        for key in ("line", "equipment"):
            name = _column(spec, key)
            if name and name not in [n for _, n in pairs]:
                pairs.insert(1, (f"{key}_id", name))
        return pairs

    def write_lots(self, lots: list[dict], manifest: SampleManifest) -> None:
        spec = self.plant.specs.get("production_lots")
        if spec is None:
            return
        fields = self.fields(spec, ["lot_id", "product_code", "start", "end", "quantity", "defect_quantity"])
        for day, day_lots in self.by_day(lots, "start").items():
            rows = [{**lot, "start": lot["start"], "end": lot["end"],
                     "equipment_id": self.plant.equipment[lot["equipment_index"]].equipment_id} for lot in day_lots]
            self.counts["lots"] += self.write_frame(spec, rows, fields, day, manifest)

    def write_inspections(self, lots: list[dict], manifest: SampleManifest) -> None:
        spec = self.plant.specs.get("quality_inspections")
        if spec is None:
            return
        korean = is_korean(*self.header_names(spec))
        labels = _first_labels(spec.get("result_values"))
        pass_label, fail_label = labels.get("pass", "PASS"), labels.get("fail", "FAIL")
        behaviour, rng = self.behaviour, self.rng
        fields = self.fields(spec, ["lot_id", "inspected_at", "characteristic", "measured_value", "lower_spec",
                                    "upper_spec", "unit", "result", "defect_type"])
        inspections = []
        for lot in lots:
            count = int(rng.integers(2, 5))
            # a failed lot fails one of its characteristics (the one its defect shows in)
            lot_failed = bool(rng.random() < (behaviour["fail_pattern"] if lot["pattern"] else self.fail_normal))
            failing = int(rng.integers(0, count))
            for k, char in enumerate(self.plant.profile.characteristics[:count]):
                lower, upper = char.target - char.tolerance, char.target + char.tolerance
                decimals = max(0, int(np.ceil(-np.log10(char.sd / 10))))
                failed = lot_failed and k == failing
                if failed:
                    side = 1.0 if rng.random() < 0.5 or lower - 0.5 * char.tolerance < 0 else -1.0
                    value = (upper if side > 0 else lower) + side * char.tolerance * rng.uniform(0.15, 0.5)
                else:
                    value = float(np.clip(rng.normal(char.target, char.sd), lower + 0.05 * char.tolerance,
                                          upper - 0.05 * char.tolerance))
                inspections.append({
                    "lot_id": lot["lot_id"], "line_id": lot["line_id"], "lot_start": lot["start"],
                    "inspected_at": lot["end"] + (5 + 7 * k + int(rng.integers(0, 6))) * 60,
                    "characteristic": char.name_ko if korean else char.name_en,
                    "measured_value": round(float(value), decimals), "lower_spec": round(float(lower), decimals),
                    "upper_spec": round(float(upper), decimals), "unit": char.unit,
                    "result": fail_label if failed else pass_label,
                    "defect_type": (char.defect_ko if korean else char.defect_en) if failed else None,
                })
        for day, rows in self.by_day(inspections, "lot_start").items():
            self.counts["inspections"] += self.write_frame(spec, rows, fields, day, manifest)
            self.counts["failed_inspections"] += sum(1 for r in rows if r["result"] == fail_label)

    def write_events(self, lots: list[dict], manifest: SampleManifest) -> None:
        spec = self.plant.specs.get("equipment_events")
        if spec is None:
            return
        plant, rng, behaviour = self.plant, self.rng, self.behaviour
        korean = is_korean(*self.header_names(spec))
        labels = _first_labels(spec.get("event_values"))
        fields = self.fields(spec, ["event_time", "event_type", "code", "message"])
        events = []

        def add(moment: int, equipment_index: int, kind: str, code: str, message: str) -> None:
            equipment = plant.equipment[equipment_index]
            events.append({"event_time": int(moment), "equipment_id": equipment.equipment_id,
                           "line_id": equipment.line_id, "event_type": labels.get(kind, kind.upper()),
                           "code": code, "message": message, "order": len(events)})

        for lot in lots:
            duration_min = (lot["end"] - lot["start"]) // 60
            for offset, e in enumerate(plant.line_equipment(lot["line_id"])):
                add(lot["start"] + offset * 60, e, "run", "R100",
                    f"생산 시작 {lot['lot_id']}" if korean else f"START {lot['lot_id']}")
                add(lot["end"] + offset * 60, e, "stop", "S200",
                    f"생산 종료 {lot['lot_id']}" if korean else f"END {lot['lot_id']}")
                if rng.random() < behaviour["alarm"]:
                    code, ko, en = plant.profile.alarms[1 + int(rng.integers(0, len(plant.profile.alarms) - 1))]
                    add(lot["start"] + int(rng.integers(10, duration_min - 5)) * 60, e, "alarm", code, ko if korean else en)
            if lot["pattern"] and rng.random() < behaviour["pattern_alarm"]:
                code, ko, en = plant.profile.alarms[0]
                add(lot["start"] + int(duration_min * 0.4) * 60 + 30, lot["equipment_index"], "alarm", code,
                    ko if korean else en)
        events.sort(key=lambda ev: (ev["event_time"], ev["equipment_id"], ev["order"]))
        for day, rows in self.by_day(events, "event_time").items():
            self.counts["events"] += self.write_frame(spec, rows, fields, day, manifest)


def sensor_columns(plant: Plant, seconds: np.ndarray, client: np.ndarray, *, gap: np.ndarray | None = None,
                   duplicate: np.ndarray | None = None, missing: np.ndarray | None = None,
                   limit: int | None = None) -> tuple[dict[str, pa.Array], int]:
    """The sensor export's columns for timestamps `seconds` and client-unit values (series x time),
    in the mapping's layout; gap rows are left out, duplicate rows written twice, missing cells empty.
    Returns the columns and the number of non-empty sensor values."""
    spec = plant.specs["sensor_readings"]
    n_time, n_eq, n_sensor = len(seconds), len(plant.equipment), len(plant.sensors)
    timestamp = spec.get("timestamp") or {}
    fmt, locale = timestamp.get("format", "%Y-%m-%d %H:%M:%S"), timestamp.get("locale")
    time_columns = list(timestamp.get("columns") or ["timestamp"])
    formats = [fmt] if len(time_columns) == 1 else list(split_format(fmt))
    time_parts = [format_times(seconds.astype("datetime64[s]"), f, locale) for f in formats]
    long = spec.get("layout", "wide") == "long"
    per_time = n_eq * n_sensor if long else n_eq
    time_index = np.repeat(np.arange(n_time, dtype=np.int32), per_time)
    slot = np.tile(np.arange(per_time, dtype=np.int32), n_time)
    equipment_index = slot // n_sensor if long else slot
    if gap is None:
        gap = duplicate = missing = np.zeros(client.shape, bool)
    if long:
        row_gap, row_dup = gap[slot, time_index], duplicate[slot, time_index]
    else:
        series = np.arange(n_eq)[:, None] * n_sensor + np.arange(n_sensor)[None, :]
        row_gap = gap[series].any(axis=1)[slot, time_index]
        row_dup = duplicate[series].any(axis=1)[slot, time_index]
    if row_gap.any() or row_dup.any():
        repeat = np.ones(len(slot), dtype=np.int64)
        repeat[row_dup] = 2
        repeat[row_gap] = 0
        take = np.repeat(np.arange(len(slot)), repeat)
        time_index, slot, equipment_index = time_index[take], slot[take], equipment_index[take]
    if limit is not None:
        time_index, slot, equipment_index = time_index[:limit], slot[:limit], equipment_index[:limit]

    def decoded(indices: np.ndarray, labels) -> pa.Array:
        labels = labels if isinstance(labels, pa.Array) else pa.array(list(labels), type=pa.string())
        return labels.take(pa.array(indices.astype(np.int32)))

    columns: dict[str, pa.Array] = {}
    for name, part in zip(time_columns, time_parts):
        columns[name] = decoded(time_index, part)
    line_column, equipment_column = _column(spec, "line"), _column(spec, "equipment")
    if line_column:
        columns[line_column] = decoded(equipment_index, [e.line_id for e in plant.equipment])
    if equipment_column:
        columns[equipment_column] = decoded(equipment_index, [e.equipment_id for e in plant.equipment])
    readings = 0
    if long:
        sensor_index = slot % n_sensor
        columns[spec["tag_column"]] = decoded(sensor_index, [s.source for s in plant.sensors])
        values = client[slot, time_index]
        empty = missing[slot, time_index]
        columns[spec["value_column"]] = pa.array(values, mask=empty)
        if spec.get("unit_column"):
            columns[spec["unit_column"]] = decoded(sensor_index, [s.unit for s in plant.sensors])
        readings = int(len(values) - empty.sum())
    else:
        for j, sensor in enumerate(plant.sensors):
            series = equipment_index * n_sensor + j
            values = client[series, time_index]
            empty = missing[series, time_index]
            columns[sensor.source] = pa.array(values, mask=empty)
            readings += int(len(values) - empty.sum())
    return columns, readings


def write_sensor_export(path: Path, *, company_id: str, readings: int, seed: int = 1, layout: str = "long",
                        clients_dir: Path | None = None, sampling_seconds: int = 10) -> int:
    """One large sensor export for `company_id` in its mapping's format (benchmarks): `readings` rows
    for a long layout (readings / sensors rows for wide), from SAMPLE_START every `sampling_seconds`.
    Returns the number of data rows written."""
    from orchestration.settings import clients_dir as default_clients_dir

    clients = {entry["company_id"]: (entry, mapping)
               for entry, mapping in load_clients(Path(clients_dir or default_clients_dir()))}
    if company_id not in clients:
        raise ValueError(f"{company_id} is not a registered client")
    entry, mapping = clients[company_id]
    plant = build_plant(company_id, entry.get("industry", ""), mapping)
    spec = plant.specs["sensor_readings"]
    if spec.get("layout", "wide") != layout:
        raise ValueError(f"{company_id}'s sensor export is {spec.get('layout', 'wide')}, not {layout}")
    per_time = len(plant.equipment) * (len(plant.sensors) if layout == "long" else 1)
    rows = readings if layout == "long" else -(-readings // len(plant.sensors))
    n_time = -(-rows // per_time)
    t0 = int((datetime.combine(SAMPLE_START, datetime.min.time()) - datetime(1970, 1, 1)).total_seconds())
    seconds = t0 + np.arange(n_time, dtype=np.int64) * sampling_seconds
    rng = np.random.default_rng(seed + stable_hash(company_id))
    values = sensor_series(plant, rng, seconds, sampling_seconds)
    client = np.empty_like(values)
    for j, sensor in enumerate(plant.sensors):
        series = [plant.series_index(e, j) for e in range(len(plant.equipment))]
        client[series] = np.round(sensor.to_client(values[series]), plant.decimals[j])
    columns, _ = sensor_columns(plant, seconds, client, limit=rows)
    day = (datetime(1970, 1, 1) + timedelta(seconds=t0)).strftime("%Y-%m-%d")
    titles = title_lines(spec, is_korean(*_CompanySample.header_names(spec)), day)
    return write_export(Path(path), spec, columns, titles=titles)
