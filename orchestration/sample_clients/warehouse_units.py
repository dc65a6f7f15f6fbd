"""Warehouse-shaped production units with a planted, learnable defect pattern (or none), for the
AI tests and the features benchmark: the marts the feature models read (lots, inspections,
readings, events), written straight into DuckDB so a demonstration test takes seconds.

Two shapes real clients send:
- `lot`: lots of 30 min back to back on each line's equipment, three sensors sampled every 3 min,
  one inspection per lot 10 min after its end;
- `shot`: a KAMP-style per-shot table (one row per 30 s shot, 40+ process columns, PassOrFail at
  ~1 %) as it lands: readings carrying the shot number, the label in the same row at the same time.

`pattern` says where the defect-causing excursion sits: "inside" the unit's window (learnable),
"after" the unit's end (a leak would be needed to learn it), or None (labels are pure noise).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import duckdb
import numpy as np
import pandas as pd

from orchestration.sample_clients.plant import tag_dictionary

START = datetime(2026, 9, 1, tzinfo=timezone.utc)
LOT_SENSORS = (("TEMP_PV", "TEMP", 72.0, 0.5), ("PRES_PV", "PRES", 150.0, 2.5), ("VIB_RMS", "VIB", 2.0, 0.1))
# Levels stay inside the tag dictionary's plausible ranges (as issue 10 will widen them for die casting).
SHOT_TAGS = ("TEMP", "PRES", "SPEED", "FLOW", "POWER", "CURRENT")
SHOT_LEVELS = {"TEMP": (220.0, 4.0), "PRES": (3000.0, 40.0), "SPEED": (1500.0, 15.0), "FLOW": (12.0, 0.3),
               "POWER": (45.0, 0.8), "CURRENT": (40.0, 0.5)}


@dataclass
class UnitSample:
    company_id: str
    kind: str
    lots: pd.DataFrame
    inspections: pd.DataFrame
    readings: pd.DataFrame
    events: pd.DataFrame

    @property
    def defect_rate(self) -> float:
        return float(self.inspections.groupby("lot_key")["is_defect"].any().mean())

    def before(self, moment: pd.Timestamp) -> "UnitSample":
        """Only what was known strictly before `moment`: lots that had started, labels that had
        arrived, readings and events timestamped before it."""
        return UnitSample(
            self.company_id, self.kind,
            self.lots[self.lots.start_ts_utc < moment],
            self.inspections[self.inspections.inspected_at_utc < moment],
            self.readings[self.readings.reading_ts_utc < moment],
            self.events[self.events.event_ts_utc < moment])

    def after(self, moment: pd.Timestamp) -> "UnitSample":
        """Units that started at or after `moment` (a later day's data landing)."""
        lots = self.lots[self.lots.start_ts_utc >= moment]
        return UnitSample(
            self.company_id, self.kind, lots,
            self.inspections[self.inspections.lot_key.isin(lots.lot_key)],
            self.readings[self.readings.reading_ts_utc >= moment],
            self.events[self.events.event_ts_utc >= moment])


def _stamp(seconds: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(START) + pd.to_timedelta(seconds, unit="s"))


def lot_units(company_id: str = "TEST-LOT-01", *, units: int = 3000, pattern: str | None = "inside",
              seed: int = 1, pattern_share: float = 0.05, fail_pattern: float = 0.6,
              fail_normal: float = 0.002, lines: int = 2) -> UnitSample:
    """Lots on `lines` lines; a pattern lot's TEMP rises ~4 sd during its window ("inside") or
    during the 30 min after it ended ("after"); its label fails with `fail_pattern`."""
    rng = np.random.default_rng(seed)
    per_line = units // lines
    lot_s, gap_s, step_s = 1800, 300, 180
    lots, inspections, readings, events = [], [], [], []
    for line in range(lines):
        line_id, equipment_id = f"LINE-{'ABCD'[line]}", f"EQ-{line + 1:02d}"
        starts = np.arange(per_line) * (lot_s + gap_s) + line * 37
        ends = starts + lot_s
        patterned = rng.random(per_line) < pattern_share if pattern else np.zeros(per_line, bool)
        failed = rng.random(per_line) < np.where(patterned, fail_pattern, fail_normal)
        ids = [f"{line_id}-{i:05d}" for i in range(per_line)]
        keys = [f"{company_id}|{i}" for i in ids]
        lots.append(pd.DataFrame({"lot_key": keys, "company_id": company_id, "line_id": line_id,
                                  "equipment_id": equipment_id, "lot_id": ids, "product_code": "P-1",
                                  "start_s": starts, "end_s": ends}))
        inspections.append(pd.DataFrame({"lot_key": keys, "company_id": company_id, "line_id": line_id,
                                         "lot_id": ids, "inspected_s": ends + 600, "is_defect": failed}))
        t = np.arange(0, int(ends[-1]) + 2 * lot_s, step_s) + line * 37
        for source, tag, level, sd in LOT_SENSORS:
            values = level + sd * (0.7 * rng.standard_normal(len(t)) + 0.3 * np.sin(t / 7200.0 + line))
            if source == "TEMP_PV" and pattern:
                shift = np.zeros(len(t))
                offset = 0 if pattern == "inside" else lot_s
                for start in starts[patterned] + offset:
                    inside = (t >= start) & (t < start + lot_s)
                    shift[inside] = 4 * sd * np.minimum(1.0, (t[inside] - start + step_s) / 600.0)
                values = values + shift
            readings.append(pd.DataFrame({"company_id": company_id, "line_id": line_id, "equipment_id": equipment_id,
                                          "source_tag": source, "tag_code": tag, "reading_s": t, "value_si": values}))
        alarms = starts + rng.integers(60, lot_s - 60, per_line)
        alarm_on = rng.random(per_line) < 0.05
        for kind, moments in (("run", starts), ("stop", ends), ("alarm", alarms[alarm_on])):
            events.append(pd.DataFrame({"company_id": company_id, "line_id": line_id, "equipment_id": equipment_id,
                                        "event_type": kind, "event_s": moments}))
    return _sample(company_id, "lot", lots, inspections, readings, events)


def shot_units(company_id: str = "TEST-SHOT-01", *, shots: int = 6000, pattern: str | None = "inside",
               seed: int = 2, columns: int = 42, fail_pattern: float = 0.5, fail_normal: float = 0.002,
               pattern_share: float = 0.015) -> UnitSample:
    """A per-shot table as KAMP's die-casting export lands: one row per shot every 30 s on one
    machine, `columns` process values all stamped with the shot's time and carrying its shot number
    (`sequence_id`), PassOrFail in the same row (an inspection of lot id = shot number at the shot's
    time), the shot as an instant lot (start = end) and the machine's 가동/정지 state per row.
    A pattern shot has a hot melt (column 0 +3 sd) and low cast pressure (column 1 -3 sd); with
    pattern "after", the excursion shows in the next shot's row instead of its own."""
    rng = np.random.default_rng(seed)
    cycle = 30
    starts = np.arange(shots) * cycle
    patterned = rng.random(shots) < pattern_share if pattern else np.zeros(shots, bool)
    failed = rng.random(shots) < np.where(patterned, fail_pattern, fail_normal)
    shown = patterned if pattern != "after" else np.roll(patterned, 1) & (np.arange(shots) > 0)
    ids = [f"{100 + i}" for i in range(shots)]
    keys = [shot_key(company_id, i) for i in ids]
    lots = [pd.DataFrame({"lot_key": keys, "company_id": company_id, "line_id": "DC-LINE", "equipment_id": "DCM-01",
                          "lot_id": ids, "product_code": "MOLD-8917", "start_s": starts, "end_s": starts})]
    inspections = [pd.DataFrame({"lot_key": keys, "company_id": company_id, "line_id": "DC-LINE", "lot_id": ids,
                                 "inspected_s": starts, "is_defect": failed})]
    readings = []
    for c in range(columns):
        tag = SHOT_TAGS[c % len(SHOT_TAGS)]
        level, sd = SHOT_LEVELS[tag]
        values = level * (1 + 0.01 * c) + sd * rng.standard_normal(shots)
        if c in (0, 1):
            values = values + np.where(shown, 3 * sd if c == 0 else -3 * sd, 0.0)
        readings.append(pd.DataFrame({"company_id": company_id, "line_id": "DC-LINE", "equipment_id": "DCM-01",
                                      "source_tag": f"process_{c:02d}", "tag_code": tag, "sequence_id": ids,
                                      "reading_s": starts, "value_si": values}))
    stopped = rng.random(shots) < 0.003
    events = [pd.DataFrame({"company_id": company_id, "line_id": "DC-LINE", "equipment_id": "DCM-01",
                            "event_type": np.where(stopped, "stop", "run"), "event_s": starts})]
    return _sample(company_id, "shot", lots, inspections, readings, events)


def shot_key(company_id: str, shot_id: str) -> str:
    """The warehouse's lot_key of a shot's inspections (surrogate_key of company and lot id), which
    is the shot's unit_key."""
    return hashlib.md5(f"{company_id}|{shot_id}".encode()).hexdigest()


def _sample(company_id, kind, lots, inspections, readings, events) -> UnitSample:
    lots, inspections = pd.concat(lots, ignore_index=True), pd.concat(inspections, ignore_index=True)
    readings, events = pd.concat(readings, ignore_index=True), pd.concat(events, ignore_index=True)
    lots["start_ts_utc"], lots["end_ts_utc"] = _stamp(lots.pop("start_s")), _stamp(lots.pop("end_s"))
    inspections["inspected_at_utc"] = _stamp(inspections.pop("inspected_s"))
    readings["reading_ts_utc"] = _stamp(readings.pop("reading_s"))
    readings["sensor_id"] = readings.equipment_id + ":" + readings.source_tag
    if "sequence_id" not in readings:
        readings["sequence_id"] = None
    readings["sequence_id"] = readings.sequence_id.astype("string")
    events["event_ts_utc"] = _stamp(events.pop("event_s"))
    events = events.sort_values("event_ts_utc", kind="stable").reset_index(drop=True)
    events["event_key"] = [f"{company_id}|e{i}" for i in range(len(events))]
    return UnitSample(company_id, kind, lots, inspections, readings, events)


def load_marts(con: duckdb.DuckDBPyConnection, *samples: UnitSample) -> None:
    """(Re)create the marts the feature models read, holding `samples`."""
    frames = {name: pd.concat([getattr(s, name) for s in samples], ignore_index=True)
              for name in ("lots", "inspections", "readings", "events")}
    # an all-null object column would be read as INTEGER; the warehouse's sequence_id is text
    frames["readings"]["sequence_id"] = frames["readings"].sequence_id.astype("string")
    tags = pd.DataFrame([{"tag_code": code, "plausible_min": entry["min"], "plausible_max": entry["max"]}
                         for code, entry in tag_dictionary().items()])
    con.execute("set TimeZone = 'UTC'")
    for table, frame in (("fct_production_lots", frames["lots"]), ("fct_quality_inspections", frames["inspections"]),
                         ("fct_sensor_readings", frames["readings"]), ("fct_equipment_events", frames["events"]),
                         ("dim_tag", tags)):
        con.register("frame", frame)
        con.execute(f"create or replace table main.{table} as select * from frame")
        con.unregister("frame")
    for table, columns in (("fct_production_lots", ["start_ts_utc", "end_ts_utc"]),
                           ("fct_quality_inspections", ["inspected_at_utc"]),
                           ("fct_sensor_readings", ["reading_ts_utc"]), ("fct_equipment_events", ["event_ts_utc"])):
        for column in columns:
            con.execute(f"alter table main.{table} alter {column} type timestamptz")
    con.execute("""
        create or replace table main.fct_sensor_readings_hourly as
        select company_id, line_id, equipment_id, sensor_id, source_tag, tag_code,
               date_trunc('hour', reading_ts_utc) as hour_utc, count(*) as readings,
               min(value_si) as min_value_si, max(value_si) as max_value_si,
               avg(value_si) as avg_value_si, stddev_samp(value_si) as stddev_value_si
        from main.fct_sensor_readings group by all
    """)
    for table in ("fct_sensor_readings", "fct_sensor_readings_hourly"):  # one warehouse load holds them all
        con.execute(f"alter table main.{table} add column _load_seq bigint default 1")
    for table in ("fct_quality_inspections", "fct_equipment_events"):  # and one bronze version
        con.execute(f"alter table main.{table} add column _bronze_version bigint default 1")
