"""Hostile input within bounds: a line, cell, header, workbook or sheet beyond a limit is refused
with a reason naming the limit, control characters reject their row, formula cells without a
cached value reject their row; the rest of the file (and every other file) still lands.

Each case runs through the same checks as tests/ingest/test_bad_input.py (real ingest path,
rejection table, quarantine copy, every good file of both companies landed)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field

import pytest
from ingest_fixtures import LONG_HEADER, LOT_SHEET_HEADER, LOT_SHEET_ROWS, WIDE_HEADER, World, write_xlsx
from test_bad_input import L1, L2, L3, Case
from test_bad_input import test_bad_file as check_case


@dataclass
class Bound:
    case: Case
    env: dict[str, str] = field(default_factory=dict)


def lots_with_formula(path):
    rows = [LOT_SHEET_ROWS[0], ["LINE-1", "L-2003", "세럼", dt.datetime(2026, 11, 2, 12, 0),
                                dt.datetime(2026, 11, 2, 13, 0), "=F2*2", 0]]
    write_xlsx(path, "생산실적", LOT_SHEET_HEADER, rows)  # openpyxl stores formulas without a cached value


def inflating_xlsx(path):
    """A real workbook plus a 5 MB part that compresses to a few KB (a zip bomb in miniature)."""
    write_xlsx(path, "생산실적", LOT_SHEET_HEADER, LOT_SHEET_ROWS[:1])
    buffer = io.BytesIO(path.read_bytes())
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (5 << 20))
    path.write_bytes(buffer.getvalue())


MANY_GOOD_LINES = L1 * 2000  # past the first 64 KiB, where the whole-file NUL sniff no longer looks

BOUNDS = [
    # the field case: one line longer than Arrow's 16 MB block used to quarantine the whole file
    Bound(Case("line_beyond_arrow_block", "ACME/sensors/long_huge_line.csv",
               LONG_HEADER + L1 + "2026-11-02 08:00:00,MIX-01,T-03," + "9" * (20 << 20) + ",degC\n" + L2,
               "line_too_long", row=3, landed=2)),
    Bound(Case("line_beyond_limit", "ACME/sensors/long_line.csv",
               LONG_HEADER + L1 + L2 + "2026-11-02 08:00:00," + "M" * (2 << 20) + ",T-03,1,degC\n" + L3,
               "line_too_long", row=4, landed=3)),
    Bound(Case("nul_after_64k", "ACME/sensors/long_nul.csv",
               LONG_HEADER + MANY_GOOD_LINES + "2026-11-02 08:02:00,MIX-01\x00,T-03,21.0,degC\n",
               "control_character", row=2002, column="EQ", landed=2000)),
    Bound(Case("bell_in_a_cell", "ACME/sensors/long_bell.csv",
               LONG_HEADER + L1 + "2026-11-02 08:00:00,MIX-01,T-03,21.0,de\x07gC\n" + L3,
               "control_character", row=3, column="UNIT", landed=2)),
    Bound(Case("cell_beyond_limit", "ACME/sensors/long_cell.csv",
               LONG_HEADER + L1 + "2026-11-02 08:00:00," + "E" * 500 + ",T-03,21.0,degC\n",
               "cell_too_long", row=3, column="EQ", landed=1), {"INGEST_MAX_CELL_BYTES": "100"}),
    # found by the fuzz test: Arrow could not hand a broken CP949 row to its handler, so the file was lost
    Bound(Case("ragged_korean_row_in_cp949", "ACME/sensors/wide_ragged.csv",
               WIDE_HEADER + "2026-11-02,오전 08:00:00,MIX-01,150.5,30.1,\n2026-11-02,오전 08:05:00,혼합기,150.5,30.1,비고,추가\n"
               "2026-11-02,오전 08:10:00,MIX-01,151.0,30.2,\n", "ragged_row", row=3, landed=4, encoding="cp949")),
    Bound(Case("too_many_columns", "ACME/sensors/long_wide.csv",
               LONG_HEADER.rstrip("\n") + "".join(f",x{i}" for i in range(12)) + "\n" + L1.rstrip("\n") + ",0" * 12 + "\n",
               "too_many_columns"), {"INGEST_MAX_COLUMNS": "10"}),
    Bound(Case("formula_without_cached_value", "ACME/mes/lots_formula.xlsx", lots_with_formula,
               "formula_without_value", row=3, column="생산수량", landed=1, dataset="production_lots")),
    Bound(Case("xlsx_inflates_beyond_limit", "ACME/mes/lots_bomb.xlsx", inflating_xlsx, "xlsx_too_large",
               dataset="production_lots"), {"INGEST_MAX_XLSX_UNCOMPRESSED_BYTES": str(1 << 20)}),
    Bound(Case("sheet_beyond_limit", "ACME/mes/lots_big_sheet.xlsx",
               lambda path: write_xlsx(path, "생산실적", LOT_SHEET_HEADER, LOT_SHEET_ROWS * 3), "sheet_too_large",
               dataset="production_lots"), {"INGEST_MAX_SHEET_CELLS": "30"}),  # 7 x 7 cells; the good file has 3 x 7
]


# ------------------------------------------------------------ sheet dimensions, before the sheet is loaded

def rewrite_sheet(path, edit) -> None:
    """Rewrite xl/worksheets/sheet1.xml of a workbook with `edit(xml) -> xml`; everything else kept."""
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            target.writestr(info.filename, edit(data.decode()).encode() if info.filename.endswith("sheet1.xml") else data)
    path.write_bytes(buffer.getvalue())


def lots_sheet(path, edit) -> None:
    write_xlsx(path, "생산실적", LOT_SHEET_HEADER, LOT_SHEET_ROWS)
    rewrite_sheet(path, edit)


def declares_the_whole_grid(xml: str) -> str:  # a 16,384 x 1,048,576 used range, three real rows
    return xml.replace('<dimension ref="A1:G3" />', '<dimension ref="A1:XFD1048576"/>')


def far_cell_under_a_small_dimension(xml: str) -> str:  # the dimension says A1:G3; one cell says otherwise
    return xml.replace("</sheetData>", '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')


def far_cell_without_refs(xml: str) -> str:  # cells without r= follow each other: a row 300 cells wide
    return xml.replace("</sheetData>", "<row>" + "<c><v>1</v></c>" * 300 + "</row></sheetData>")


BOUNDS += [  # sheet dimensions, checked in the XML before the sheet is loaded
    Bound(Case("sheet_declares_huge_range", "ACME/mes/lots_declared.xlsx",
               lambda p: lots_sheet(p, declares_the_whole_grid), "too_many_columns", dataset="production_lots")),
    Bound(Case("sheet_far_cell", "ACME/mes/lots_far.xlsx",
               lambda p: lots_sheet(p, lambda x: x.replace("</sheetData>", '<row r="90000"><c r="G90000"><v>1</v>'
                                                             '</c></row></sheetData>')),
               "sheet_too_large", dataset="production_lots"), {"INGEST_MAX_SHEET_CELLS": "100000"}),
    Bound(Case("sheet_wide_row_without_refs", "ACME/mes/lots_norefs.xlsx",
               lambda p: lots_sheet(p, far_cell_without_refs), "too_many_columns", dataset="production_lots"),
          {"INGEST_MAX_COLUMNS": "200"}),
]


@pytest.mark.parametrize("bound", BOUNDS, ids=[b.case.id for b in BOUNDS])
def test_input_beyond_a_bound_is_refused_with_its_reason(world: World, bound: Bound, monkeypatch):
    for name, value in bound.env.items():
        monkeypatch.setenv(name, value)
    check_case(world, bound.case)


def test_the_limits_are_read_from_the_environment(monkeypatch):
    from orchestration.ingest.limits import InputLimits, input_limits

    assert input_limits() == InputLimits()
    monkeypatch.setenv("INGEST_MAX_LINE_BYTES", "4096")
    assert input_limits().max_line_bytes == 4096


def test_a_file_beyond_the_size_limit_is_refused_unread_and_not_copied(world: World, monkeypatch):
    from test_bad_input import assert_good_files_landed, run_ingest, table

    from orchestration.lakehouse.bronze import REJECTIONS_TABLE

    big = world.write("ACME/sensors/long_big.csv", LONG_HEADER + L1 * 3000)
    monkeypatch.setenv("INGEST_MAX_FILE_BYTES", str(big.stat().st_size - 1))
    _, reports = run_ingest(world)
    [outcome] = [f for f in reports["ACME"].files if f.source_file == "ACME/sensors/long_big.csv"]
    assert outcome.status == "quarantined" and "INGEST_MAX_FILE_BYTES" in outcome.first_problem
    [rejection] = [r for r in table(world, REJECTIONS_TABLE).to_pylist() if r["source_file"] == outcome.source_file]
    assert rejection["reason"] == "file_too_large"
    assert not list((world.quarantine / "ACME").glob("*long_big.csv"))
    assert big.exists()
    monkeypatch.delenv("INGEST_MAX_FILE_BYTES")
    assert_good_files_landed(world)


def test_sheet_extent_is_read_from_the_xml(tmp_path):
    from orchestration.ingest.readers import sheet_extent

    for edit, expected in [(lambda x: x, (3, 7, 3, 7)),
                           (declares_the_whole_grid, (1048576, 16384, 3, 7)),
                           (far_cell_under_a_small_dimension, (3, 7, 1048576, 16384)),
                           (far_cell_without_refs, (3, 7, 4, 300))]:
        path = tmp_path / "sheet.xlsx"
        lots_sheet(path, edit)
        with zipfile.ZipFile(path) as archive:
            extent = sheet_extent(archive, "xl/worksheets/sheet1.xml")
        assert (extent.declared_rows, extent.declared_columns, extent.rows, extent.columns) == expected


READ_HOSTILE = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # a broken bound fails here, not on the machine
from orchestration.ingest.mapping import DatasetSpec, Source
from orchestration.ingest.readers import read_xlsx
from orchestration.ingest.rejections import FileRejected
spec = DatasetSpec(dataset="production_lots", files="*.xlsx", format="xlsx", sheet="생산실적")
try:
    read_xlsx(Path(sys.argv[1]).read_bytes(), spec, relative_path="ACME/mes/hostile.xlsx")
    print("LOADED")
except FileRejected as rejected:
    print("REJECTED", rejected.reason)
print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.parametrize("edit", [declares_the_whole_grid, far_cell_under_a_small_dimension])
def test_a_small_hostile_workbook_is_refused_before_its_sheet_is_allocated(tmp_path, edit):
    """A 6 KB workbook whose sheet names cell XFD1048576 (in its dimension, or in one far cell under
    an honest-looking dimension) would make the reader allocate 17 billion cells; in a separate
    process under a 3 GiB address-space limit it is refused with its reason and peak memory stays small."""
    import subprocess
    import sys

    path = tmp_path / "hostile.xlsx"
    lots_sheet(path, edit)
    assert path.stat().st_size < 10_000
    baseline = subprocess.run([sys.executable, "-c", "import resource, pyarrow, python_calamine, orchestration.ingest"
                               ".readers; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
                              capture_output=True, text=True, timeout=120, check=True)
    done = subprocess.run([sys.executable, "-c", READ_HOSTILE, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.split("\n") if line)
    assert lines.get("REJECTED") in ("sheet_too_large", "too_many_columns"), done.stdout
    assert int(lines["MAXRSS_KB"]) < int(baseline.stdout) + 100 * 1024  # < 100 MB above the bare imports
