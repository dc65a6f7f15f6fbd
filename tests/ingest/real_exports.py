"""Client exports in the shapes real Korean SMEs send, generated (seeded, small) by the tests.

Shaped after public KAMP (Korea AI Manufacturing Platform) dataset documentation, never copied:
a per-shot die-casting table, a 5-second extruder PLC log (`2020 10 30 00:00:04`), a press log
whose timestamps carry only a date, a melting-tank log at minute resolution (~10 rows a minute), a
CNC log without any clock (100 ms samples, start in the file name) and an MES work-order export
with quoted thousands and 1st..10th shipment columns.

Each `Export` keeps the values it wrote (`rows`: one dict per data row, in file order, with its
1-based line number), so tests compute what must land independently of the ingest code.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc
from deltalake import DeltaTable

from orchestration.ingest.landing import discover_landing
from orchestration.ingest.mapping import load_mapping
from orchestration.lakehouse.bronze import LOG_TABLE, REJECTIONS_TABLE, BronzeLake
from orchestration.lakehouse.landing_to_bronze import ingest_company

COMPANY = "REAL-01"
KST = dt.timezone(dt.timedelta(hours=9))
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)  # landing time of the tests' ingests

@dataclass
class Export:
    name: str  # folder under the company's landing folder
    file_name: str
    header: list[str]
    rows: list[dict]  # every data row as written (text cells), with "_line": its 1-based line number
    mapping: str  # the YAML of this export's dataset entries
    encoding: str = "utf-8"
    notes: dict = field(default_factory=dict)  # what was planted where

    @property
    def relative(self) -> str:
        return f"{COMPANY}/{self.name}/{self.file_name}"

    def write(self, landing: Path) -> Path:
        path = landing / self.relative
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.header)
        for row in self.rows:
            writer.writerow([row[c] for c in self.header])
        path.write_bytes(buffer.getvalue().encode(self.encoding))
        return path


def _fmt(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


# ---------------------------------------------------------------- KAMP-like per-shot die casting

KAMP_SENSORS = {  # column -> (tag, unit, mean, spread, digits)
    "molten_temp": ("TEMP", "degC", 720, 8, 0),
    "facility_operation_cycleTime": ("CYCLE_TIME", "s", 121, 3, 0),
    "production_cycletime": ("CYCLE_TIME", "s", 123, 3, 0),
    "low_section_speed": ("LIN_SPEED", "m/s", 0.11, 0.01, 3),
    "high_section_speed": ("LIN_SPEED", "m/s", 2.2, 0.2, 2),
    "molten_volume": ("WEIGHT", "kg", 84, 5, 0),
    "cast_pressure": ("PRES", "MPa", 62, 3, 0),
    "biscuit_thickness": ("THICKNESS", "mm", 50, 4, 0),
    "upper_mold_temp1": ("TEMP", "degC", 200, 15, 0),
    "upper_mold_temp2": ("TEMP", "degC", 190, 15, 0),
    "lower_mold_temp1": ("TEMP", "degC", 210, 15, 0),
    "lower_mold_temp2": ("TEMP", "degC", 200, 15, 0),
    "sleeve_temperature": ("TEMP", "degC", 420, 30, 0),
    "physical_strength": ("WEIGHT", "kg", 700, 20, 0),
    "Coolant_temperature": ("TEMP", "degC", 32, 1, 0),
}
KAMP_SENTINEL = "1449"  # the export writes this where the sleeve / coolant sensor had no value


def kamp_die_casting(seed: int = 1, shots: int = 2000) -> Export:
    rng = random.Random(seed)
    header = ["line", "name", "mold_name", "time", "date", "count", "working", "emergency_stop",
              *KAMP_SENSORS, "EMS_operation_time", "registration_time", "passorfail", "tryshot_signal", "mold_code"]
    at = dt.datetime(2019, 1, 2, 7, 0, 0)
    rows, junk, sentinels, blanks = [], {}, [], []
    for i in range(shots):
        at += dt.timedelta(seconds=rng.randint(50, 70))
        row = {"line": "전자교반 3라인", "name": "TM Carrier RH", "mold_name": "TM Carrier RH-Semi-Solid DIE-06",
               "time": at.strftime("%H:%M:%S"), "date": at.strftime("%Y-%m-%d"), "count": str(100 + i),
               "working": "정지" if rng.random() < 0.03 else "가동", "emergency_stop": "ON",
               "EMS_operation_time": "23", "registration_time": at.strftime("%Y-%m-%d %H:%M:%S"),
               "passorfail": "1" if rng.random() < 0.05 else "0", "tryshot_signal": "",
               "mold_code": rng.choice(["8722", "8412", "8573"]), "_line": i + 2}
        for column, (_, _, mean, spread, digits) in KAMP_SENSORS.items():
            row[column] = _fmt(rng.gauss(mean, spread), digits)
        rows.append(row)
    # planted: junk dates (1900 and 2068 in the date cell), sentinel cells, a few blank cells
    for index, year in ((shots // 13, 1900), (shots * 9 // 20, 2068)):
        rows[index]["date"] = rows[index]["date"].replace("2019", str(year), 1)
        junk[rows[index]["_line"]] = year
    for index in rng.sample(range(shots), 20):
        if rows[index]["_line"] in junk:
            continue
        column = rng.choice(["sleeve_temperature", "Coolant_temperature"])
        rows[index][column] = KAMP_SENTINEL
        sentinels.append((rows[index]["_line"], column))
    for index in rng.sample(range(shots), 15):
        if rows[index]["_line"] in junk:
            continue
        rows[index]["molten_temp"] = ""
        blanks.append((rows[index]["_line"], "molten_temp"))
    sensors = "\n".join(f"      {c}: {{tag: {t}, unit: {u}}}" for c, (t, u, *_r) in KAMP_SENSORS.items()
                        if c not in ("sleeve_temperature", "Coolant_temperature"))
    mapping = f"""\
  - dataset: sensor_readings
    name: kamp_shots
    files: "kamp/*.csv"
    timestamp: {{columns: [date, time], format: "%Y-%m-%d %H:%M:%S"}}
    equipment: {{value: DC-03}}
    line: {{value: LINE-3}}
    layout: wide
    sequence: {{column: count}}
    lot: {{column: count}}
    sensors:
{sensors}
      sleeve_temperature: {{tag: TEMP, unit: degC, missing: [{KAMP_SENTINEL}]}}
      Coolant_temperature: {{tag: TEMP, unit: degC, missing: [{KAMP_SENTINEL}]}}
  - dataset: quality_inspections
    name: kamp_results
    files: "kamp/*.csv"
    timestamp: {{format: "%Y-%m-%d %H:%M:%S"}}
    line: {{value: LINE-3}}
    columns: {{lot_id: count, inspected_at: [date, time], result: passorfail, characteristic: {{value: shot}}}}
    result_values: {{"0": pass, "1": fail}}
  - dataset: equipment_events
    name: kamp_states
    files: "kamp/*.csv"
    timestamp: {{format: "%Y-%m-%d %H:%M:%S"}}
    equipment: {{value: DC-03}}
    line: {{value: LINE-3}}
    columns: {{event_time: [date, time], event_type: working}}
    event_values: {{가동: run, 정지: stop}}
  - dataset: production_lots
    name: kamp_lots
    files: "kamp/*.csv"
    timestamp: {{format: "%Y-%m-%d %H:%M:%S"}}
    equipment: {{value: DC-03}}
    line: {{value: LINE-3}}
    columns: {{lot_id: count, product_code: mold_code, start: [date, time], end: [date, time], quantity: {{value: 1}}}}
    quantity_unit: ea
