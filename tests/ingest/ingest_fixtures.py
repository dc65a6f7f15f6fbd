"""Hand-written client exports and mappings for the ingest tests.

Two test companies: ACME (every dataset, wide CP949 sensors with 오전/오후, long UTF-8 sensors,
lots as XLSX and CSV, QC, events with a title line above the header) and BETA (long sensors,
UTC). The expected row counts below are counted by hand from the file contents.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass
from pathlib import Path


ACME_MAPPING = """\
company_id: ACME
timezone: Asia/Seoul
datasets:
  - dataset: sensor_readings
    files: "sensors/wide_*.csv"
    encoding: cp949
    timestamp: {columns: [일자, 시각], format: "%Y-%m-%d %p %I:%M:%S", locale: ko}
    equipment: {column: 설비}
    line: {value: LINE-A}
    layout: wide
    sensors:
      "온도(°F)": {tag: TEMP, unit: degF}
      "압력": {tag: PRES, unit: psi}
  - dataset: sensor_readings
    files: "sensors/long_*.csv"
    timestamp: {columns: [TS], format: "%Y-%m-%d %H:%M:%S"}
    equipment: {column: EQ}
    layout: long
    tag_column: TAG
    value_column: VAL
    unit_column: UNIT
    tags:
      T-03: {tag: TEMP, unit: degC}
      P-01: {tag: PRES, unit: kPa}
  - dataset: production_lots
    files: "mes/lots_*.xlsx"
    format: xlsx
    sheet: 생산실적
    columns: {lot_id: LOT번호, product_code: 품목코드, start: 시작시간, end: 종료시간, quantity: 생산수량,
              defect_quantity: 불량수량}
    timestamp: {format: "%Y/%m/%d %H:%M"}
    line: {column: 라인}
  - dataset: production_lots
    files: "mes/lots_*.csv"
    encoding: utf-8-sig
    columns: {lot_id: LOT번호, product_code: 품목코드, start: 시작시간, end: 종료시간, quantity: 생산수량,
              defect_quantity: 불량수량}
    timestamp: {format: "%Y/%m/%d %H:%M"}
  - dataset: quality_inspections
    files: "qc/*.csv"
    columns: {lot_id: LOT, inspected_at: 검사일시, characteristic: 검사항목, measured_value: 측정값,
              lower_spec: 하한, upper_spec: 상한, unit: 단위, result: 판정, defect_type: 불량유형}
    result_values: {합격: pass, 불합격: fail, OK: pass, NG: fail}
    timestamp: {format: "%Y-%m-%d %H:%M:%S"}
  - dataset: equipment_events
    files: "events/*.csv"
    header_row: 2
    columns: {event_time: 발생시각, event_type: 상태, code: 알람코드, message: 내용}
    event_values: {가동: run, 정지: stop, 알람: alarm}
    equipment: {column: 설비}
    timestamp: {format: "%Y.%m.%d %H:%M:%S"}
"""

BETA_MAPPING = """\
company_id: BETA
timezone: UTC
datasets:
  - dataset: sensor_readings
    files: "data/*.csv"
    timestamp: {columns: [time], format: "%Y-%m-%dT%H:%M:%S"}
    equipment: {value: OVEN-1}
    layout: long
    tag_column: sensor
    value_column: value
    tags:
      oven_temp: {tag: TEMP, unit: degC}
"""

REGISTRY = """\
companies:
  - {company_id: ACME, name_ko: 에이크미(주), name_en: Acme Co., region: cheongju, industry: "20423",
     size_band: small, cohort_year: 2026}
  - {company_id: BETA, name_ko: 베타식품, name_en: Beta Foods, region: jincheon, industry: "10",
     size_band: micro, cohort_year: 2026}
