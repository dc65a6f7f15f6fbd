"""A client's plant as the sample generator models it, derived from the registry entry and the
client's mapping: lines, equipment, which sensors each equipment has, and their normal levels.

The plant depends only on the company (a stable hash of its id), never on the run's seed, so a
baseline and a follow-up sample describe the same factory.
"""

from __future__ import annotations

import csv
import functools
import math
import zlib
from dataclasses import dataclass

import numpy as np

from orchestration.settings import SEEDS_DIR
from orchestration.sample_clients.profiles import IndustryProfile, level_for, profile_for


@functools.lru_cache(maxsize=1)
def unit_conversions() -> dict[str, tuple[float, float, str]]:
    """unit code -> (multiplier, offset, si unit) from the unit_conversions seed (si = v*m + o)."""
    with open(SEEDS_DIR / "unit_conversions.csv", encoding="utf-8") as handle:
        return {r["unit"]: (float(r["multiplier"]), float(r["offset"]), r["si_unit"]) for r in csv.DictReader(handle)}


@functools.lru_cache(maxsize=1)
def tag_dictionary() -> dict[str, dict]:
    with open(SEEDS_DIR / "tag_dictionary.csv", encoding="utf-8") as handle:
        return {r["tag_code"]: {"si_unit": r["si_unit"], "min": float(r["plausible_min"]),
                                "max": float(r["plausible_max"])} for r in csv.DictReader(handle)}


def stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


@dataclass(frozen=True)
class Sensor:
    source: str  # the client's column (wide) or tag name (long)
    tag: str  # standard tag code
    unit: str  # the client's unit code
    multiplier: float
    offset: float

    def to_client(self, si: np.ndarray) -> np.ndarray:
        return (si - self.offset) / self.multiplier

    def to_si(self, value: np.ndarray) -> np.ndarray:
        return value * self.multiplier + self.offset


@dataclass(frozen=True)
class Equipment:
    equipment_id: str
    line_id: str
    name_ko: str
    name_en: str


@dataclass
class Plant:
    company_id: str
    industry: str
    profile: IndustryProfile
    mapping: dict
    specs: dict[str, dict]  # dataset -> mapping entry
    lines: list[str]
    equipment: list[Equipment]
    sensors: list[Sensor]
    means: np.ndarray  # (equipment, sensor) SI normal level
    sds: np.ndarray  # (equipment, sensor) SI noise sd
    periods: np.ndarray  # (equipment, sensor) slow drift period, seconds
    phases: np.ndarray  # (equipment, sensor, 2) drift and daily phases
    decimals: list[int]  # per sensor, in client units

    @property
    def series_count(self) -> int:
        return len(self.equipment) * len(self.sensors)

    def series_index(self, equipment_index: int, sensor_index: int) -> int:
        return equipment_index * len(self.sensors) + sensor_index

    def main_equipment(self, line_id: str) -> int:
        """The equipment a line's lots are booked on: the first on the line."""
        return next(i for i, e in enumerate(self.equipment) if e.line_id == line_id)

    def line_equipment(self, line_id: str) -> list[int]:
        return [i for i, e in enumerate(self.equipment) if e.line_id == line_id]

    @property
    def timezone(self) -> str:
        return self.specs["sensor_readings"].get("timestamp", {}).get("timezone") or self.mapping.get(
            "timezone", "Asia/Seoul")


def mapped_sensors(spec: dict) -> list[Sensor]:
    units = unit_conversions()
    tags = tag_dictionary()
    entries = spec.get("sensors") if spec.get("layout", "wide") == "wide" else spec.get("tags")
    sensors = []
    for source, entry in (entries or {}).items():
        tag = entry["tag"]
        if tag not in tags:
            raise ValueError(f"mapping sensor {source!r}: tag {tag!r} is not in the tag dictionary seed")
        unit = entry.get("unit") or tags[tag]["si_unit"]
        if unit not in units:
            raise ValueError(f"mapping sensor {source!r}: unit {unit!r} is not in the unit_conversions seed")
        multiplier, offset, _ = units[unit]
        sensors.append(Sensor(str(source), tag, unit, multiplier, offset))
    if not sensors:
        raise ValueError("the sensor_readings mapping lists no sensors/tags")
    return sensors


