"""A KAMP-style per-shot export (사출·다이캐스팅 샷 데이터), written as the client's machine exports it:
one CSV row per shot with the date and time in two columns, the shot counter, the machine state
(가동/정지), 40+ process columns and PassOrFail (0/1) in the same row, and the mapping YAML that
reads it with the project's mapping language (`sequence` = the shot counter; the same file read by
a sensor, an inspection and an event entry).

Shaped after the public KAMP die-casting dataset documentation, never copied. A learnable pattern
can be planted: a patterned shot runs a hot melt and a low casting pressure and fails far more
often ("inside": in its own row; "after": in the next shot's row, so only a leak could learn it;
None: labels are noise).

    export = write_shot_export(folder / "kamp" / "shots_20261001.csv", company_id="TEST-SHOT-02", shots=6000)
    export.mapping_yaml(files="kamp/*.csv")   # the datasets entries for the company's mapping
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

# column -> (standard tag, client unit, level, sd, decimals); levels inside dim_tag's plausible ranges
BASE_COLUMNS = {
    "molten_temp": ("TEMP", "degC", 720.0, 6.0, 1),
    "cast_pressure": ("PRES", "MPa", 62.0, 2.0, 2),
    "facility_operation_cycleTime": ("CYCLE_TIME", "s", 121.0, 2.0, 1),
    "production_cycletime": ("CYCLE_TIME", "s", 123.0, 2.0, 1),
    "low_section_speed": ("LIN_SPEED", "m/s", 0.11, 0.005, 4),
    "high_section_speed": ("LIN_SPEED", "m/s", 2.2, 0.1, 3),
    "molten_volume": ("WEIGHT", "kg", 84.0, 3.0, 2),
    "biscuit_thickness": ("THICKNESS", "mm", 50.0, 2.0, 2),
    "physical_strength": ("WEIGHT", "kg", 700.0, 12.0, 1),
    "sleeve_temperature": ("TEMP", "degC", 420.0, 20.0, 1),
    "Coolant_temperature": ("TEMP", "degC", 32.0, 0.8, 2),
}
PATTERN_COLUMNS = ("molten_temp", "cast_pressure")  # hot melt, low pressure: the planted cause


def process_columns(count: int) -> dict[str, tuple]:
    """`count` process columns: KAMP's named ones, then mould and cooling zone temperatures."""
    columns = dict(list(BASE_COLUMNS.items())[:count])
    zone = 1
    while len(columns) < count:
        columns[f"mold_zone{zone:02d}_temp"] = ("TEMP", "degC", 180.0 + 2 * zone, 6.0, 1)
        zone += 1
    return columns


@dataclass
class ShotExport:
    path: Path
    company_id: str
    columns: dict[str, tuple]
    shot_ids: list[str]
    failed: np.ndarray  # PassOrFail per shot, as written
    patterned: np.ndarray  # which shots ran the pattern (in their own row, or the next one's)
    stopped: np.ndarray
    notes: dict = field(default_factory=dict)

    @property
    def defect_rate(self) -> float:
        return float(self.failed.mean())

    def mapping_yaml(self, files: str, *, equipment: str = "DCM-01", line: str = "DC-LINE",
                     label_files: str | None = None) -> str:
        """The `datasets:` entries that read this export (indented for a mapping file); with
        `label_files`, the verdicts are read from the separate verdict files instead of the row."""
        return shot_mapping_yaml(self.columns, files, equipment=equipment, line=line, label_files=label_files)


def shot_mapping_yaml(columns: dict[str, tuple], files: str, *, equipment: str = "DCM-01", line: str = "DC-LINE",
                      label_files: str | None = None) -> str:
    sensors = "\n".join(f"      {name}: {{tag: {tag}, unit: {unit}}}" for name, (tag, unit, *_rest) in columns.items())
    results = f"""\
  - dataset: quality_inspections
    name: shot_results
    files: "{files}"
    timestamp: {{format: "%Y-%m-%d %H:%M:%S"}}
    line: {{value: {line}}}
    columns: {{lot_id: count, inspected_at: [date, time], result: passorfail, characteristic: {{value: shot}}}}
    result_values: {{"0": pass, "1": fail}}
""" if label_files is None else f"""\
  - dataset: quality_inspections
    name: shot_verdicts
    files: "{label_files}"
    timestamp: {{format: "%Y-%m-%d %H:%M:%S"}}
    line: {{value: {line}}}
    columns: {{lot_id: 샷번호, inspected_at: 판정일시, result: 판정, characteristic: {{value: shot}}}}
    result_values: {{양품: pass, 불량: fail}}
"""
    return f"""\
  - dataset: sensor_readings
    name: shots
    files: "{files}"
    timestamp: {{columns: [date, time], format: "%Y-%m-%d %H:%M:%S"}}
    equipment: {{value: {equipment}}}
    line: {{value: {line}}}
    layout: wide
    sequence: {{column: count}}
    lot: {{column: count}}
    sensors:
{sensors}
{results}  - dataset: equipment_events
    name: shot_states
    files: "{files}"
    timestamp: {{format: "%Y-%m-%d %H:%M:%S"}}
    equipment: {{value: {equipment}}}
    line: {{value: {line}}}
    columns: {{event_time: [date, time], event_type: working}}
    event_values: {{가동: run, 정지: stop}}
"""


