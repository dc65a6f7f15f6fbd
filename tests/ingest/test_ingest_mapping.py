"""Client mappings are checked completely at load time, naming the file and the key at fault."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ingest_fixtures import ACME_MAPPING, BETA_MAPPING

from orchestration.ingest.mapping import MappingError, glob_to_regex, load_mapping


def write_mapping(tmp_path: Path, text: str, name: str = "ACME") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def edited(mutate) -> str:
    document = yaml.safe_load(ACME_MAPPING)
    mutate(document)
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def test_fixture_mappings_load(tmp_path):
    acme = load_mapping(write_mapping(tmp_path, ACME_MAPPING))
    assert acme.company_id == "ACME" and acme.timezone == "Asia/Seoul"
    assert [d.dataset for d in acme.datasets] == ["sensor_readings", "sensor_readings", "production_lots",
                                                   "production_lots", "quality_inspections", "equipment_events"]
    wide = acme.datasets[0]
    assert (wide.encoding, wide.layout, wide.timestamp.columns) == ("cp949", "wide", ("일자", "시각"))
    assert wide.sensors["온도(°F)"].unit == "degF"
    assert wide.equipment.columns == ("설비",) and wide.line.value == "LINE-A"
    assert acme.datasets[5].header_row == 2 and acme.datasets[2].sheet == "생산실적"
    beta = load_mapping(write_mapping(tmp_path, BETA_MAPPING, "BETA"))
    assert beta.timezone == "UTC" and beta.datasets[0].timestamp.timezone == "UTC"


def test_dataset_for_uses_the_first_matching_glob(tmp_path):
    acme = load_mapping(write_mapping(tmp_path, ACME_MAPPING))
    assert acme.dataset_for("sensors/wide_2026-11-01.csv").layout == "wide"
    assert acme.dataset_for("sensors/long_a.csv").layout == "long"
    assert acme.dataset_for("mes/lots_1.xlsx").format == "xlsx"
    assert acme.dataset_for("mes/LOTS_1.CSV").format == "csv"  # Windows exports: case does not matter
    assert acme.dataset_for("sensors/sub/long_a.csv") is None  # `*` stays within one folder
    assert acme.dataset_for("other/long_a.csv") is None


def test_glob_double_star_spans_folders():
    pattern = glob_to_regex("**/*.csv")
    assert pattern.fullmatch("a.csv") and pattern.fullmatch("x/y/a.csv")
    assert not pattern.fullmatch("x/a.xlsx")


@pytest.mark.parametrize(
    "mutate, key, words",
    [
        (lambda d: d["datasets"][0]["sensors"]["압력"].update(tag="PRESSURE"), "sensors.압력.tag", "unknown tag 'PRESSURE'"),
        (lambda d: d["datasets"][0]["sensors"]["압력"].update(unit="bars"), "sensors.압력.unit", "unknown unit 'bars'"),
        (lambda d: d["datasets"][0]["sensors"]["압력"].update(unit="degC"), "sensors.압력.unit", "measures temperature"),
        (lambda d: d["datasets"][1]["tags"]["T-03"].update(unit="kPa"), "tags.T-03.unit", "measures pressure"),
        (lambda d: d.update(timezone="Asia/Cheongju"), "timezone", "unknown time zone"),
        (lambda d: d["datasets"][0]["timestamp"].update(timezone="KST+9"), "timestamp.timezone", "unknown time zone"),
        (lambda d: d["datasets"][0].update(dataset="sensor_reading"), "dataset", "unknown dataset"),
        (lambda d: d["datasets"][0].update(encoding="latin-1"), "encoding", "unknown encoding"),
        (lambda d: d["datasets"][0].update(layout="tall"), "layout", "expected wide or long"),
        (lambda d: d["datasets"][0].pop("equipment"), "equipment", "required for sensor_readings"),
        (lambda d: d["datasets"][1].pop("value_column"), "value_column", "non-empty text"),
        (lambda d: d["datasets"][3]["columns"].pop("lot_id"), "columns.lot_id", "required for production_lots"),
        (lambda d: d["datasets"][3]["columns"].update(colour="색상"), "columns.colour", "not a field"),
        (lambda d: d["datasets"][4]["result_values"].update(보류="hold"), "result_values.보류", "not one of pass, fail"),
        (lambda d: d["datasets"][5]["event_values"].update(대기="idle"), "event_values.대기", "not one of run, stop"),
        (lambda d: d["datasets"][0].update(header_row=0), "header_row", "1-based"),
        (lambda d: d["datasets"][0].update(sheet="Sheet1"), "sheet", "only xlsx"),
        (lambda d: d["datasets"][0].update(delimiter=";;"), "delimiter", "one character"),
        (lambda d: d["datasets"][0].update(files="../other/*.csv"), "files", "relative to the company folder"),
        (lambda d: d["datasets"][0]["timestamp"].update(format="yyyy-mm-dd"), "timestamp.format", "not a strptime"),
        (lambda d: d["datasets"][0].update(colour="red"), "colour", "unknown key"),
        (lambda d: d.update(company_id="OTHER"), "company_id", "does not match the file name"),
        (lambda d: d.update(datasets=[]), "datasets", "non-empty list"),
        # the keys for real exports
        (lambda d: d["datasets"][1].update(name="sensor_readings"), "datasets[1] (sensor_readings).name",
         "already the name of datasets[0]"),
        (lambda d: d["datasets"][0].update(sequence={"value": "x"}), "sequence", "one column of the file"),
        (lambda d: d["datasets"][2].update(lot="LOT"), "lot", "only for sensor_readings"),
        (lambda d: d["datasets"][0]["sensors"]["압력"].update(scale="x10"), "sensors.압력.scale", "expected a number"),
        (lambda d: d["datasets"][0]["sensors"]["압력"].update(scale=0), "sensors.압력.scale", "erase every value"),
        (lambda d: d["datasets"][0]["sensors"]["압력"].update(missing=["n/a"]), "sensors.압력.missing[0]",
         "expected a number"),
        (lambda d: d["datasets"][0].update(missing_values="-1"), "missing_values[0]", "expected a number"),
        (lambda d: d["datasets"][2].update(quantity_unit="pcs"), "quantity_unit", "unknown quantity unit 'pcs'"),
        (lambda d: d["datasets"][0].update(quantity_unit="kg"), "quantity_unit", "only for production_lots"),
        (lambda d: d["datasets"][3]["columns"].update(quantity={"value": "many"}), "columns.quantity.value",
         "not a number"),
        (lambda d: d["datasets"][0]["timestamp"].update(not_before="yesterday"), "timestamp.not_before",
         "expected a date"),
        (lambda d: d["datasets"][0]["timestamp"].update(relative={"interval": 0.1, "start": "x"}),
         "timestamp.relative", "either has a timestamp column or relative time"),
        (lambda d: (d["datasets"][0]["timestamp"].pop("columns"),
                    d["datasets"][0]["timestamp"].update(relative={"interval": 0.1})),
         "timestamp.relative", "exactly one of start"),
        (lambda d: (d["datasets"][0]["timestamp"].pop("columns"),
                    d["datasets"][0]["timestamp"].update(relative={"interval": -1, "start": "2024"})),
         "timestamp.relative.interval", "seconds between two samples"),
        (lambda d: (d["datasets"][0]["timestamp"].pop("columns"),
                    d["datasets"][0]["timestamp"].update(relative={"interval": 1, "start_from_file_name": "x"})),
         "timestamp.relative.start_from_file_name", "exactly one (group)"),
        (lambda d: d["datasets"].append({"dataset": "shipments", "files": "mes/*.csv", "columns": {"order_id": "A"},
                                         "timestamp": {"format": "%Y-%m-%d"},
                                         "shipments": {"count": 10, "quantity": "출하수량"}}),
         "shipments.quantity", "needs {n} or {nth}"),
    ],
)
def test_bad_mapping_names_file_and_key(tmp_path, mutate, key, words):
    path = write_mapping(tmp_path, edited(mutate))
    with pytest.raises(MappingError) as error:
        load_mapping(path)
    message = str(error.value)
    assert message.startswith(str(path))
    assert key in message, message
    assert words in message, message


def test_new_keys_have_defaults_and_names(tmp_path):
    acme = load_mapping(write_mapping(tmp_path, ACME_MAPPING))
    assert [d.name for d in acme.datasets] == ["sensor_readings", "sensor_readings#2", "production_lots",
                                               "production_lots#2", "quality_inspections", "equipment_events"]
    assert len(acme.version) == 16
    wide = acme.datasets[0]
    assert (wide.sequence, wide.lot, wide.missing_values, wide.timestamp.relative) == (None, None, (), None)
    assert (wide.sensors["압력"].scale, wide.sensors["압력"].offset) == (1.0, 0.0)
    assert acme.datasets[2].quantity_unit == "ea"


def test_several_entries_read_one_file(tmp_path):
    document = yaml.safe_load(ACME_MAPPING)
    qc = dict(document["datasets"][4], name="qc_again", files="qc/*.csv")
    document["datasets"].append(qc)
    acme = load_mapping(write_mapping(tmp_path, yaml.safe_dump(document, allow_unicode=True)))
    assert [s.name for s in acme.datasets_for("qc/a.csv")] == ["quality_inspections", "qc_again"]


def test_ordinal_shipment_columns(tmp_path):
    text = ACME_MAPPING + """\
  - dataset: shipments
    files: "mes/orders_*.csv"
    timestamp: {format: "%Y-%m-%d"}
    columns: {order_id: Order}
    shipments: {count: 3, quantity: "{nth} shipment qty", shipped_at: "{nth} shipment date"}
    quantity_unit: kg
"""
    spec = load_mapping(write_mapping(tmp_path, text)).datasets[-1]
    assert spec.shipments.quantity == ("1st shipment qty", "2nd shipment qty", "3rd shipment qty")
    assert spec.quantity_unit == "kg"


def test_yaml_booleans_as_labels_are_refused(tmp_path):
    text = ACME_MAPPING.replace("{합격: pass, 불합격: fail, OK: pass, NG: fail}", "{yes: pass, no: fail}")
    with pytest.raises(MappingError, match="quotes"):
        load_mapping(write_mapping(tmp_path, text))


def test_missing_or_broken_mapping_file(tmp_path):
    with pytest.raises(MappingError, match="no such mapping file"):
        load_mapping(tmp_path / "NOPE.yaml")
    with pytest.raises(MappingError, match="YAML"):
        load_mapping(write_mapping(tmp_path, "company_id: [ACME\n"))