"""
    return Export("kamp", "diecasting_2019.csv", header, rows, mapping,
                  notes={"junk": junk, "sentinels": sentinels, "blanks": blanks})


# ---------------------------------------------------------------- 5-second extruder PLC log

EXTRUDER_SENSORS = {
    "실린더1온도": ("TEMP", "degC", 180), "실린더2온도": ("TEMP", "degC", 195), "실린더3온도": ("TEMP", "degC", 205),
    "다이온도": ("TEMP", "degC", 210), "스크류회전수": ("SPEED", "rpm", 85), "용융압력": ("PRES", "bar", 140),
    "모터전류": ("CURRENT", "A", 42),
}


def extruder_plc(seed: int = 2, rows_count: int = 2000) -> Export:
    rng = random.Random(seed)
    header = ["일시", "LOT", *EXTRUDER_SENSORS, "판정"]
    at = dt.datetime(2020, 10, 30, 0, 0, 4)
    rows, blanks = [], []
    for i in range(rows_count):
        row = {"일시": at.strftime("%Y %m %d %H:%M:%S"), "LOT": f"EX20201030-{i // 500 + 1:02d}", "_line": i + 2}
        for column, (_, _, mean) in EXTRUDER_SENSORS.items():
            row[column] = _fmt(rng.gauss(mean, mean * 0.02), 1)
        row["판정"] = "NG" if rng.random() < 0.04 else "OK"
        if rng.random() < 0.03:
            row["판정"] = ""
            blanks.append(i + 2)
        rows.append(row)
        at += dt.timedelta(seconds=5)
    sensors = "\n".join(f"      {c}: {{tag: {t}, unit: {u}}}" for c, (t, u, _) in EXTRUDER_SENSORS.items())
    mapping = f"""\
  - dataset: sensor_readings
    name: extruder_plc
    files: "extruder/*.csv"
    encoding: cp949
    timestamp: {{columns: [일시], format: "%Y %m %d %H:%M:%S"}}
    equipment: {{value: EXT-01}}
    layout: wide
    lot: {{column: LOT}}
    sensors:
{sensors}
  - dataset: quality_inspections
    name: extruder_results
    files: "extruder/*.csv"
    encoding: cp949
    timestamp: {{format: "%Y %m %d %H:%M:%S"}}
    columns: {{lot_id: LOT, inspected_at: 일시, result: 판정}}
    result_values: {{OK: pass, NG: fail}}