def write_shot_export(path: Path, *, company_id: str, shots: int = 6000, columns: int = 42,
                      pattern: str | None = "inside", seed: int = 7, start: datetime = datetime(2026, 10, 1, 7, 0),
                      cycle_s: tuple[int, int] = (50, 70), pattern_share: float = 0.015, fail_pattern: float = 0.5,
                      fail_normal: float = 0.002, first_shot: int = 100, label_path: Path | None = None,
                      drift_sd: dict[str, float] | None = None, spec: dict[str, tuple] | None = None) -> ShotExport:
    """Write the export (UTF-8, CRLF, local wall-clock time) and return what was written. With
    `label_path` the verdicts go to a separate file (shot number, judged a few minutes after the
    shot, 양품/불량), as an inspection station keyed by shot number exports them; `drift_sd` shifts
    columns by that many sds (a drifting sensor or process)."""
    if pattern not in ("inside", "after", None):
        raise ValueError(f"pattern must be 'inside', 'after' or None, not {pattern!r}")
    rng = np.random.default_rng(seed)
    spec = spec or process_columns(columns)
    patterned = rng.random(shots) < pattern_share if pattern else np.zeros(shots, bool)
    failed = rng.random(shots) < np.where(patterned, fail_pattern, fail_normal)
    shown = np.roll(patterned, 1) & (np.arange(shots) > 0) if pattern == "after" else patterned
    stopped = rng.random(shots) < 0.01
    offsets = np.cumsum(rng.integers(cycle_s[0], cycle_s[1] + 1, shots))
    moments = [start + timedelta(seconds=int(s)) for s in offsets]
    values = {}
    for name, (_tag, _unit, level, sd, _digits) in spec.items():
        series = level + sd * rng.standard_normal(shots)
        if name in PATTERN_COLUMNS:
            series = series + np.where(shown, 3 * sd if name == "molten_temp" else -3 * sd, 0.0)
        values[name] = series + sd * (drift_sd or {}).get(name, 0.0)
    shot_ids = [str(first_shot + i) for i in range(shots)]
    inline_label = label_path is None
    header = ["line", "name", "mold_name", "time", "date", "count", "working", "emergency_stop", *spec,
              *(["passorfail"] if inline_label else []), "mold_code"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header)
        for i in range(shots):
            at = moments[i]
            writer.writerow(["전자교반 3라인", "TM Carrier RH", "TM Carrier RH-Semi-Solid DIE-06",
                             at.strftime("%H:%M:%S"), at.strftime("%Y-%m-%d"), shot_ids[i],
                             "정지" if stopped[i] else "가동", "ON",
                             *(f"{values[n][i]:.{spec[n][4]}f}" for n in spec),
                             *(["1" if failed[i] else "0"] if inline_label else []), "8917"])
    if label_path is not None:
        label_path.parent.mkdir(parents=True, exist_ok=True)
        with label_path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(["샷번호", "판정일시", "판정"])
            for i in range(shots):
                judged = moments[i] + timedelta(minutes=3)
                writer.writerow([shot_ids[i], judged.strftime("%Y-%m-%d %H:%M:%S"), "불량" if failed[i] else "양품"])
    return ShotExport(path, company_id, spec, shot_ids, failed, patterned, stopped,
                      notes={"first": moments[0], "last": moments[-1]})


# ---------------------------------------------------------------- a registered per-shot sample client

def per_shot_entries(mapping: dict) -> tuple[dict, dict, dict] | None:
    """(shot table, verdicts, machine states) entries when the mapping reads a per-shot export in
    the shape written here (a wide sensor entry with `sequence: {column: count}` and a verdict
    entry keyed by 샷번호), else None: the lot generator writes that company."""
    by_name = {e.get("name"): e for e in mapping.get("datasets") or []}
    shots, verdicts, states = by_name.get("shots"), by_name.get("shot_verdicts"), by_name.get("shot_states")
    if not (shots and verdicts and states) or (shots.get("sequence") or {}).get("column") != "count":
        return None
    return shots, verdicts, states


