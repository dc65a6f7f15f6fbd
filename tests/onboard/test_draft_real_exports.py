"""`onboard draft` on the real-export fixtures of the ingest tests (KAMP-style per-shot table,
extruder PLC log, date-only press log, melting-tank log, CNC log without a clock): each draft,
unedited, passes the mapping validator, reads every data row, and every sensor value it places
lands as the file has it (computed here from the fixture's own rows)."""

from __future__ import annotations

import pytest
import yaml

from orchestration.ingest.mapping import load_mapping
from orchestration.ingest.standardise import parse_file
from orchestration.onboard.columns import tag_dictionary
from orchestration.onboard.draft import DraftError, draft_mapping
from orchestration.sample_clients.shot_export import write_shot_export
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


def test_a_draft_of_the_generators_kamp_shot_table_lands_what_its_own_mapping_lands(tmp_path):
    """The per-shot export the ML tests train on (42 process columns, PassOrFail and 가동/정지 in the
    row): drafted unedited, every dataset entry lands the rows and values of the export's own mapping
    (line and equipment are constants the draft marks GUESS; a unit it cannot read is a GUESS)."""
    export = write_shot_export(tmp_path / "landing" / real.COMPANY / "kamp" / "shots_20261001.csv",
                               company_id=real.COMPANY, shots=150)
    drafted_file, own_file = (tmp_path / kind / "mappings" / f"{real.COMPANY}.yaml" for kind in ("drafted", "own"))
    for file in (drafted_file, own_file):
        file.parent.mkdir(parents=True)
    text = draft_mapping(real.COMPANY, [export.path])
    drafted_file.write_text(text, encoding="utf-8")
    own_file.write_text(f"company_id: {real.COMPANY}\ntimezone: Asia/Seoul\ndatasets:\n"
                        + export.mapping_yaml("kamp/*.csv"), encoding="utf-8")
    drafted, own = load_mapping(drafted_file), load_mapping(own_file)
    quantity = {code: tag.quantity for code, tag in tag_dictionary().items()}
    compared = {"sensor_readings": ("reading_ts", "source_tag", "tag", "value", "sequence_id"),
                "quality_inspections": ("lot_id", "inspected_at", "result"),
                "equipment_events": ("event_ts", "event_type")}

    def landed(mapping, dataset):
        spec = next(s for s in mapping.datasets_for("kamp/shots_20261001.csv") if s.dataset == dataset)
        parsed = parse_file(export.path, spec, mapping, relative_path=f"{real.COMPANY}/kamp/shots_20261001.csv")
        assert not parsed.rejections, (dataset, parsed.rejections[:3])
        rows = parsed.table.to_pylist()
        return sorted(tuple(str(quantity[r[k]] if k == "tag" else r[k]) for k in compared[dataset]) for r in rows)

    for dataset in compared:
        assert landed(drafted, dataset) == landed(own, dataset), dataset
    sensors = yaml.safe_load(text)["datasets"][0]["sensors"]
    assert set(sensors) == set(export.columns)  # all 42 process columns placed, no id among them
    assert sum(r[2] == "fail" for r in landed(drafted, "quality_inspections")) == int(export.failed.sum())
    assert sum(r[1] == "stop" for r in landed(drafted, "equipment_events")) == int(export.stopped.sum())
