"""Bad input, one case at a time, through the real ingest path.

Each case drops one bad file into a landing area that also holds good files of the same company
(ACME) and of another company (BETA), runs `discover_landing` + `ingest_company` into a fresh
bronze lake, and checks: the exact reason (row and column for row problems), the rejection in
`bronze/ingest_rejections`, the original bytes kept in quarantine and still in landing, the good
rows of a partially bad file landed, and every good file of both companies landed in full.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import dagster as dg
import pyarrow.compute as pc
import pytest
from ingest_fixtures import (BETA_HEADER, EVENTS_HEADER, EVENTS_TITLE, GOOD_FILES, LONG_HEADER, LOT_SHEET_HEADER,
                      LOT_SHEET_ROWS, LOTS_HEADER, QC_HEADER, WIDE_HEADER, World, write_xlsx)
from deltalake import DeltaTable

from orchestration.ingest.landing import NEVER_READ, discover_landing
from orchestration.ingest.mapping import load_mapping
from orchestration.ingest.rejections import REASONS
from orchestration.lakehouse.bronze import LOG_TABLE, REJECTIONS_TABLE, BronzeLake
from orchestration.lakehouse.landing_to_bronze import ingest_company

COMPANIES = ("ACME", "BETA")


def run_ingest(world: World):
    scan = discover_landing(world.landing, set(COMPANIES))
    reports = {}
    for company in COMPANIES:
        reports[company] = ingest_company(
            company, [f for f in scan.files if f.company_id == company],
            mapping=load_mapping(world.clients / "mappings" / f"{company}.yaml"),
            bronze=BronzeLake(world.bronze), quarantine_root=world.quarantine, run_id="test")
    return scan, reports


def table(world: World, name: str):
    path = world.bronze / name
    return DeltaTable(str(path)).to_pyarrow_table() if path.exists() else None


def landed_rows(world: World, dataset: str, source_file: str) -> int:
    rows = table(world, dataset)
    if rows is None:
        return 0
    return pc.sum(pc.equal(rows["_source_file"], source_file)).as_py() or 0


def assert_good_files_landed(world: World) -> None:
    for source_file, (dataset, expected) in GOOD_FILES.items():
        assert landed_rows(world, dataset, source_file) == expected, source_file
    log = table(world, LOG_TABLE).to_pylist()
    status = {r["source_file"]: r["status"] for r in log}
    for source_file in GOOD_FILES:
        assert status[source_file] == "ingested", (source_file, status[source_file])


def assert_kept_in_quarantine(world: World, company: str, relative: str, original: bytes) -> None:
    digest = hashlib.sha256(original).hexdigest()
    kept = world.quarantine / company / f"{digest[:16]}__{Path(relative).name}"
    assert kept.read_bytes() == original
    assert (world.landing / relative).read_bytes() == original  # nothing is moved out of landing


# ---------------------------------------------------------------- cases


@dataclass
class Case:
    id: str
    relative: str  # under landing/
    content: bytes | str | Callable[[Path], None]
    reason: str
    row: int | None = None  # row-level: the line (CSV) / sheet row (XLSX)
    column: str | None = None
    landed: int | None = None  # None: quarantined whole; else the good rows of the file that land
    dataset: str = "sensor_readings"
    encoding: str = "utf-8"


def lots_xlsx(sheet: str = "생산실적", rows=None) -> Callable[[Path], None]:
    return lambda path: write_xlsx(path, sheet, LOT_SHEET_HEADER, rows if rows is not None else LOT_SHEET_ROWS[:1])


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    return buffer.getvalue()


L1 = "2026-11-02 08:00:00,MIX-01,T-03,21.0,degC\n"
L2 = "2026-11-02 08:00:00,MIX-01,P-01,100.9,kPa\n"
L3 = "2026-11-02 08:01:00,MIX-01,T-03,21.1,degC\n"

CASES = [
    # whole file
    Case("empty_file", "ACME/sensors/long_empty.csv", b"", "empty_file"),
    Case("header_only", "ACME/sensors/long_header.csv", LONG_HEADER, "header_only"),
    Case("cp949_declared_utf8", "ACME/sensors/long_cp949.csv",
         LONG_HEADER + "2026-11-02 08:00:00,혼합기-1,T-03,21.0,degC\n", "wrong_encoding", encoding="cp949"),
    Case("utf8_declared_cp949", "ACME/sensors/wide_utf8.csv",
         WIDE_HEADER + "2026-11-02,오전 08:00:00,MIX-01,150.5,30.1,\n", "wrong_encoding"),
    Case("utf16_export", "ACME/sensors/long_utf16.csv", (LONG_HEADER + L1).encode("utf-16"), "wrong_encoding"),
    Case("binary_garbage", "ACME/sensors/long_garbage.csv", bytes(range(256)) * 4, "binary_file"),
    Case("xlsx_named_csv", "ACME/sensors/long_export.csv", xlsx_bytes(), "binary_file"),
    Case("missing_required_column", "ACME/sensors/long_noval.csv",
         "TS,EQ,TAG,UNIT\n2026-11-02 08:00:00,MIX-01,T-03,degC\n", "missing_column", column="VAL"),
    Case("duplicate_column", "ACME/sensors/long_dup.csv",
         "TS,EQ,TAG,VAL,TAG,UNIT\n2026-11-02 08:00:00,MIX-01,T-03,1,T-03,degC\n", "duplicate_column", column="TAG"),
    Case("no_wide_sensor_column", "ACME/sensors/wide_nosensor.csv",
         "일자,시각,설비,습도\n2026-11-02,오전 08:00:00,MIX-01,40\n", "missing_column", encoding="cp949"),
    Case("unmapped_file", "ACME/sensors/readme.txt", "이 폴더에는 센서 데이터가 있습니다\n", "unmapped_file", dataset=None),
    Case("unreadable_xlsx", "ACME/mes/lots_broken.xlsx", b"PK\x03\x04 this is not really a workbook",
         "unreadable_xlsx", dataset="production_lots"),
    Case("missing_sheet", "ACME/mes/lots_sheet.xlsx", lots_xlsx(sheet="Sheet1"), "missing_sheet",
         dataset="production_lots"),
    Case("missing_header", "ACME/events/ev_title_only.csv", EVENTS_TITLE, "missing_header",
         dataset="equipment_events"),
    Case("unterminated_quote", "ACME/sensors/long_quote.csv",  # the open quote swallows the rest of the line
         LONG_HEADER + L1 + '2026-11-02 08:00:00,"MIX-01,T-03,21.0,degC\n', "truncated_row", row=3, landed=1),
    Case("every_timestamp_wrong_format", "ACME/sensors/long_usdate.csv",
         LONG_HEADER + "11/02/2026 08:00,MIX-01,T-03,21.0,degC\n11/02/2026 08:01,MIX-01,T-03,21.2,degC\n",
         "unparseable_timestamp", row=2, column="TS"),
    # one row
    Case("unparseable_timestamp", "ACME/sensors/long_ts.csv",
         LONG_HEADER + L1 + "2026-13-45 99:00:00,MIX-01,T-03,21.0,degC\n" + L2, "unparseable_timestamp",
         row=3, column="TS", landed=2),
    Case("missing_timestamp", "ACME/sensors/long_nots.csv", LONG_HEADER + L1 + L2 + ",MIX-01,T-03,21.0,degC\n",
         "missing_timestamp", row=4, column="TS", landed=2),
    Case("non_numeric_long", "ACME/sensors/long_err.csv", LONG_HEADER + L1 + "2026-11-02 08:00:00,MIX-01,P-01,ERR,kPa\n" + L3,
         "non_numeric_value", row=3, column="VAL", landed=2),
    Case("nan_value", "ACME/sensors/long_nan.csv", LONG_HEADER + "2026-11-02 08:00:00,MIX-01,P-01,NaN,kPa\n" + L1,
         "non_numeric_value", row=2, column="VAL", landed=1),
    Case("non_numeric_wide_cell", "ACME/sensors/wide_err.csv",
         WIDE_HEADER + "2026-11-02,오전 08:00:00,MIX-01,150.5,30.1,\n2026-11-02,오전 08:05:00,MIX-01,--,30.4,\n",
         "non_numeric_value", row=3, column="온도(°F)", landed=3, encoding="cp949"),
    Case("truncated_last_row", "ACME/sensors/long_cut.csv", LONG_HEADER + L1 + L2 + "2026-11-02 08:01:00,MIX-0",
         "truncated_row", row=4, landed=2),
    Case("ragged_row", "ACME/sensors/long_ragged.csv", LONG_HEADER + L1 + "2026-11-02 08:00:00,MIX-01,P-01,1,kPa,x\n\n" + L3,
         "ragged_row", row=3, landed=2),
    Case("unknown_tag", "ACME/sensors/long_tag.csv", LONG_HEADER + L1 + "2026-11-02 08:00:00,MIX-01,H-77,45,pct\n",
         "unknown_tag", row=3, column="TAG", landed=1),
    Case("unknown_unit", "ACME/sensors/long_unit.csv", LONG_HEADER + "2026-11-02 08:00:00,MIX-01,T-03,70,Fahrenheit\n" + L2,
         "unknown_unit", row=2, column="UNIT", landed=1),
    Case("unit_mismatch", "ACME/sensors/long_mismatch.csv", LONG_HEADER + L1 + "2026-11-02 08:00:00,MIX-01,P-01,20,degC\n",
         "unit_mismatch", row=3, column="UNIT", landed=1),
    Case("missing_value", "ACME/sensors/long_noval_cell.csv", LONG_HEADER + L1 + "2026-11-02 08:00:00,MIX-01,P-01,,kPa\n",
         "missing_value", row=3, column="VAL", landed=1),
    Case("missing_equipment", "ACME/sensors/long_noeq.csv", LONG_HEADER + "2026-11-02 08:00:00,,T-03,21,degC\n" + L2,
         "missing_equipment", row=2, column="EQ", landed=1),
    Case("missing_lot_id", "ACME/mes/lots_nolot.csv",
         LOTS_HEADER + ",크림A,2026/11/03 08:00,2026/11/03 09:00,100,1\nL-1201,크림A,2026/11/03 09:00,2026/11/03 10:00,100,1\n",
         "missing_lot_id", row=2, column="LOT번호", landed=1, dataset="production_lots"),
    Case("end_before_start", "ACME/mes/lots_time.csv",
         LOTS_HEADER + "L-1301,크림A,2026/11/03 08:00,2026/11/03 07:00,100,1\nL-1302,크림A,2026/11/03 09:00,2026/11/03 10:00,90,0\n",
         "end_before_start", row=2, column="종료시간", landed=1, dataset="production_lots"),
    Case("negative_quantity", "ACME/mes/lots_neg.csv",
         LOTS_HEADER + "L-1401,크림A,2026/11/03 08:00,2026/11/03 09:00,100,1\nL-1402,크림A,2026/11/03 09:00,2026/11/03 10:00,-5,0\n",
         "negative_quantity", row=3, column="생산수량", landed=1, dataset="production_lots"),
    Case("defects_exceed_quantity", "ACME/mes/lots_defects.xlsx",
         lots_xlsx(rows=[LOT_SHEET_ROWS[0], ["LINE-1", "L-2003", "세럼", LOT_SHEET_ROWS[0][3], LOT_SHEET_ROWS[0][4], 10, 11]]),
         "defects_exceed_quantity", row=3, column="불량수량", landed=1, dataset="production_lots"),
    Case("unknown_result", "ACME/qc/qc_result.csv",
         QC_HEADER + "L-1101,2026-11-01 10:10:00,점도,3200,3000,3500,cP,보류,\nL-1102,2026-11-01 12:05:00,점도,3100,3000,3500,cP,합격,\n",
         "unknown_result", row=2, column="판정", landed=1, dataset="quality_inspections"),
    Case("unknown_event_type", "ACME/events/ev_type.csv",
         EVENTS_TITLE + EVENTS_HEADER + "2026.11.02 08:00:00,MIX-01,가동,,\n2026.11.02 08:30:00,MIX-01,대기,,\n",
         "unknown_event_type", row=4, column="상태", landed=1, dataset="equipment_events"),
    Case("beta_bad_value", "BETA/data/b_bad.csv", BETA_HEADER + "2026-11-01T01:00:00,oven_temp,N/A\n"
         "2026-11-01T01:01:00,oven_temp,183.0\n", "non_numeric_value", row=2, column="value", landed=1),
]
assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_file(world: World, case: Case):
    path = world.landing / case.relative
    if callable(case.content):
        case.content(path)
    else:
        world.write(case.relative, case.content, case.encoding)
    original = path.read_bytes()
    company = case.relative.split("/", 1)[0]

    scan, reports = run_ingest(world)

    assert case.relative in {f.relative_path for f in scan.files}
    outcome = next(f for f in reports[company].files if f.source_file == case.relative)
    rejections = [r for r in table(world, REJECTIONS_TABLE).to_pylist() if r["source_file"] == case.relative]
    assert rejections, "the rejection must be recorded in bronze/ingest_rejections"
    assert {r["reason"] for r in rejections} == {case.reason}, rejections
    assert all(r["company_id"] == company and r["dataset"] == case.dataset for r in rejections)
    assert case.reason in REASONS
    if case.landed is None:
        assert outcome.status == "quarantined"
        assert len(rejections) == 1
        assert landed_rows(world, case.dataset or "sensor_readings", case.relative) == 0
    else:
        assert outcome.status == "partial"
        assert outcome.rows_landed == case.landed
        assert landed_rows(world, case.dataset, case.relative) == case.landed
        assert len(rejections) == 1
    if case.row is not None:
        assert rejections[0]["row_number"] == case.row
    if case.column is not None:
        assert rejections[0]["column_name"] == case.column
    assert rejections[0]["message"]
    assert_kept_in_quarantine(world, company, case.relative, original)
    assert_good_files_landed(world)


def test_partial_file_lands_good_rows_with_their_line_numbers(world: World):
    """Line numbers of landed rows stay those of the file, across blank lines and a ragged row."""
    relative = "ACME/sensors/long_lines.csv"
    world.write(relative, LONG_HEADER + L1 + "\n" + "x,y\n" + L2 + "\n\n" + L3)
    run_ingest(world)
    rows = table(world, "sensor_readings")
    mine = rows.filter(pc.equal(rows["_source_file"], relative))
    assert sorted(mine["_source_row"].to_pylist()) == [2, 5, 8]
    [rejection] = [r for r in table(world, REJECTIONS_TABLE).to_pylist() if r["source_file"] == relative]
    assert (rejection["reason"], rejection["row_number"]) == ("truncated_row", 4)


def test_good_files_land_with_standard_values(world: World):
    """The good fixtures as standard rows: KST -> UTC, 오전/오후, °F kept as sent, xlsx datetimes."""
    run_ingest(world)
    assert_good_files_landed(world)
    readings = table(world, "sensor_readings")
    wide = readings.filter(pc.equal(readings["_source_file"], "ACME/sensors/wide_good.csv")).to_pylist()
    last = [r for r in wide if r["_source_row"] == 4 and r["tag"] == "TEMP"][0]
    assert (last["equipment_id"], last["value"], last["unit"], last["source_tag"]) == ("MIX-02", 149.9, "degF", "온도(°F)")
    assert last["reading_ts"].isoformat() == "2026-11-01T04:00:00+00:00"  # 오후 01:00 KST
    assert {r["line_id"] for r in wide} == {"LINE-A"}
    long = readings.filter(pc.equal(readings["_source_file"], "ACME/sensors/long_good.csv")).to_pylist()
    assert [r["unit"] for r in sorted(long, key=lambda r: r["_source_row"])] == ["degC", "kPa", "degC", "kPa"]
    beta = readings.filter(pc.equal(readings["_source_file"], "BETA/data/b_good.csv")).to_pylist()
    assert {r["equipment_id"] for r in beta} == {"OVEN-1"}
    assert min(r["reading_ts"] for r in beta).isoformat() == "2026-11-01T00:00:00+00:00"  # BETA is UTC
    lots = {r["lot_id"]: r for r in table(world, "production_lots").to_pylist()}
    assert lots["L-1101"]["quantity"] == 1200.0
    assert lots["L-2001"]["start_ts"].isoformat() == "2026-11-01T23:00:00+00:00"  # xlsx 2026-11-02 08:00 KST
    assert lots["L-2001"]["line_id"] == "LINE-1" and lots["L-2001"]["_source_row"] == 2
    results = [r["result"] for r in sorted(table(world, "quality_inspections").to_pylist(), key=lambda r: r["_source_row"])]
    assert results == ["pass", "fail", "pass"]
    events = sorted(table(world, "equipment_events").to_pylist(), key=lambda r: r["_source_row"])
    assert [(e["_source_row"], e["event_type"], e["event_code"]) for e in events] == [
        (3, "run", None), (4, "alarm", "E-104"), (5, "stop", None)]
    log = {r["source_file"]: r for r in table(world, LOG_TABLE).to_pylist()}
    assert log["ACME/sensors/wide_good.csv"]["unmapped_columns"] == "비고"


# ---------------------------------------------------------------- the landing area itself


@dataclass
class LandingCase:
    id: str
    make: Callable[[World], str]  # creates the entry, returns its path relative to landing/
    reason: str


def _file(relative: str, content: bytes = b"a,b\n1,2\n") -> Callable[[World], str]:
    def make(world: World) -> str:
        world.write(relative, content)
        return relative
    return make


def _symlink(world: World) -> str:
    link = world.landing / "ACME" / "sensors" / "long_link.csv"
    link.symlink_to("/etc/passwd")
    return "ACME/sensors/long_link.csv"


def _hard_link(world: World) -> str:
    """A hard link to a file outside the upload (in the field: /etc/passwd); same inode, so a
    symlink check alone does not see it."""
    secret = world.root / "outside_secret.txt"
    secret.write_text("root:x:0:0:SECRET-LINE\n", encoding="utf-8")
    link = world.landing / "ACME" / "sensors" / "long_hardlink.csv"
    os.link(secret, link)
    return "ACME/sensors/long_hardlink.csv"


LANDING_CASES = [
    LandingCase("unknown_company", _file("GAMMA/sensors/long_x.csv", (LONG_HEADER + L1).encode()), "unknown_company"),
    LandingCase("file_in_landing_root", _file("long_orphan.csv", (LONG_HEADER + L2).encode()), "not_in_company_folder"),
    LandingCase("symlink_outside", _symlink, "symlink"),
    LandingCase("hard_link_outside", _hard_link, "hard_link"),
    LandingCase("newline_in_name", _file("ACME/sensors/long_a\nb.csv", (LONG_HEADER + L3).encode()), "unsafe_name"),
    LandingCase("excel_lock_file", _file("ACME/mes/~$lots_good.xlsx", b"\x00lock"), "temporary_file"),
    LandingCase("partial_upload", _file("ACME/sensors/long_up.csv.part", (LONG_HEADER + L1).encode()), "temporary_file"),
    LandingCase("hidden_file", _file("ACME/sensors/.DS_Store", b"\x00\x00\x00\x01Bud1"), "hidden_file"),
]


@pytest.mark.parametrize("case", LANDING_CASES, ids=[c.id for c in LANDING_CASES])
def test_bad_landing_entry(world: World, case: LandingCase):
    relative = case.make(world)
    path = world.landing / relative
    original = None if path.is_symlink() else path.read_bytes()

    scan, _ = run_ingest(world)
    assert relative not in {f.relative_path for f in scan.files}
    problems = {r.file: r.reason for r in scan.rejected}
    assert problems == {relative.replace("\n", "\\n"): case.reason}, problems
    assert_good_files_landed(world)
    if original is not None:
        assert path.read_bytes() == original  # left in landing, untouched
    else:
        assert os.readlink(path) == "/etc/passwd"  # the link itself is left alone, never followed


def test_landing_audit_records_and_keeps_unattributed_entries(world: World):
    """The Dagster asset `bronze/landing_audit` writes each landing-level rejection to
    ingest_rejections (company `_unattributed`) and keeps readable originals in quarantine."""
    from orchestration.assets.ingest import UNATTRIBUTED, landing_audit
    from orchestration.resources import LakeResource

    made = {case.make(world): case.reason for case in LANDING_CASES}
    originals = {rel: (world.landing / rel).read_bytes() for rel in made
                 if made[rel] not in NEVER_READ}
    lake = LakeResource(root=str(world.root), clients_dir=str(world.clients))
    assert dg.materialize([landing_audit], resources={"lake": lake}).success
    recorded = {(r["source_file"], r["reason"]) for r in table(world, REJECTIONS_TABLE).to_pylist()
                if r["company_id"] == UNATTRIBUTED}
    assert recorded == {(rel.replace("\n", "\\n"), reason) for rel, reason in made.items()}
    for rel, original in originals.items():
        if "\n" in rel:
            continue  # recorded by its escaped name; the path on disk cannot be rebuilt from it
        digest = hashlib.sha256(original).hexdigest()
        assert (world.quarantine / UNATTRIBUTED / f"{digest[:16]}__{Path(rel).name}").read_bytes() == original
    assert not list(world.quarantine.rglob("*passwd*"))
    assert not [p for p in world.quarantine.rglob("*") if p.is_file() and b"SECRET-LINE" in p.read_bytes()]
    assert not [r for r in table(world, REJECTIONS_TABLE).to_pylist() if "SECRET-LINE" in (r["message"] or "")]
    # a second audit adds nothing
    assert dg.materialize([landing_audit], resources={"lake": lake}).success
    assert len(table(world, REJECTIONS_TABLE)) == len(made)


def test_empty_landing_area(tmp_path):
    assert discover_landing(tmp_path / "missing", {"ACME"}).files == []
