"""`onboard draft` on the real-export fixtures of the ingest tests (KAMP-style per-shot table,
extruder PLC log, date-only press log, melting-tank log, CNC log without a clock): each draft,
unedited, passes the mapping validator, reads every data row, and every sensor value it places
lands as the file has it (computed here from the fixture's own rows)."""

from __future__ import annotations

import pytest

from orchestration.ingest.mapping import load_mapping
from orchestration.ingest.standardise import parse_file
from orchestration.onboard.draft import DraftError, draft_mapping
from tests.ingest import real_exports as real


@pytest.mark.parametrize("make", [
    lambda: real.kamp_die_casting(shots=300), lambda: real.extruder_plc(rows_count=300),
    lambda: real.press_date_only(days=1, per_day=200), lambda: real.melting_tank(minutes=30),
    lambda: real.cnc_no_clock(samples=300),
], ids=["kamp", "extruder", "press", "melt", "cnc"])
def test_a_draft_of_a_real_export_lands_its_values(make, tmp_path):
    export = make()
    path = export.write(tmp_path / "landing")
    text = draft_mapping(real.COMPANY, [path])
    target = tmp_path / "clients" / "mappings" / f"{real.COMPANY}.yaml"
    target.parent.mkdir(parents=True)
    target.write_text(text, encoding="utf-8")
    mapping = load_mapping(target)
    within = path.relative_to(tmp_path / "landing" / real.COMPANY).as_posix()
    specs = mapping.datasets_for(within)
    sensors = next(s for s in specs if s.dataset == "sensor_readings")
    assert sensors.sensors, text

    parsed = parse_file(path, sensors, mapping, relative_path=f"{real.COMPANY}/{within}")
    assert parsed.rows_read == len(export.rows)
    rejected = {r.row for r in parsed.rejections}
    expected = {(row["_line"], column): real.number(row[column]) for row in export.rows for column in sensors.sensors
                if row[column].strip() and row["_line"] not in rejected}
    got = {(r["_source_row"], r["source_tag"]): r["value"] for r in parsed.table.to_pylist()}
    assert got == pytest.approx(expected)
    assert len(rejected) <= len(export.rows) // 20  # a few planted bad cells at most, never the file
    # every other dataset entry drafted from the same file reads it too
    for spec in specs:
        if spec is not sensors:
            other = parse_file(path, spec, mapping, relative_path=f"{real.COMPANY}/{within}")
            assert other.rows_read == len(export.rows) and other.table.num_rows > 0, spec.name


def test_an_export_the_draft_cannot_place_says_so_in_one_line(tmp_path):
    export = real.mes_work_orders(orders=20)
    path = export.write(tmp_path / "landing")
    with pytest.raises(DraftError, match="could not tell which dataset"):
        draft_mapping(real.COMPANY, [path])
