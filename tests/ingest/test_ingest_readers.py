"""Timestamps, encodings and file readers, on small inputs whose answers are worked out by hand."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from ingest_fixtures import ACME_MAPPING, LOT_SHEET_HEADER, write_xlsx

from orchestration.ingest.bronze_schemas import CONTENT_SCHEMAS
from orchestration.ingest.mapping import load_mapping
from orchestration.ingest.readers import decode_to_utf8, read_file
from orchestration.ingest.rejections import FileRejected
from orchestration.ingest.standardise import parse_file, parse_numbers
from orchestration.ingest.timestamps import parse_timestamps

UTC = dt.timezone.utc


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_korean_meridiem_and_kst():
    values = pa.array(["2026-11-01 오전 12:30:00", "2026-11-01 오후 12:30:00", "2026-11-01 오후 11:59:59",
                       "2026-11-01 PM 01:00:00", "2026-11-01 13:00:00", None, "  "])
    ts, missing, bad = parse_timestamps([values], "%Y-%m-%d %p %I:%M:%S", "Asia/Seoul")
    assert ts.to_pylist()[:4] == [utc(2026, 10, 31, 15, 30), utc(2026, 11, 1, 3, 30), utc(2026, 11, 1, 14, 59, 59),
                                  utc(2026, 11, 1, 4, 0)]
    assert bad.to_pylist() == [False, False, False, False, True, False, False]
    assert missing.to_pylist() == [False, False, False, False, False, True, True]


def test_date_and_time_columns_are_joined():
    ts, _, bad = parse_timestamps([pa.array(["2026.11.01", "2026.11.01"]), pa.array(["08:00:00", "25:00:00"])],
                                  "%Y.%m.%d %H:%M:%S", "Asia/Seoul")
    assert ts.to_pylist() == [utc(2026, 10, 31, 23), None]
    assert bad.to_pylist() == [False, True]


def test_iso_fast_path_and_stray_spaces():
    ts, _, bad = parse_timestamps([pa.array(["2026-11-01 09:00:00", " 2026-11-01 09:00:01 ", "2026-11-01"])],
                                  "%Y-%m-%d %H:%M:%S", "Asia/Seoul")
    assert ts.to_pylist()[:2] == [utc(2026, 11, 1), utc(2026, 11, 1, 0, 0, 1)]
    assert bad.to_pylist()[:2] == [False, False]


def test_daylight_saving_zone():
    """New York: 2026-03-08 02:30 does not exist (-> the moment clocks changed, 07:00Z);
    2026-11-01 01:30 happens twice (-> the first, EDT = 05:30Z); a winter and a summer time."""
    values = pa.array(["2026-03-08 02:30:00", "2026-11-01 01:30:00", "2026-01-15 12:00:00", "2026-07-15 12:00:00"])
    ts, _, _ = parse_timestamps([values], "%Y-%m-%d %H:%M:%S", "America/New_York")
    assert ts.to_pylist() == [utc(2026, 3, 8, 7), utc(2026, 11, 1, 5, 30), utc(2026, 1, 15, 17), utc(2026, 7, 15, 16)]


def test_native_excel_date_and_time_cells():
    ts, _, bad = parse_timestamps([pa.array([dt.date(2026, 11, 2)], pa.date32()),
                                   pa.array([dt.time(8, 15)], pa.time64("us"))], "%Y-%m-%d %H:%M", "Asia/Seoul")
    assert ts.to_pylist() == [utc(2026, 11, 1, 23, 15)] and bad.to_pylist() == [False]


def test_numbers():
    values = pa.array(["1.5", " 2 ", "1,234.5", "-3e2", "ERR", "nan", "inf", None, "1,5"])
    numbers, bad = parse_numbers(values)
    assert numbers.to_pylist() == [1.5, 2.0, 1234.5, -300.0, None, None, None, None, None]
    assert bad.to_pylist() == [False, False, False, False, True, True, True, False, True]


def test_encodings():
    korean = "설비,값\n혼합기,1\n"
    assert decode_to_utf8(korean.encode("cp949"), "cp949", "f")[0] == korean.encode()
    assert decode_to_utf8(korean.encode("cp949"), "auto", "f") == (korean.encode(), "cp949")
    assert decode_to_utf8(korean.encode(), "auto", "f") == (korean.encode(), "utf-8")
    with pytest.raises(FileRejected) as error:
        decode_to_utf8(korean.encode("cp949"), "utf-8", "f")
    assert error.value.reason == "wrong_encoding" and error.value.row == 1
    with pytest.raises(FileRejected) as error:
        decode_to_utf8(korean.encode(), "cp949", "f")
    assert error.value.reason == "wrong_encoding"


@pytest.fixture
def acme(tmp_path):
    path = tmp_path / "ACME.yaml"
    path.write_text(ACME_MAPPING, encoding="utf-8")
    return load_mapping(path)


def test_csv_rows_keep_their_line_numbers(tmp_path, acme):
    spec = acme.dataset_for("sensors/long_x.csv")
    path = tmp_path / "x.csv"
    # header, a row, a blank line, a quoted cell spanning two lines, a row
    path.write_text('TS,EQ,TAG,VAL,UNIT\n2026-11-01 08:00:00,M1,T-03,1,degC\n\n'
                    '2026-11-01 08:00:00,"M\n1",T-03,2,degC\n2026-11-01 08:00:00,M1,T-03,3,degC\n', encoding="utf-8")
    raw = read_file(path, spec, relative_path="ACME/x.csv")
    assert raw.source_rows.to_pylist() == [2, 4, 6]
    assert raw.table["VAL"].to_pylist() == ["1", "2", "3"]  # read as text unless typed columns are asked for
    assert raw.table["EQ"].to_pylist() == ["M1", "M\n1", "M1"]


def test_header_not_on_the_first_line_and_unmapped_columns(tmp_path, acme):
    spec = acme.dataset_for("events/a.csv")
    path = tmp_path / "a.csv"
    path.write_text("이벤트 내역\n발생시각 , 설비,상태,알람코드,내용,작업자\n2026.11.01 08:00:00,M1,가동,,,홍길동\n",
                    encoding="utf-8")
    parsed = parse_file(path, spec, acme, relative_path="ACME/events/a.csv")
    assert parsed.unmapped_columns == ["작업자"]
    assert parsed.table.to_pylist()[0]["event_ts"] == utc(2026, 10, 31, 23)
    assert parsed.table["_source_row"].to_pylist() == [3]


def test_missing_optional_column_is_reported_and_file_lands(tmp_path, acme):
    spec = acme.dataset_for("qc/a.csv")
    path = tmp_path / "a.csv"
    path.write_text("LOT,검사일시,검사항목,측정값,판정\nL1,2026-11-01 10:00:00,점도,3200,NG\n", encoding="utf-8")
    parsed = parse_file(path, spec, acme, relative_path="ACME/qc/a.csv")
    assert parsed.missing_columns == ["하한", "상한", "단위", "불량유형"]
    [row] = parsed.table.to_pylist()
    assert (row["result"], row["measured_value"], row["lower_spec"]) == ("fail", 3200.0, None)


def test_xlsx_header_row_and_sheet_row_numbers(tmp_path, acme):
    spec = acme.dataset_for("mes/lots_a.xlsx")
    path = tmp_path / "lots_a.xlsx"
    write_xlsx(path, "생산실적", LOT_SHEET_HEADER, [
        ["L", "A-1", "P", dt.datetime(2026, 11, 2, 8), dt.datetime(2026, 11, 2, 9), 10, 1],
        [None] * 7,
        ["L", "A-2", "P", dt.datetime(2026, 11, 2, 9), dt.datetime(2026, 11, 2, 10), 20, 0],
    ])
    parsed = parse_file(path, spec, acme, relative_path="ACME/mes/lots_a.xlsx")
    assert parsed.table["_source_row"].to_pylist() == [2, 4]
    assert parsed.table["quantity"].to_pylist() == [10.0, 20.0]
    assert parsed.encoding == "xlsx"


def test_all_rows_bad_quarantines_the_file(tmp_path, acme):
    spec = acme.dataset_for("sensors/long_x.csv")
    path = tmp_path / "x.csv"
    path.write_text("TS,EQ,TAG,VAL,UNIT\n2026-11-01 08:00:00,M1,T-03,x,degC\n2026-11-01 08:00:00,M1,T-03,y,degC\n",
                    encoding="utf-8")
    with pytest.raises(FileRejected) as error:
        parse_file(path, spec, acme, relative_path="ACME/sensors/long_x.csv")
    assert (error.value.reason, error.value.row, error.value.column) == ("non_numeric_value", 2, "VAL")


def test_wide_layout_melts_one_row_per_filled_cell(tmp_path, acme):
    spec = acme.dataset_for("sensors/wide_a.csv")
    path = tmp_path / "wide_a.csv"
    path.write_bytes("일자,시각,설비,온도(°F),압력\n2026-11-01,오전 09:00:00,M1,100,\n2026-11-01,오전 09:01:00,M1,101,20\n"
                     .encode("cp949"))
    parsed = parse_file(path, spec, acme, relative_path="ACME/sensors/wide_a.csv")
    rows = parsed.table.to_pylist()
    assert [(r["_source_row"], r["tag"], r["value"]) for r in rows] == [(2, "TEMP", 100.0), (3, "TEMP", 101.0),
                                                                          (3, "PRES", 20.0)]
    assert parsed.rejections == [] and parsed.encoding == "cp949"
    assert parsed.table.schema.equals(CONTENT_SCHEMAS["sensor_readings"])


def test_auto_encoding_rejects_an_undecodable_cell_without_misreading_the_file(tmp_path):
    path = tmp_path / "ACME.yaml"
    path.write_text(ACME_MAPPING.replace("encoding: cp949", "encoding: auto"), encoding="utf-8")
    acme = load_mapping(path)
    spec = acme.dataset_for("sensors/wide_a.csv")
    good = "일자,시각,설비,온도(°F),압력\n2026-11-01,오전 09:00:00,설비1,100,1\n"
    export = tmp_path / "wide_a.csv"
    export.write_bytes(good.encode("cp949"))
    parsed = parse_file(export, spec, acme, relative_path="ACME/sensors/wide_a.csv")
    assert parsed.encoding == "cp949" and parsed.table["equipment_id"].to_pylist() == ["설비1", "설비1"]
    export.write_bytes(good.encode("utf-8"))
    assert parse_file(export, spec, acme, relative_path="x").encoding == "utf-8"
    export.write_bytes(good.encode("cp949") + b"2026-11-01,\xa1\xa1\xff\xfe,M,1,1\n")
    with pytest.raises(FileRejected) as error:
        parse_file(export, spec, acme, relative_path="x")
    assert (error.value.reason, error.value.row, error.value.column) == ("wrong_encoding", 3, "시각")


def test_repeated_timestamps_give_the_same_answers_as_one_by_one():
    """A long export repeats each time once per tag; those are parsed once per distinct value, and
    every row must still get its own answer (blanks, bad cells and nulls included)."""
    distinct = ["2026-11-01 오전 12:30:00", "2026-11-01 오후 12:30:00", "2026-11-01 PM 13:00:00", "  ", None,
                "2026-11-01 오후 11:59:59"]
    values = pa.array([distinct[i % 6] for i in range(30_000)])
    fmt = "%Y-%m-%d %p %I:%M:%S"
    ts, missing, bad = parse_timestamps([values], fmt, "Asia/Seoul")
    one_ts, one_missing, one_bad = parse_timestamps([pa.array(distinct)], fmt, "Asia/Seoul")
    assert ts.to_pylist() == one_ts.to_pylist() * 5_000
    assert missing.to_pylist() == one_missing.to_pylist() * 5_000
    assert bad.to_pylist() == one_bad.to_pylist() * 5_000
    assert one_bad.to_pylist() == [False, False, True, False, False, False]


def test_cp949_long_export_with_korean_meridiem(tmp_path):
    """CH-AUT-02's PLC export (CP949, tab-separated, title line, 오전/오후): good rows land in UTC,
    a blank and an impossible time are rejected on their own lines, shown as the client wrote them."""
    from orchestration.settings import clients_dir

    mapping = load_mapping(clients_dir() / "mappings" / "CH-AUT-02.yaml")
    spec = mapping.dataset_for("plc/수집데이터_x.txt")
    lines = ["설비 데이터 출력", "측정일시\t라인\t설비코드\t태그\t값"]
    for minute in range(3):
        for tag in ("금형온도", "사출압력"):
            lines.append(f"2026.11.02 오후 01:0{minute}:00\tLINE-A\tDCM-01\t{tag}\t{minute}.5")
    lines += ["2026.11.02 오후 13:00:00\tLINE-A\tDCM-01\t진동\t1.0", " \tLINE-A\tDCM-01\t진동\t1.0"]
    path = tmp_path / "수집데이터_x.txt"
    path.write_bytes(("\n".join(lines) + "\n").encode("cp949"))
    parsed = parse_file(path, spec, mapping, relative_path="CH-AUT-02/plc/수집데이터_x.txt")
    assert parsed.encoding == "cp949"
    assert parsed.table["reading_ts"].to_pylist() == [utc(2026, 11, 2, 4, m) for m in (0, 0, 1, 1, 2, 2)]
    assert parsed.table["source_tag"].to_pylist() == ["금형온도", "사출압력"] * 3
    assert [(r.reason, r.row, r.column) for r in parsed.rejections] == [
        ("unparseable_timestamp", 9, "측정일시"), ("missing_timestamp", 10, "측정일시")]
    assert "오후 13:00:00" in parsed.rejections[0].message
