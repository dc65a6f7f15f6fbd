"""Property-based fuzzing of what a client can send: whatever the bytes (random, truncated, in
another encoding, with control characters, formulas, ragged rows), the CSV/XLSX readers end in
landed rows or reasons and never crash or hang, and the mapping loader ends in a mapping or a
MappingError. Every source row is accounted for once: landed + rejected = rows read.

Kept to seconds: a few dozen examples per property, a deadline per example."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_fixtures import LOT_SHEET_HEADER, World

from orchestration.ingest.mapping import MappingError, load_mapping
from orchestration.ingest.rejections import REASONS, FileRejected
from orchestration.ingest.standardise import parse_file

FUZZ = settings(max_examples=40, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow], derandomize=True)

CELL_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["MIX-01", "T-03", "P-01", "degC", "kPa", "21.5", "-3", "NaN", "", "혼합기-1", "오전 08:00:00", '"', ",", "\x00",
     "\x07", "1e309", "2026-11-02 08:00:00", "2026-13-45 99:00:00"])


def parse(world: World, relative: str, data: bytes):
    mapping = load_mapping(world.clients / "mappings" / "ACME.yaml")
    spec = mapping.dataset_for(relative)
    assert spec is not None, relative
    return parse_file(data, spec, mapping, relative_path=f"ACME/{relative}")


def assert_ends_in_rows_or_reasons(outcome_of):
    try:
        parsed = outcome_of()
    except FileRejected as rejected:
        assert rejected.reason in REASONS and rejected.message
        return None
    assert all(r.reason in REASONS and r.message for r in parsed.rejections)
    return parsed


@st.composite
def long_csv(draw) -> bytes:
    """A long-layout sensor export, mostly well-formed, with hostile cells and shapes mixed in."""
    header = draw(st.sampled_from(["TS,EQ,TAG,VAL,UNIT", "TS,EQ,TAG,VAL,UNIT,비고", "TS;EQ;TAG;VAL;UNIT", "TS,EQ,VAL"]))
    rows = draw(st.lists(st.lists(CELL_TEXT, min_size=3, max_size=7), max_size=30))
    good = "2026-11-02 08:{:02d}:00,MIX-01,T-03,{}.5,degC"
    lines = [header] + [good.format(i % 60, i) if i % 3 == 0 else ",".join(r) for i, r in enumerate(rows)]
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines) + draw(st.sampled_from(["", "\n"]))
    data = text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"])), errors="replace")
    cut = draw(st.none() | st.integers(0, len(data)))
    return data if cut is None else data[:cut]


@FUZZ
@given(data=long_csv())
def test_long_csv_ends_in_landed_rows_or_reasons(world, data):
    parsed = assert_ends_in_rows_or_reasons(lambda: parse(world, "sensors/long_fuzz.csv", data))
    if parsed is not None:  # long layout: one reading per source row
        assert parsed.table.num_rows + len(parsed.rejections) == parsed.rows_read


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes_as_csv_end_in_a_reason_or_rows(world, data):
    assert_ends_in_rows_or_reasons(lambda: parse(world, "sensors/long_bytes.csv", data))


@FUZZ
@given(data=st.binary(max_size=2048), encoding=st.sampled_from(["cp949", "utf-8"]))
def test_wide_cp949_export_with_random_body_ends_in_rows_or_reasons(world, data, encoding):
    head = "일자,시각,설비,온도(°F),압력,비고\n".encode(encoding)
    assert_ends_in_rows_or_reasons(lambda: parse(world, "sensors/wide_fuzz.csv", head + data))


XLSX_CELL = CELL_TEXT | st.integers(-10, 10_000) | st.floats(allow_nan=True, allow_infinity=True) | st.none() | \
    st.just("=F2*2") | st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 31))


@st.composite
def lots_xlsx(draw) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = draw(st.sampled_from(["생산실적", "Sheet1"]))
    sheet.append(draw(st.sampled_from([LOT_SHEET_HEADER, LOT_SHEET_HEADER[:4], LOT_SHEET_HEADER + ["비고"]])))
    for row in draw(st.lists(st.lists(XLSX_CELL, min_size=0, max_size=8), max_size=12)):
        try:
            sheet.append([v.replace("\x00", "") if isinstance(v, str) else v for v in row])
        except Exception:  # openpyxl refuses some control characters itself; such a row is not sent
            continue
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    cut = draw(st.none() | st.integers(0, len(data)))
    return data if cut is None else data[:cut]


@FUZZ
@given(data=lots_xlsx())
def test_xlsx_ends_in_landed_rows_or_reasons(world, data):
    parsed = assert_ends_in_rows_or_reasons(lambda: parse(world, "mes/lots_fuzz.xlsx", data))
    if parsed is not None:  # one lot per source row
        assert parsed.table.num_rows + len(parsed.rejections) == parsed.rows_read


YAML_SCALAR = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8) | st.sampled_from(
    ["sensor_readings", "csv", "xlsx", "cp949", "wide", "long", "TEMP", "degC", "%Y-%m-%d", "Asia/Seoul"])
YAML_VALUE = st.recursive(YAML_SCALAR, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["dataset", "files", "format", "encoding", "layout", "timestamp", "columns", "format", "sensors",
                     "equipment", "tag_column", "value_column", "header_row", "x"]), inner, max_size=5), max_leaves=12)


@FUZZ
@given(document=st.dictionaries(st.sampled_from(["company_id", "timezone", "datasets", "extra"]), YAML_VALUE,
                                max_size=4) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_the_mapping_loader_ends_in_a_mapping_or_a_mapping_error(tmp_path_factory, document):
    import yaml

    path = Path(tmp_path_factory.mktemp("mapping")) / "FUZZ.yaml"
    text = document if isinstance(document, str) else yaml.safe_dump(document, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    try:
        load_mapping(path)
    except MappingError as error:
        assert str(error)


@pytest.fixture
def world(tmp_path):
    from ingest_fixtures import make_world

    return make_world(tmp_path)