"""
    return Export("extruder", "압출기_20201030.csv", header, rows, mapping, encoding="cp949",
                  notes={"blank_results": blanks})


# ---------------------------------------------------------------- press log, date-only timestamps

PRESS_SENSORS = {"유압": ("PRES", "kgf/cm2", 180), "금형온도": ("TEMP", "degC", 60), "모터전류": ("CURRENT", "A", 30)}


def press_date_only(seed: int = 3, days: int = 2, per_day: int = 1500) -> Export:
    rng = random.Random(seed)
    header = ["작업일자", "설비", *PRESS_SENSORS]
    rows = []
    for day in range(days):
        date = (dt.date(2024, 3, 4) + dt.timedelta(days=day)).isoformat()
        for _ in range(per_day):
            row = {"작업일자": date, "설비": "PRESS-200T", "_line": len(rows) + 2}
            for column, (_, _, mean) in PRESS_SENSORS.items():
                row[column] = _fmt(rng.gauss(mean, mean * 0.05), 1)
            rows.append(row)
    sensors = "\n".join(f"      {c}: {{tag: {t}, unit: {u}}}" for c, (t, u, _) in PRESS_SENSORS.items())
    mapping = f"""\
  - dataset: sensor_readings
    name: press_log
    files: "press/*.csv"
    timestamp: {{columns: [작업일자], format: "%Y-%m-%d"}}
    equipment: {{column: 설비}}
    layout: wide
    sensors:
{sensors}
"""
    return Export("press", "프레스_202403.csv", header, rows, mapping)


# ---------------------------------------------------------------- melting tank, ~10 rows a minute

MELT_SENSORS = {"용해온도(℃)": ("TEMP", "degC", 650), "교반속도": ("SPEED", "rpm", 120), "투입중량": ("WEIGHT", "kg", 35)}


def melting_tank(seed: int = 4, minutes: int = 300) -> Export:
    rng = random.Random(seed)
    header = ["측정시간", "배치번호", *MELT_SENSORS, "품질판정"]
    rows = []
    start = dt.datetime(2023, 5, 1, 8, 0)
    for minute in range(minutes):
        at = start + dt.timedelta(minutes=minute)
        for _ in range(rng.randint(8, 12)):
            row = {"측정시간": at.strftime("%Y-%m-%d %H:%M"), "배치번호": f"B{minute // 60 + 1:03d}",
                   "품질판정": "NG" if rng.random() < 0.05 else "OK", "_line": len(rows) + 2}
            for column, (_, _, mean) in MELT_SENSORS.items():
                row[column] = _fmt(rng.gauss(mean, mean * 0.02), 1)
            rows.append(row)
    # the mapping writes the header with °C where the export has ℃ (a Unicode variant)
    mapping = """\
  - dataset: sensor_readings
    name: melt_log
    files: "melt/*.csv"
    timestamp: {columns: [측정시간], format: "%Y-%m-%d %H:%M"}
    equipment: {value: MELT-01}
    layout: wide
    lot: {column: 배치번호}
    sensors:
      "용해온도(°C)": {tag: TEMP, unit: degC}
      교반속도: {tag: SPEED, unit: rpm}
      투입중량: {tag: WEIGHT, unit: kg}
  - dataset: quality_inspections
    name: melt_results
    files: "melt/*.csv"
    timestamp: {format: "%Y-%m-%d %H:%M"}
    columns: {lot_id: 배치번호, inspected_at: 측정시간, result: 품질판정}
    result_values: {OK: pass, NG: fail}