def build_plant(company_id: str, industry: str, mapping: dict) -> Plant:
    specs = {spec["dataset"]: spec for spec in mapping.get("datasets") or []}
    if "sensor_readings" not in specs:
        raise ValueError(f"{company_id}: the mapping has no sensor_readings dataset")
    rng = np.random.default_rng(stable_hash(company_id))
    profile = profile_for(industry)
    sensor_spec = specs["sensor_readings"]

    fixed_lines = [s["line"]["value"] for s in specs.values() if isinstance(s.get("line"), dict) and "value" in s["line"]]
    line_count = int(rng.integers(1, 3))
    lines = [str(fixed_lines[0])] if fixed_lines else [f"LINE-{'AB'[i]}" for i in range(line_count)]

    fixed_equipment = (sensor_spec.get("equipment") or {}).get("value")
    if fixed_equipment:
        kind = profile.equipment[0]
        equipment = [Equipment(str(fixed_equipment), lines[0], kind[1], kind[2])]
    else:
        equipment = []
        for number, line in enumerate(lines, start=1):
            for prefix, name_ko, name_en in profile.equipment[: int(rng.integers(2, 4))]:
                equipment.append(Equipment(f"{prefix}-{number:02d}", line, name_ko, name_en))

    sensors = mapped_sensors(sensor_spec)
    tags = tag_dictionary()
    shape = (len(equipment), len(sensors))
    means, sds = np.zeros(shape), np.zeros(shape)
    for j, sensor in enumerate(sensors):
        level, sd = level_for(profile, sensor.tag)
        means[:, j] = level * (1 + rng.uniform(-0.05, 0.05, len(equipment)))
        sds[:, j] = sd * rng.uniform(0.8, 1.2, len(equipment))
        low, high = tags[sensor.tag]["min"], tags[sensor.tag]["max"]
        means[:, j] = np.clip(means[:, j], low + 15 * sds[:, j], high - 15 * sds[:, j])
    decimals = []
    for j, sensor in enumerate(sensors):
        resolution = float(sds[:, j].min()) / abs(sensor.multiplier) / 20
        decimals.append(int(min(6, max(0, math.ceil(-math.log10(resolution))))))
    return Plant(
        company_id=company_id, industry=industry, profile=profile, mapping=mapping, specs=specs, lines=lines,
        equipment=equipment, sensors=sensors, means=means, sds=sds,
        periods=rng.uniform(1.5, 4.0, shape) * 86400, phases=rng.uniform(0, 2 * np.pi, shape + (2,)),
        decimals=decimals,
    )


def sensor_series(plant: Plant, rng: np.random.Generator, seconds: np.ndarray, sampling_seconds: int) -> np.ndarray:
    """SI values, shape (series, time): smooth noise around each sensor's level, a slow drift over
    days and a small daily cycle; `seconds` are local wall-clock epoch seconds."""
    n = len(seconds)
    k = plant.series_count
    window = int(max(2, min(30, round(900 / sampling_seconds))))
    white = rng.standard_normal((k, n + window))
    summed = np.cumsum(white, axis=1)
    smooth = (summed[:, window:] - summed[:, :-window]) / np.sqrt(window)
    jitter = white[:, window:] * 0.25
    means = plant.means.reshape(-1, 1)
    sds = plant.sds.reshape(-1, 1)
    periods = plant.periods.reshape(-1, 1)
    phases = plant.phases.reshape(k, 2)
    t = seconds.astype(np.float64).reshape(1, -1)
    drift = 0.8 * np.sin(2 * np.pi * t / periods + phases[:, :1])
    daily = 0.5 * np.sin(2 * np.pi * t / 86400 + phases[:, 1:])
    values = means + sds * (smooth + jitter + drift + daily)
    tags = tag_dictionary()
    for j, sensor in enumerate(plant.sensors):
        rows = [plant.series_index(e, j) for e in range(len(plant.equipment))]
        values[rows] = np.clip(values[rows], tags[sensor.tag]["min"], tags[sensor.tag]["max"])
    return values