"""

WIDE_HEADER = "일자,시각,설비,온도(°F),압력,비고\n"
WIDE_GOOD = WIDE_HEADER + (
    "2026-11-01,오전 08:00:00,MIX-01,150.5,30.1,정상\n"
    "2026-11-01,오전 08:05:00,MIX-01,151.0,30.2,\n"
    "2026-11-01,오후 01:00:00,MIX-02,149.9,29.8,점검\n"
)  # 3 rows x 2 sensors = 6 readings
LONG_HEADER = "TS,EQ,TAG,VAL,UNIT\n"
LONG_GOOD = LONG_HEADER + (
    "2026-11-01 08:00:00,MIX-01,T-03,20.5,degC\n"
    "2026-11-01 08:00:00,MIX-01,P-01,101.3,\n"
    "2026-11-01 08:01:00,MIX-01,T-03,20.7,degC\n"
    "2026-11-01 08:01:00,MIX-01,P-01,101.2,kPa\n"
)  # 4 readings
LOTS_HEADER = "LOT번호,품목코드,시작시간,종료시간,생산수량,불량수량\n"
LOTS_GOOD_CSV = LOTS_HEADER + (
    "L-1101,크림A,2026/11/01 08:00,2026/11/01 10:00,\"1,200\",12\n"
    "L-1102,크림B,2026/11/01 10:30,2026/11/01 12:00,800,0\n"
)  # 2 lots
QC_HEADER = "LOT,검사일시,검사항목,측정값,하한,상한,단위,판정,불량유형\n"
QC_GOOD = QC_HEADER + (
    "L-1101,2026-11-01 10:10:00,점도,3200,3000,3500,cP,합격,\n"
    "L-1101,2026-11-01 10:11:00,pH,5.1,5.5,7.0,pH,불합격,pH이탈\n"
    "L-1102,2026-11-01 12:05:00,중량,50.2,49.5,50.5,g,OK,\n"
)  # 3 inspections
EVENTS_TITLE = "설비 이벤트 내역 (2026-11-01)\n"
EVENTS_HEADER = "발생시각,설비,상태,알람코드,내용\n"
EVENTS_GOOD = EVENTS_TITLE + EVENTS_HEADER + (
    "2026.11.01 08:00:00,MIX-01,가동,,\n"
    "2026.11.01 09:12:00,MIX-01,알람,E-104,과열 경보\n"
    "2026.11.01 09:20:00,MIX-01,정지,,\n"
)  # 3 events
BETA_HEADER = "time,sensor,value\n"
BETA_GOOD = BETA_HEADER + (
    "2026-11-01T00:00:00,oven_temp,180.0\n"
    "2026-11-01T00:01:00,oven_temp,181.5\n"
    "2026-11-01T00:02:00,oven_temp,182.0\n"
)  # 3 readings

LOT_SHEET_HEADER = ["라인", "LOT번호", "품목코드", "시작시간", "종료시간", "생산수량", "불량수량"]
LOT_SHEET_ROWS = [
    ["LINE-1", "L-2001", "세럼", dt.datetime(2026, 11, 2, 8, 0), dt.datetime(2026, 11, 2, 9, 30), 500, 5],
    ["LINE-1", "L-2002", "세럼", dt.datetime(2026, 11, 2, 10, 0), dt.datetime(2026, 11, 2, 11, 0), 450, 0],
]  # 2 lots


def write_xlsx(path: Path, sheet: str, header: list, rows: list[list], *, title: str | None = None) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    if title:
        worksheet.append([title])
    worksheet.append(header)
    for row in rows:
        worksheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)


# relative path -> (dataset, rows that must land)
GOOD_FILES = {
    "ACME/sensors/wide_good.csv": ("sensor_readings", 6),
    "ACME/sensors/long_good.csv": ("sensor_readings", 4),
    "ACME/mes/lots_good.xlsx": ("production_lots", 2),
    "ACME/mes/lots_good.csv": ("production_lots", 2),
    "ACME/qc/qc_good.csv": ("quality_inspections", 3),
    "ACME/events/ev_good.csv": ("equipment_events", 3),
    "BETA/data/b_good.csv": ("sensor_readings", 3),
}


@dataclass
class World:
    root: Path  # the lake root: landing/, bronze/, quarantine/
    clients: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def bronze(self) -> Path:
        return self.root / "bronze"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    def write(self, relative: str, content: bytes | str, encoding: str = "utf-8") -> Path:
        path = self.landing / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
        return path


def make_world(root: Path) -> World:
    world = World(root / "lake", root / "clients")
    (world.clients / "mappings").mkdir(parents=True)
    (world.clients / "registry.yaml").write_text(REGISTRY, encoding="utf-8")
    (world.clients / "mappings" / "ACME.yaml").write_text(ACME_MAPPING, encoding="utf-8")
    (world.clients / "mappings" / "BETA.yaml").write_text(BETA_MAPPING, encoding="utf-8")
    world.write("ACME/sensors/wide_good.csv", WIDE_GOOD, "cp949")
    world.write("ACME/sensors/long_good.csv", LONG_GOOD)
    write_xlsx(world.landing / "ACME/mes/lots_good.xlsx", "생산실적", LOT_SHEET_HEADER, LOT_SHEET_ROWS)
    world.write("ACME/mes/lots_good.csv", "\ufeff" + LOTS_GOOD_CSV)
    world.write("ACME/qc/qc_good.csv", QC_GOOD)
    world.write("ACME/events/ev_good.csv", EVENTS_GOOD)
    world.write("BETA/data/b_good.csv", BETA_GOOD)
    return world


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")
