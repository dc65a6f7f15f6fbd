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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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

    def mapping_yaml(self, files: str, *, equipment: str = "DCM-01", line: str = "DC-LINE") -> str:
        """The `datasets:` entries that read this export (indented for a mapping file)."""
        sensors = "\n".join(f"      {name}: {{tag: {tag}, unit: {unit}}}"
                            for name, (tag, unit, *_rest) in self.columns.items())
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
  - dataset: quality_inspections
    name: shot_results
    files: "{files}"
    timestamp: {{format: "%Y-%m-%d %H:%M:%S"}}
    line: {{value: {line}}}
    columns: {{lot_id: count, inspected_at: [date, time], result: passorfail, characteristic: {{value: shot}}}}
    result_values: {{"0": pass, "1": fail}}
  - dataset: equipment_events
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
                      fail_normal: float = 0.002, first_shot: int = 100) -> ShotExport:
    """Write the export (UTF-8, CRLF, local wall-clock time) and return what was written."""
    if pattern not in ("inside", "after", None):
        raise ValueError(f"pattern must be 'inside', 'after' or None, not {pattern!r}")
    rng = np.random.default_rng(seed)
    spec = process_columns(columns)
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
        values[name] = series
    shot_ids = [str(first_shot + i) for i in range(shots)]
    header = ["line", "name", "mold_name", "time", "date", "count", "working", "emergency_stop", *spec,
              "passorfail", "mold_code"]
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
                             "1" if failed[i] else "0", "8917"])
    return ShotExport(path, company_id, spec, shot_ids, failed, patterned, stopped,
                      notes={"first": moments[0], "last": moments[-1]})
