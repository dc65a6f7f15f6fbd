"""`validate` reports everything ingest would, on real-export shapes: repeated timestamps without a
sequence column, out-of-window dates, blank required cells, missing mapped columns, and content
the ledger already holds."""

from __future__ import annotations

import io

from real_exports import Export, Lake, melting_tank, press_date_only

from orchestration.ingest.validate import EXIT_LANDS, validate


def run_validate(lake: Lake, export: Export, *, bronze=None, name: str | None = None) -> tuple[int, str]:
    out = io.StringIO()
    path = lake.landing / export.relative
    if name:
        path = path.with_name(name)
    code = validate(lake.exports[0].relative.split("/")[0], path, clients_dir=lake.root, rows=3,
                    bronze=bronze or lake.root / "bronze", out=out)
    return code, out.getvalue()


def test_validate_reports_repeats_junk_dates_blank_labels_and_missing_columns(tmp_path):
    press, melt = press_date_only(per_day=200), melting_tank(minutes=20)
    press.rows[10]["작업일자"] = "1900-01-01"  # a junk cell
    melt.rows[5]["품질판정"] = ""  # a blank label
    for row in melt.rows:
        del row["교반속도"]
    melt.header.remove("교반속도")  # a mapped sensor the file lacks
    lake = Lake(tmp_path, [press, melt])

    code, out = run_validate(lake, press)
    assert code == EXIT_LANDS, out
    assert "implausible_timestamp: 1" in out and "작업일자 '1900-01-01" in out
    assert "rows repeat a timestamp of the same equipment" in out and "200 rows" in out
    assert f"source rows {len(press.rows)} = {len(press.rows) - 1} landed + 1 rejected" in out

    code, out = run_validate(lake, melt)
    assert code == EXIT_LANDS, out
    assert "2 mapping entries read this file: melt_log, melt_results" in out
    assert "WARNING      mapped column(s) '교반속도'" in out
    assert "missing_result: 1" in out
    assert "용해온도(°C)" in out  # the file's ℃ header matched


def test_validate_says_when_the_ledger_already_holds_the_content(tmp_path):
    press = press_date_only(per_day=100)
    lake = Lake(tmp_path, [press])
    code, out = run_validate(lake, press)
    assert "DUPLICATE" not in out and "LANDED  " not in out
    lake.ingest()
    _, out = run_validate(lake, press)
    assert "LANDED       the ledger already holds this file for entry press_log" in out
    copy = (lake.landing / press.relative).with_name("재전송.csv")
    copy.write_bytes((lake.landing / press.relative).read_bytes())
    code, out = run_validate(lake, press, name="재전송.csv")
    assert code == EXIT_LANDS
    assert f"DUPLICATE    the ledger already holds this content for entry press_log, from {press.relative}" in out
