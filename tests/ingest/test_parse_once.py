"""One file, several mapping entries: the bytes are read and split once for all of them, and each
entry's result is exactly what it gives when parsed alone (rows, rejections, counts)."""

from __future__ import annotations

import pytest
from real_exports import NOW, Lake, extruder_plc, kamp_die_casting, mes_work_orders

from orchestration.ingest import readers
from orchestration.ingest.mapping import load_mapping
from orchestration.ingest.standardise import parse_entries, parse_file


@pytest.fixture
def count_csv_reads(monkeypatch):
    calls: list[str] = []
    original = readers.read_csv

    def counting(*args, **kwargs):
        calls.append(kwargs.get("relative_path", ""))
        return original(*args, **kwargs)

    monkeypatch.setattr(readers, "read_csv", counting)
    return calls


def summary(result):
    if isinstance(result, Exception):
        return ("rejected", result.reason, result.row, result.column)
    return (result.table.to_pylist(), [(r.reason, r.row, r.column, r.message) for r in result.rejections],
            result.rows_read, result.rows_rejected, result.unmapped_columns, result.missing_columns,
            result.mapped_columns, result.encoding)


def alone(data, spec, mapping, rel):
    try:
        return parse_file(data, spec, mapping, relative_path=rel, now=NOW)
    except Exception as rejected:  # FileRejected
        return rejected


def bell_in_a_sensor_cell(export):
    """A control character in one cell of a column only the readings entry uses."""
    row = export.rows[10]
    row["molten_temp"] = row["molten_temp"] + "\x07"
    return export, row["_line"]


@pytest.mark.parametrize("make", [kamp_die_casting, extruder_plc, mes_work_orders,
                                  lambda: bell_in_a_sensor_cell(kamp_die_casting())[0]],
                         ids=["kamp", "extruder", "mes", "kamp_bell_in_one_entry_column"])
def test_each_entry_gets_what_it_gets_alone_from_one_read(tmp_path, make, count_csv_reads):
    export = make()
    lake = Lake(tmp_path, [export])
    mapping = load_mapping(lake.mapping_file)
    data = (lake.landing / export.relative).read_bytes()
    specs = mapping.datasets_for(export.relative.split("/", 1)[1])
    assert len(specs) >= 2

    expected = [summary(alone(data, spec, mapping, export.relative)) for spec in specs]
    count_csv_reads.clear()
    shared = [summary(r) for r in parse_entries(data, specs, mapping, relative_path=export.relative, now=NOW)]
    assert len(count_csv_reads) == 1, count_csv_reads
    assert shared == expected


def test_a_bad_cell_rejects_the_row_only_for_the_entry_that_uses_it(tmp_path):
    export, line = bell_in_a_sensor_cell(kamp_die_casting())
    lake = Lake(tmp_path, [export])
    mapping = load_mapping(lake.mapping_file)
    specs = mapping.datasets_for(export.relative.split("/", 1)[1])
    data = (lake.landing / export.relative).read_bytes()
    results = dict(zip([s.name for s in specs], parse_entries(data, specs, mapping, relative_path=export.relative,
                                                              now=NOW)))
    assert (line, "control_character") in {(r.row, r.reason) for r in results["kamp_shots"].rejections}
    assert line in set(results["kamp_results"].table["_source_row"].to_pylist())


def test_ingest_reads_a_four_entry_export_once(tmp_path, count_csv_reads):
    lake = Lake(tmp_path, [kamp_die_casting()])
    report = lake.ingest()
    assert len({f.dataset_entry for f in report.files}) == 4
    assert count_csv_reads == [lake.exports[0].relative]
    log = lake.log()
    for entry in ("kamp_shots", "kamp_results", "kamp_states", "kamp_lots"):
        assert log[entry]["source_rows"] == len(lake.exports[0].rows)
        assert log[entry]["rows_landed"] + log[entry]["rows_rejected"] == log[entry]["source_rows"]


def test_a_workbook_sheet_is_loaded_once_for_all_its_entries(tmp_path, monkeypatch):
    """The KAMP table as an XLSX export: the sheet is loaded once, every entry gets what it gets alone."""
    from ingest_fixtures import write_xlsx

    from orchestration.ingest import standardise

    export = kamp_die_casting(shots=300)
    export.mapping = export.mapping.replace('"kamp/*.csv"', '"kamp/*.xlsx"')
    lake = Lake(tmp_path, [export])
    path = lake.landing / export.relative.replace(".csv", ".xlsx")
    write_xlsx(path, "Sheet1", export.header, [[row[c] for c in export.header] for row in export.rows])
    mapping = load_mapping(lake.mapping_file)
    rel = path.relative_to(lake.landing).as_posix()
    specs = mapping.datasets_for(rel.split("/", 1)[1])
    assert len(specs) == 4 and {s.format for s in specs} == {"xlsx"}
    data = path.read_bytes()
    expected = [summary(alone(data, spec, mapping, rel)) for spec in specs]

    loads: list[str] = []
    original = readers.load_sheet

    def counting(*args, **kwargs):
        loads.append(kwargs.get("relative_path", ""))
        return original(*args, **kwargs)

    monkeypatch.setattr(readers, "load_sheet", counting)
    monkeypatch.setattr(standardise, "load_sheet", counting)
    shared = [summary(r) for r in parse_entries(data, specs, mapping, relative_path=rel, now=NOW)]
    assert loads == [rel]
    assert shared == expected
    assert all(not isinstance(r, tuple) or r[0] != "rejected" for r in shared)