"""
    return Export("melt", "용해로_20230501.csv", header, rows, mapping)


# ---------------------------------------------------------------- CNC without a clock (100 ms)

CNC_SENSORS = {"주축회전수": ("SPEED", "rpm", 8000), "주축전류": ("CURRENT", "A", 12), "진동": ("VIB", "mm/s", 2.5),
               "절삭유온도x10": ("TEMP", "degC", 245)}  # written x10: 245 means 24.5 degC
CNC_START = dt.datetime(2024, 3, 5, 8, 0, 0)


def cnc_no_clock(seed: int = 5, samples: int = 3000) -> Export:
    rng = random.Random(seed)
    header = list(CNC_SENSORS)
    rows = []
    for i in range(samples):
        row = {"_line": i + 2}
        for column, (_, _, mean) in CNC_SENSORS.items():
            row[column] = str(int(rng.gauss(mean, mean * 0.02))) if column.endswith("x10") else \
                _fmt(rng.gauss(mean, mean * 0.02), 2)
        rows.append(row)
    mapping = """\
  - dataset: sensor_readings
    name: cnc_spindle
    files: "cnc/*.csv"
    timestamp:
      format: "%Y%m%d_%H%M%S"
      relative: {interval: 0.1, start_from_file_name: "_(\\\\d{8}_\\\\d{6})"}
    equipment: {value: CNC-01}
    layout: wide
    sensors:
      주축회전수: {tag: SPEED, unit: rpm}
      주축전류: {tag: CURRENT, unit: A}
      진동: {tag: VIB, unit: mm/s}
      절삭유온도x10: {tag: TEMP, unit: degC, scale: 0.1}
