"""The mapping keys for real exports, one behaviour each, on small hand-written files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from orchestration.ingest.mapping import load_mapping
from orchestration.ingest.standardise import parse_file

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)


def mapping(tmp_path: Path, entry: str):
    path = tmp_path / "KEYS.yaml"
    path.write_text("company_id: KEYS\ntimezone: Asia/Seoul\ndatasets:\n" + entry, encoding="utf-8")
    return load_mapping(path)


def parse(tmp_path, entry: str, text: str, name: str = "f.csv"):
    client = mapping(tmp_path, entry)
    return parse_file(text.encode("utf-8"), client.datasets[0], client, relative_path=f"KEYS/d/{name}", now=NOW)


def test_long_layout_scale_offset_and_sentinels(tmp_path):
    entry = """\
  - dataset: sensor_readings
    files: "d/*.csv"
    timestamp: {columns: [TS], format: "%Y-%m-%d %H:%M:%S"}
    equipment: {value: EQ}
    layout: long
    tag_column: TAG
    value_column: VAL
    missing_values: [9999]
    tags:
      T10: {tag: TEMP, unit: degC, scale: 0.1}
      P: {tag: PRES, unit: bar, offset: 1.013, missing: [-1]}
"""
    text = ("TS,TAG,VAL\n2026-11-01 08:00:00,T10,253\n2026-11-01 08:00:00,P,2.0\n2026-11-01 08:00:01,P,-1\n"
            "2026-11-01 08:00:01,T10,-1\n2026-11-01 08:00:02,T10,9999\n")
    parsed = parse(tmp_path, entry, text)
    values = [(r["source_tag"], r["value"], r["_source_row"]) for r in parsed.table.to_pylist()]
    assert values == [("T10", pytest.approx(25.3), 2), ("P", pytest.approx(3.013), 3), ("T10", pytest.approx(-0.1), 5)]
    assert {(r.row, r.reason) for r in parsed.rejections} == {(4, "missing_value"), (6, "missing_value")}
    assert (parsed.rows_read, parsed.rows_landed, parsed.rows_rejected) == (5, 3, 2)


def test_relative_time_from_the_mapping_with_a_counter_column(tmp_path):
    entry = """\
  - dataset: sensor_readings
    files: "d/*.csv"
    timestamp:
      format: "%Y-%m-%d %H:%M:%S"
      relative: {interval: 0.5, start: "2024-03-05 08:00:00", counter: 순번}
    equipment: {value: CNC}
    layout: wide
    sequence: {column: 순번}
    sensors:
      부하: {tag: CURRENT, unit: A}
"""
    parsed = parse(tmp_path, entry, "순번,부하\n10,1.5\n11,1.6\n14,1.7\n")
    start = dt.datetime(2024, 3, 4, 23, 0, tzinfo=dt.timezone.utc)  # 08:00 KST
    assert [(r["reading_ts"], r["sequence_id"]) for r in parsed.table.to_pylist()] == [
        (start, "10"), (start + dt.timedelta(seconds=0.5), "11"), (start + dt.timedelta(seconds=2), "14")]


def test_relative_time_start_missing_from_the_file_name_quarantines_the_file(tmp_path):
    from orchestration.ingest.rejections import FileRejected

    entry = """\
  - dataset: sensor_readings
    files: "d/*.csv"
    timestamp: {format: "%Y%m%d_%H%M%S", relative: {interval: 0.1, start_from_file_name: "_(\\\\d{8}_\\\\d{6})"}}
    equipment: {value: CNC}
    layout: wide
    sensors: {부하: {tag: CURRENT, unit: A}}
"""
    with pytest.raises(FileRejected) as error:
        parse(tmp_path, entry, "부하\n1.5\n", name="cnc.csv")
    assert error.value.reason == "no_start_time" and "cnc.csv" in error.value.message


def test_headers_match_after_nfkc_spaces_and_case(tmp_path):
    entry = """\
  - dataset: sensor_readings
    files: "d/*.csv"
    timestamp: {columns: [Time Stamp], format: "%Y-%m-%d %H:%M:%S"}
    equipment: {value: EQ}
    layout: wide
    sensors:
      "Temp (°C)": {tag: TEMP, unit: degC}
      "ＰＲＥＳＳ": {tag: PRES, unit: bar}
