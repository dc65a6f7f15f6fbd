"""`onboard draft` on files shaped like real exports (not our generator's): KAMP-style per-shot
die-casting tables, extruder PLC logs, US and compact timestamps, units and labels in headers.
Each draft must pass the validator and, unedited, read the file's values right."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchestration.ingest.mapping import load_mapping
from orchestration.ingest.standardise import parse_file
from orchestration.onboard.columns import event_map, header_unit, result_map, sensor_guess, time_format
from orchestration.onboard.columns import DATETIME_FORMATS, DATE_FORMATS, TIME_FORMATS
from orchestration.onboard.draft import draft_mapping

COMPANY = "JC-DIE-05"


def land(tmp_path: Path, relative: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "landing" / COMPANY / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def drafted(tmp_path: Path, files: list[Path]):
    text = draft_mapping(COMPANY, files)
    target = tmp_path / "clients" / "mappings" / f"{COMPANY}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return text, load_mapping(target)


def parsed(mapping, path: Path, tmp_path: Path):
    within = path.relative_to(tmp_path / "landing" / COMPANY).as_posix()
    return parse_file(path, mapping.dataset_for(within), mapping, relative_path=f"{COMPANY}/{within}")


@pytest.mark.parametrize("values, formats, expected", [
    (["2025-03-05 09:00:00", "2025-03-05 09:00:05"], DATETIME_FORMATS, "%Y-%m-%d %H:%M:%S"),
    (["2025/03/05 09:00", "2025/03/05 13:10"], DATETIME_FORMATS, "%Y/%m/%d %H:%M"),
    (["2020 10 30 00:00:04", "2020 10 30 00:00:09"], DATETIME_FORMATS, "%Y %m %d %H:%M:%S"),
    (["5/4/20 0:00", "5/4/20 13:05", "5/14/20 9:30"], DATETIME_FORMATS, "%m/%d/%y %H:%M"),
    (["2025.03.05 오전 9:00:00", "2025.03.05 오후 1:00:00"], DATETIME_FORMATS, "%Y.%m.%d %p %I:%M:%S"),
    (["20250305090000", "20250305090005"], DATETIME_FORMATS, "%Y%m%d%H%M%S"),
    (["2019-01-02", "2019-01-03"], DATE_FORMATS, "%Y-%m-%d"),
    (["오전 09:00:00", "오후 01:00:00"], TIME_FORMATS, "%p %I:%M:%S"),
])
def test_timestamp_formats_are_recognised(values, formats, expected):
    assert time_format(values, formats).format == expected


def test_a_us_date_on_or_before_the_12th_is_a_marked_guess():
    found = time_format(["05/04/2020 00:00:00", "05/06/2020 01:00:00"], DATETIME_FORMATS)
    assert found.format == "%m/%d/%Y %H:%M:%S" and found.ambiguous == "%d/%m/%Y %H:%M:%S"
    assert time_format(["05/14/2020 00:00:00"], DATETIME_FORMATS).ambiguous is None


@pytest.mark.parametrize("header, unit", [
    ("온도(℃)", "degC"), ("Barrel Temp (F)", "degF"), ("유온(℉)", "degF"), ("Melt Temp(°F)", "degF"),
    ("압력(kgf/cm2)", "kgf/cm2"), ("사출압력(MPa)", "MPa"), ("Air (psi)", "psi"), ("충전압력(bar)", "bar"),
    ("회전수(rpm)", "rpm"), ("점도(cP)", "cP"), ("전류(mA)", "mA"), ("생산량(Kg)", "kg"), ("습도(%)", "pct"),
    ("ChamberPress_Pa", "Pa"),
])
def test_units_written_in_headers(header, unit):
    assert header_unit(header)[0] == unit


def test_tags_come_from_the_dictionarys_korean_and_english_names():
    assert sensor_guess("살균온도").tag == "TEMP" and not sensor_guess("살균온도").sure  # unit assumed: a guess
    assert (sensor_guess("Barrel Temp (F)").tag, sensor_guess("Barrel Temp (F)").unit) == ("TEMP", "degF")
    assert sensor_guess("사출압력(MPa)").tag == "INJ_PRES" and sensor_guess("사출압력(MPa)").sure
    assert sensor_guess("진공도(Pa)").tag == "PRES"
    assert sensor_guess("Spindle Speed(rpm)").tag == "SPEED"
    assert sensor_guess("Viscosity").tag == "VISC"
    assert sensor_guess("부하율(%)").tag == "LOAD_PCT"  # the dictionary's own Korean name
    assert sensor_guess("비율(%)").tag is None  # percent of what: no standard tag is claimed


@pytest.mark.parametrize("values, expected", [
    (["합격", "불합격"], {"합격": "pass", "불합격": "fail"}),
    (["OK"], {"OK": "pass", "NG": "fail"}),
    (["Y", "N"], {"Y": "pass", "N": "fail"}),
    (["PASS"], {"PASS": "pass", "FAIL": "fail"}),
    (["0", "1", "0"], {"0": "pass", "1": "fail"}),
])
def test_label_value_maps(values, expected):
    assert result_map(values) == expected


def test_status_value_maps():
    assert event_map(["가동", "정지"]) == {"가동": "run", "정지": "stop", "알람": "alarm"}
    assert event_map(["RUN", "STOP"]) == {"RUN": "run", "STOP": "stop", "ALARM": "alarm"}


def test_kamp_style_per_shot_die_casting_table(tmp_path):
    header = ("line,name,mold_name,time,date,count,working,molten_temp,low_section_speed,cast_pressure,"
              "upper_mold_temp1,passorfail,mold_code")
    rows = [f"전자교반 3라인 2호기,TM Carrier RH,TM Carrier RH-Semi-Solid DIE-06,21:{10 + i // 60:02d}:{i % 60:02d},"
            f"2019-01-02,{i + 1},{'가동' if i % 9 else '정지'},{731 + i % 5},{110 + i % 3},{62 + i % 4},"
            f"{206 + i % 7},{1 if i % 25 == 24 else 0},8722" for i in range(100)]
    path = land(tmp_path, "kamp/cast_20190102.csv", "\n".join([header, *rows]) + "\n", "utf-8-sig")
    text, mapping = drafted(tmp_path, [path])
    entry = yaml.safe_load(text)["datasets"][0]
    assert entry["dataset"] == "sensor_readings" and entry["layout"] == "wide"
    assert entry["timestamp"]["columns"] == ["date", "time"] and entry["timestamp"]["format"] == "%Y-%m-%d %H:%M:%S"
    assert entry["sensors"]["molten_temp"]["tag"] == "TEMP" and entry["sensors"]["cast_pressure"]["tag"] == "PRES"
    assert "count" not in entry["sensors"] and "mold_code" not in entry["sensors"]
    assert entry["sequence"] == {"column": "count"}  # the shot number: part of each reading's identity
    unplaced = " ".join(l for l in text.splitlines() if "UNPLACED" in l)
    assert '"mold_code"' in unplaced and '"count"' not in unplaced
    # one row, several datasets: the label and the status of each shot get entries of their own
    kinds = {e["dataset"]: e for e in yaml.safe_load(text)["datasets"]}
    assert set(kinds) == {"sensor_readings", "quality_inspections", "equipment_events"}
    assert kinds["quality_inspections"]["result_values"] == {"0": "pass", "1": "fail"}
    assert kinds["quality_inspections"]["columns"]["result"] == "passorfail"
    assert kinds["equipment_events"]["event_values"]["정지"] == "stop"
    specs = {s.dataset: s for s in mapping.datasets_for("kamp/cast_20190102.csv")}
    within = f"{COMPANY}/kamp/cast_20190102.csv"
    result = parse_file(path, specs["sensor_readings"], mapping, relative_path=within)
    assert result.table.num_rows == 100 * len(entry["sensors"]) and not result.rejections
    first = [r for r in result.table.to_pylist() if r["source_tag"] == "molten_temp"][0]
    assert first["value"] == 731 and first["reading_ts"].isoformat() == "2019-01-02T12:10:00+00:00"
    labels = parse_file(path, specs["quality_inspections"], mapping, relative_path=within).table.to_pylist()
    assert len(labels) == 100 and sum(r["result"] == "fail" for r in labels) == 4
    states = parse_file(path, specs["equipment_events"], mapping, relative_path=within).table.to_pylist()
    assert len(states) == 100 and sum(r["event_type"] == "stop" for r in states) == 12


def test_extruder_plc_log_with_spaced_dates_fahrenheit_and_blank_labels(tmp_path):
    lines = ["Date Time,Barrel Temp (F),Screw Speed(rpm),Melt Pressure(psi),PassOrFail"]
    lines += [f"2020 10 30 00:{i // 12:02d}:{(i % 12) * 5:02d},{400 + i % 3},{55 + i % 2},{1500 + i},"
              f"{'' if i % 10 == 3 else ('FAIL' if i % 17 == 0 else 'PASS')}" for i in range(60)]
    path = land(tmp_path, "plc/EXT01_20201030.csv", "\r\n".join(lines) + "\r\n")
    text, mapping = drafted(tmp_path, [path])
    entry = yaml.safe_load(text)["datasets"][0]
    assert entry["timestamp"]["format"] == "%Y %m %d %H:%M:%S"
    assert entry["sensors"] == {"Barrel Temp (F)": {"tag": "TEMP", "unit": "degF"},
                                "Screw Speed(rpm)": {"tag": "SPEED", "unit": "rpm"},
                                "Melt Pressure(psi)": {"tag": "PRES", "unit": "psi"}}
    assert any("PassOrFail" in l and "pass/fail" in l for l in text.splitlines() if "UNPLACED" in l)
    assert parsed(mapping, path, tmp_path).table.num_rows == 180


def test_us_short_dates_and_a_compact_clock_land_at_the_right_instant(tmp_path):
    us = land(tmp_path, "press/log_0504.csv",
              "Time,Press,Tonnage(Kg)\n5/4/20 0:00,P-1,1200\n5/4/20 13:05,P-1,1210\n5/14/20 9:30,P-2,1190\n")
    compact = land(tmp_path, "mes/측정_20250305.csv",
                   "측정시간,설비,온도(℃),판정\n20250305090000,M-1,25.5,OK\n20250305090010,M-1,25.7,NG\n", "cp949")
    text, mapping = drafted(tmp_path, [us, compact])
    us_rows = parsed(mapping, us, tmp_path).table.to_pylist()
    assert [r["reading_ts"].isoformat() for r in us_rows] == [
        "2020-05-03T15:00:00+00:00", "2020-05-04T04:05:00+00:00", "2020-05-14T00:30:00+00:00"]
    assert us_rows[0]["equipment_id"] == "P-1" and us_rows[0]["tag"] == "WEIGHT" and us_rows[0]["unit"] == "kg"
    compact_rows = parsed(mapping, compact, tmp_path).table.to_pylist()
    assert [(r["reading_ts"].isoformat(), r["value"]) for r in compact_rows] == [
        ("2025-03-05T00:00:00+00:00", 25.5), ("2025-03-05T00:00:10+00:00", 25.7)]


def test_a_verdict_file_keyed_by_shot_number_is_drafted_as_inspections(tmp_path):
    """One pass/fail per shot, nothing measured (a die caster's inspection station): inspections of
    the shot id, the verdict as a constant characteristic marked GUESS."""
    export = tmp_path / "샷판정_20261102.csv"
    export.write_text("샷번호,판정일시,판정\n100,2026-11-02 00:08:38,양품\n101,2026-11-02 00:14:01,불량\n"
                      "102,2026-11-02 00:19:13,양품\n", encoding="utf-8")
    text = draft_mapping("JC-DCS-09", [export])
    entry = yaml.safe_load(text)["datasets"][0]
    assert entry["dataset"] == "quality_inspections"
    assert entry["columns"] == {"lot_id": "샷번호", "inspected_at": "판정일시", "characteristic": {"value": "verdict"},
                                "result": "판정"}
    assert entry["result_values"] == {"불량": "fail", "양품": "pass"}
    assert "GUESS" in next(l for l in text.splitlines() if l.strip().startswith("characteristic:"))


# KAMP's public die-casting columns -> the quantity the project's hand mappings read them as
# (clients/mappings/JC-DCS-03.yaml, tests/ingest/real_exports.py); EMS_operation_time is a duration
KAMP_PROCESS = {"molten_temp": "temperature", "facility_operation_cycleTime": "duration",
                "production_cycletime": "duration", "low_section_speed": "velocity", "high_section_speed": "velocity",
                "molten_volume": "mass", "cast_pressure": "pressure", "biscuit_thickness": "length",
                "upper_mold_temp1": "temperature", "upper_mold_temp2": "temperature", "upper_mold_temp3": "temperature",
                "lower_mold_temp1": "temperature", "lower_mold_temp2": "temperature", "lower_mold_temp3": "temperature",
                "sleeve_temperature": "temperature", "physical_strength": "mass", "Coolant_temperature": "temperature",
                "EMS_operation_time": "duration"}


def test_the_public_kamp_column_set_is_drafted_whole(tmp_path):
    """Every column of KAMP's public die-casting table, in its order: `time` paired with `date`
    (not with the shot counter `count` beside it, whose 100, 101, ... also read as %H%M%S), every
    process column given a tag of the right quantity (cycle times are not shot ids, section
    speeds are linear), the line name and the mould not taken as line and equipment ids."""
    from orchestration.onboard.columns import tag_dictionary

    header = ["id", "line", "name", "mold_name", "time", "date", "count", "working", "emergency_stop",
              "molten_temp", "facility_operation_cycleTime", "production_cycletime", "low_section_speed",
              "high_section_speed", "molten_volume", "cast_pressure", "biscuit_thickness", "upper_mold_temp1",
              "upper_mold_temp2", "upper_mold_temp3", "lower_mold_temp1", "lower_mold_temp2", "lower_mold_temp3",
              "sleeve_temperature", "physical_strength", "Coolant_temperature", "EMS_operation_time",
              "registration_time", "passorfail", "tryshot_signal", "mold_code", "heating_furnace"]
    rows = []
    for i in range(60):
        clock = f"21:{14 + i // 60:02d}:{i % 60:02d}"
        process = [731, 119, 120, 0.11, 2.2, 84, 62, 50, 206, 201, 199, 190, 185, 180, 410, 702, 32, 23]
        rows.append([str(i), "전자교반 3라인", "TM Carrier RH", "TM Carrier RH-Semi-Solid DIE-06", clock, "2019-01-02",
                     str(258 + i), "가동", "ON", *(str(v + (i % 3) * (0.01 if v < 3 else 1)) for v in process),
                     f"2019-01-02 {clock}", "1" if i % 20 == 19 else "0", "", "8722", "A" if i % 2 else ""])
    path = land(tmp_path, "kamp/casting_20190102.csv", "\n".join(",".join(r) for r in [header, *rows]) + "\n")
    text, mapping = drafted(tmp_path, [path])
    entry = yaml.safe_load(text)["datasets"][0]
    assert entry["timestamp"]["columns"] == ["date", "time"] and entry["timestamp"]["format"] == "%Y-%m-%d %H:%M:%S"
    assert entry["sequence"] == {"column": "count"}
    quantity = {code: tag.quantity for code, tag in tag_dictionary().items()}
    assert {name: quantity[s["tag"]] for name, s in entry["sensors"].items()} == KAMP_PROCESS
    assert entry["line"] == {"value": "LINE-1"} and entry["equipment"] == {"value": "EQ-01"}
    assert all("GUESS" in l for l in text.splitlines() if l.strip().startswith(("line:", "equipment:")))
    unplaced = {l.split('"')[1] for l in text.splitlines() if "# UNPLACED" in l}
    assert {"line", "mold_name", "mold_code", "tryshot_signal", "registration_time", "heating_furnace"} <= unplaced
    result = parsed(mapping, path, tmp_path)
    assert result.table.num_rows == 60 * len(KAMP_PROCESS) and not result.rejections
    first = next(r for r in result.table.to_pylist() if r["source_tag"] == "low_section_speed")
    assert first["value"] == 0.11 and first["sequence_id"] == "258"
    assert first["reading_ts"].isoformat() == "2019-01-02T12:14:00+00:00"