"""
    return Export("cnc", f"CNC01_{CNC_START:%Y%m%d_%H%M%S}.csv", header, rows, mapping)


# ---------------------------------------------------------------- MES work orders with shipments

def mes_work_orders(seed: int = 6, orders: int = 400) -> Export:
    rng = random.Random(seed)
    header = ["작업지시번호", "품번", "지시일", "납기일", "지시수량"]
    for n in range(1, 11):
        header += [f"{n}차출하일", f"{n}차출하수량"]
    rows = []
    for i in range(orders):
        ordered = dt.date(2024, 1, 2) + dt.timedelta(days=i // 10)
        quantity = rng.choice([800, 1200, 2500, 10000, 15300])
        row = {"작업지시번호": f"WO-2024-{i + 1:05d}", "품번": rng.choice(["BRK-100", "BRK-200", "HSG-7"]),
               "지시일": ordered.isoformat(), "납기일": (ordered + dt.timedelta(days=30)).isoformat(),
               "지시수량": f"{quantity:,}", "_line": i + 2}
        shipped = rng.randint(0, 10)
        for n in range(1, 11):
            if n <= shipped:
                row[f"{n}차출하일"] = (ordered + dt.timedelta(days=2 * n)).isoformat()
                row[f"{n}차출하수량"] = f"{rng.randint(50, 1500):,}"
            else:
                row[f"{n}차출하일"] = row[f"{n}차출하수량"] = ""
        rows.append(row)
    mapping = """\
  - dataset: work_orders
    name: mes_orders
    files: "mes/*.csv"
    encoding: utf-8-sig
    timestamp: {format: "%Y-%m-%d"}
    columns: {order_id: 작업지시번호, product_code: 품번, ordered_at: 지시일, due_at: 납기일, quantity: 지시수량}
    quantity_unit: ea
  - dataset: shipments
    name: mes_shipments
    files: "mes/*.csv"
    encoding: utf-8-sig
    timestamp: {format: "%Y-%m-%d"}
    columns: {order_id: 작업지시번호}
    shipments: {count: 10, quantity: "{n}차출하수량", shipped_at: "{n}차출하일"}
    quantity_unit: ea
"""
    return Export("mes", "작업지시_2024.csv", header, rows, mapping, encoding="utf-8-sig")


ALL_EXPORTS = (kamp_die_casting, extruder_plc, press_date_only, melting_tank, cnc_no_clock, mes_work_orders)


class Lake:
    """A private lake (landing, bronze, quarantine, mapping) holding some exports."""

    def __init__(self, root: Path, exports: list[Export]):
        self.root = root
        self.landing = root / "landing"
        self.exports = exports
        for export in exports:
            export.write(self.landing)
        (root / "mappings").mkdir(parents=True, exist_ok=True)
        self.mapping_file = root / "mappings" / f"{COMPANY}.yaml"
        self.mapping_file.write_text(mapping_yaml(exports), encoding="utf-8")

    def ingest(self, run_id: str = "run"):
        mapping = load_mapping(self.mapping_file)
        files = [f for f in discover_landing(self.landing, {COMPANY}).files if f.company_id == COMPANY]
        return ingest_company(COMPANY, files, mapping=mapping, bronze=BronzeLake(self.root / "bronze"),
                              quarantine_root=self.root / "quarantine", run_id=run_id, now=NOW)

    def table(self, name: str):
        return DeltaTable(str(self.root / "bronze" / name)).to_pyarrow_table()

    def rows(self, name: str, entry: str) -> list[dict]:
        table = self.table(name)
        return table.filter(pc.equal(table["_dataset_entry"], entry)).to_pylist()

    def log(self) -> dict[str, dict]:
        return {r["dataset_entry"]: r for r in self.table(LOG_TABLE).to_pylist()}

    def rejections(self, entry: str) -> list[dict]:
        return [r for r in self.table(REJECTIONS_TABLE).to_pylist() if r["dataset_entry"] == entry]


def mapping_yaml(exports: list[Export]) -> str:
    return f"company_id: {COMPANY}\ntimezone: Asia/Seoul\ndatasets:\n" + "".join(e.mapping for e in exports)


def kst_to_utc(local: dt.datetime) -> dt.datetime:
    return local.replace(tzinfo=KST).astimezone(dt.timezone.utc)


def number(text: str) -> float:
    return float(text.replace(",", ""))