"""
    parsed = parse(tmp_path, entry, "timestamp,temp(℃),press\n2026-11-01 08:00:00,21.5,3.0\n")
    assert sorted(r["source_tag"] for r in parsed.table.to_pylist()) == ["Temp (°C)", "ＰＲＥＳＳ"]
    assert parsed.missing_columns == [] and parsed.unmapped_columns == []


def test_lot_work_order_and_shipment_quantities_take_a_scale_and_offset(tmp_path):
    """A weighing MES that writes lots in grams (landed in kg: scale 0.001), a work-order export whose
    quantities are written in hundreds, and shipments in thousands; sentinels go before the scale."""
    lots = parse(tmp_path, """\
  - dataset: production_lots
    files: "d/*.csv"
    timestamp: {format: "%Y-%m-%d %H:%M"}
    missing_values: [-1]
    columns: {lot_id: LOT, start: 시작, quantity: {column: 생산량g, scale: 0.001},
              defect_quantity: {column: 불량g, scale: 0.001, offset: 0}}
    quantity_unit: kg
""", "LOT,시작,생산량g,불량g\nL1,2026-11-01 08:00,12500,250\nL2,2026-11-01 09:00,\"1,000\",-1\nL3,2026-11-01 10:00,-1,0\n")
    assert [(r["lot_id"], r["quantity"], r["defect_quantity"], r["quantity_unit"]) for r in lots.table.to_pylist()] \
        == [("L1", pytest.approx(12.5), pytest.approx(0.25), "kg"), ("L2", pytest.approx(1.0), None, "kg")]
    assert {(r.row, r.reason) for r in lots.rejections} == {(4, "missing_value")}  # -1 is "no value": required

    orders = parse(tmp_path, """\
  - dataset: work_orders
    files: "d/*.csv"
    timestamp: {format: "%Y-%m-%d"}
    columns: {order_id: 지시번호, quantity: {column: 지시수량x100, scale: 100, offset: 5}}
""", "지시번호,지시수량x100\nW1,12\nW2,0.5\n")
    assert [(r["order_id"], r["quantity"]) for r in orders.table.to_pylist()] == [("W1", 1205.0), ("W2", 55.0)]

    shipments = parse(tmp_path, """\
  - dataset: shipments
    files: "d/*.csv"
    timestamp: {format: "%Y-%m-%d"}
    columns: {order_id: 지시번호}
    shipments: {count: 2, quantity: "{n}차수량", shipped_at: "{n}차일자", scale: 1000}
    quantity_unit: ea
""", "지시번호,1차수량,1차일자,2차수량,2차일자\nW1,1.5,2026-11-02,0.25,2026-11-03\n")
    assert [(r["shipment_no"], r["quantity"]) for r in shipments.table.to_pylist()] == [(1, 1500.0), (2, 250.0)]


@pytest.mark.parametrize("columns, problem", [
    ("{lot_id: {column: LOT, scale: 2}, start: 시작, quantity: 수량}", "numeric fields only"),
    ("{lot_id: LOT, start: 시작, quantity: {value: 1, scale: 2}}", "a constant takes no scale"),
    ("{lot_id: LOT, start: 시작, quantity: {column: 수량, scale: 0}}", "a scale of 0"),
    ("{lot_id: LOT, start: 시작, quantity: {column: 수량, factor: 2}}", "expected {column: <name>}"),
])
def test_quantity_scale_mistakes_fail_when_the_mapping_loads(tmp_path, columns, problem):
    from orchestration.ingest.mapping import MappingError

    with pytest.raises(MappingError, match="columns") as error:
        mapping(tmp_path, f"""\
  - dataset: production_lots
    files: "d/*.csv"
    timestamp: {{format: "%Y-%m-%d %H:%M"}}
    columns: {columns}
""")
    assert problem in str(error.value)