# The machine's shot counter runs on from day to day, whichever days an export covers: the days
# generated in one call and in several calls get the same shot numbers. (Restarting at 100 in
# every call gave each later day the numbers of the first day's shots, so a benchmark adding one
# day at a time made every such shot a window of weeks.)
SHOT_COUNTER_FROM = date(2020, 1, 1)


def first_shot_of(day: date, shots_a_day: int) -> int:
    """The counter of the first shot of `day`."""
    return 100 + (day - SHOT_COUNTER_FROM).days * shots_a_day


def write_shot_company(landing_root: Path, company_id: str, mapping: dict, *, seed: int, start, days: int,
                       label_pattern: bool, company_seed: int, sampling_seconds: int = 60) -> tuple[list[dict], dict]:
    """`days` daily shot tables of a die caster casting around the clock (a shot every 30-40 s),
    with the day's verdict file for every day but the last (its verdicts come back after the
    export: those shots are what the model scores first), and the last day drifted (the melt runs
    1.2 sd hot: a thermocouple or furnace drift the post-management watch must flag).
    `sampling_seconds` scales the data as it does the lot clients' (60: 2,400 shots a day, a shot
    every 30-40 s; coarser: proportionally fewer, for small test samples).
    Returns (manifest file records, company summary)."""
    from zoneinfo import ZoneInfo

    shots_entry, verdict_entry, _ = per_shot_entries(mapping)
    columns = {name: BASE_COLUMNS.get(name) or ("TEMP", "degC", 180.0 + 2 * i, 6.0, 1)
               for i, name in enumerate(shots_entry["sensors"])}
    zone = ZoneInfo(mapping.get("timezone") or "Asia/Seoul")
    shots_a_day = max(100, 2400 * 60 // max(1, int(sampling_seconds)))
    files, counts = [], {"shots": 0, "labelled_shots": 0, "failed_shots": 0}
    for day in range(days):
        local_day = datetime(start.year, start.month, start.day) + timedelta(days=day)
        stamp = local_day.strftime("%Y%m%d")
        shot_relative = shots_entry["files"].replace("*", stamp, 1)
        label_relative = verdict_entry["files"].replace("*", stamp, 1) if day < days - 1 or days == 1 else None
        drifted = days >= 3 and day == days - 1
        export = write_shot_export(
            landing_root / company_id / shot_relative, company_id=company_id, shots=shots_a_day, columns=0,
            pattern="inside" if label_pattern else None, seed=seed + company_seed + day, start=local_day,
            cycle_s=(30 * 2400 // shots_a_day, 40 * 2400 // shots_a_day), pattern_share=0.02, fail_pattern=0.7, fail_normal=0.001,
            first_shot=first_shot_of(local_day.date(), shots_a_day),
            label_path=landing_root / company_id / label_relative if label_relative else None,
            drift_sd={"molten_temp": 1.2} if drifted else None, spec=columns)
        counts["shots"] += len(export.shot_ids)
        end_of_day = local_day + timedelta(days=1)
        for relative, dataset, landed in ((shot_relative, "sensor_readings", end_of_day + timedelta(minutes=7)),
                                          (label_relative, "quality_inspections",
                                           end_of_day + timedelta(minutes=20))):
            if relative is None:
                continue
            epoch = landed.replace(tzinfo=zone).timestamp()
            os.utime(landing_root / company_id / relative, (epoch, epoch))
            files.append({"path": f"{company_id}/{relative}", "dataset": dataset, "rows": len(export.shot_ids),
                          "format": "csv", "encoding": "utf-8",
                          "landed_at_utc": datetime.fromtimestamp(epoch, timezone.utc).isoformat()
                          .replace("+00:00", "Z")})
        if label_relative:
            counts["labelled_shots"] += len(export.shot_ids)
            counts["failed_shots"] += int(export.failed.sum())
    summary = {"industry": "die_casting_per_shot", "timezone": str(zone), "lines": [shots_entry["line"]["value"]],
               "equipment": [{"equipment_id": shots_entry["equipment"]["value"],
                              "line_id": shots_entry["line"]["value"], "name_ko": "다이캐스팅기",
                              "name_en": "Die casting machine"}],
               "sensors": [{"equipment_id": shots_entry["equipment"]["value"], "source": name, "tag": tag,
                            "unit": unit} for name, (tag, unit, *_r) in columns.items()],
               "counts": counts, "planted_pattern": label_pattern, "unit_kind": "shot",
               "drifted_day": (datetime(start.year, start.month, start.day) + timedelta(days=days - 1)).date()
               .isoformat() if days >= 3 else None}
    return files, summary
