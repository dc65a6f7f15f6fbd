"""The sample client generator: the files it writes follow each client's mapping, are clean unless
a defect is planted, show every planted defect exactly where the manifest says, and are
deterministic in the seed.

Expected values are computed here from the mappings, the seeds and the files themselves (read
with pandas the way tests/test_end_to_end.py reads them), never from the generator's internals.
"""

from __future__ import annotations

import csv
import fnmatch
import functools
import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from orchestration.lakehouse.registry import REGIONS, load_registry
from orchestration.sample_clients.generator import NO_PATTERN_COMPANIES
from orchestration.sample_clients.shot_export import per_shot_entries
from orchestration.sample_clients import PlantedDefect, generate_sample, write_sensor_export

REPO = Path(__file__).resolve().parents[2]
CLIENTS = REPO / "clients"
SEEDS = REPO / "dbt_project" / "seeds"
KST = timezone(timedelta(hours=9))
DATASETS = {"sensor_readings", "production_lots", "quality_inspections", "equipment_events"}


# ---------------------------------------------------------------------------- independent readers
@functools.lru_cache(maxsize=1)
def all_mappings() -> dict[str, dict]:
    out = {}
    for path in sorted((CLIENTS / "mappings").glob("*.yaml")):
        mapping = yaml.safe_load(path.read_text(encoding="utf-8"))
        out[mapping["company_id"]] = mapping
    return out


def mappings() -> dict[str, dict]:
    """The lot-style clients this file checks (the per-shot die caster: test_shot_company.py)."""
    return {c: m for c, m in all_mappings().items() if per_shot_entries(m) is None}


def spec_of(company: str, dataset: str) -> dict:
    return next(s for s in all_mappings()[company]["datasets"] if s["dataset"] == dataset)


def read_export(path: Path, spec: dict) -> pd.DataFrame:
    header = int(spec.get("header_row", 1)) - 1
    if spec.get("format", "csv") == "xlsx":
        # openpyxl, not the ingest's calamine: the check should not share the reader it checks
        return pd.read_excel(path, sheet_name=spec.get("sheet") or 0, header=header, dtype=str, engine="openpyxl")
    encoding = spec.get("encoding", "utf-8")
    return pd.read_csv(path, sep=spec.get("delimiter", ","), header=header, dtype=str, keep_default_na=False,
                       na_values=[""], encoding="utf-8-sig" if encoding in ("utf-8", "auto") else encoding)


def files_of(landing: Path, company: str, spec: dict) -> list[Path]:
    root = landing / company
    return sorted(p for p in root.rglob("*") if p.is_file()
                  and fnmatch.fnmatch(p.relative_to(root).as_posix(), spec["files"]))


def parse_times(frame: pd.DataFrame, columns: list[str], fmt: str) -> pd.Series:
    text = frame[columns[0]] if len(columns) == 1 else frame[columns[0]] + " " + frame[columns[1]]
    text = text.str.replace("오전", "AM", regex=False).str.replace("오후", "PM", regex=False)
    return pd.to_datetime(text, format=fmt)


def units() -> pd.DataFrame:
    return pd.read_csv(SEEDS / "unit_conversions.csv").set_index("unit")


def tag_ranges() -> pd.DataFrame:
    return pd.read_csv(SEEDS / "tag_dictionary.csv").set_index("tag_code")


def sensor_rows(landing: Path, company: str) -> pd.DataFrame:
    """Every sensor cell of a company's files as long rows: file, equipment, source, tag, unit,
    local and UTC time, client value (NaN when empty) and SI value (by the unit seed)."""
    spec = spec_of(company, "sensor_readings")
    ts_spec = spec["timestamp"]
    parts = []
    for path in files_of(landing, company, spec):
        frame = read_export(path, spec)
        local = parse_times(frame, ts_spec["columns"], ts_spec["format"])
        equipment = frame[spec["equipment"]["column"]]
        if spec.get("layout", "wide") == "wide":
            for column, entry in spec["sensors"].items():
                parts.append(pd.DataFrame({"file": path.name, "equipment": equipment, "source": column,
                                           "tag": entry["tag"], "unit": entry["unit"], "local": local,
                                           "value": pd.to_numeric(frame[column])}))
        else:
            tags = spec["tags"]
            source = frame[spec["tag_column"]]
            unit = frame[spec["unit_column"]] if spec.get("unit_column") else source.map(
                {k: v["unit"] for k, v in tags.items()})
            parts.append(pd.DataFrame({"file": path.name, "equipment": equipment, "source": source,
                                       "tag": source.map({k: v["tag"] for k, v in tags.items()}), "unit": unit,
                                       "local": local, "value": pd.to_numeric(frame[spec["value_column"]])}))
    rows = pd.concat(parts, ignore_index=True)
    conversion = units()
    rows["value_si"] = rows["value"] * rows["unit"].map(conversion["multiplier"]) + rows["unit"].map(
        conversion["offset"])
    rows["utc"] = rows["local"] - pd.Timedelta(hours=9)
    return rows


def counts_from_files(landing: Path, company: str, *, sensors: bool = True) -> dict[str, int]:
    counts = {}
    if sensors:
        spec = spec_of(company, "sensor_readings")
        frames = [read_export(p, spec) for p in files_of(landing, company, spec)]
        values = list(spec["sensors"]) if spec.get("layout", "wide") == "wide" else [spec["value_column"]]
        counts["readings"] = sum(int(f[values].notna().sum().sum()) for f in frames)
    lots = [read_export(p, s) for s in [spec_of(company, "production_lots")]
            for p in files_of(landing, company, s)]
    counts["lots"] = sum(len(f) for f in lots)
    qc_spec = spec_of(company, "quality_inspections")
    fail = {k for k, v in qc_spec["result_values"].items() if v == "fail"}
    qc = [read_export(p, qc_spec) for p in files_of(landing, company, qc_spec)]
    counts["inspections"] = sum(len(f) for f in qc)
    counts["failed_inspections"] = sum(int(f[qc_spec["columns"]["result"]].isin(fail).sum()) for f in qc)
    ev_spec = spec_of(company, "equipment_events")
    counts["events"] = sum(len(read_export(p, ev_spec)) for p in files_of(landing, company, ev_spec))
    return counts


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert(None)


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("clean")
    generate_sample(root / "landing", seed=11, days=2, sampling_seconds=300)
    manifest = json.loads((root / "sample_manifest.json").read_text(encoding="utf-8"))
    return root / "landing", manifest


PLANTED = [
    PlantedDefect("gap", "CJ-BAT-02", "PRES", datetime(2026, 11, 2, 10, 0), hours=2.0),
    PlantedDefect("spike", "CH-FOD-01", "TEMP", datetime(2026, 11, 2, 14, 0), hours=3.0),
    PlantedDefect("stuck", "CH-AUT-02", "VIB", datetime(2026, 11, 2, 22, 30), hours=3.0, equipment_id="CNC-01"),
    PlantedDefect("out_of_range", "JC-SEM-01", "TEMP", datetime(2026, 11, 3, 1, 0), hours=1.5),
    PlantedDefect("duplicate", "CJ-COS-01", "VISC", datetime(2026, 11, 2, 13, 0), hours=1.0),
    PlantedDefect("missing_values", "ES-FOD-01", "HUMID", datetime(2026, 11, 3, 9, 0), hours=2.0),
    PlantedDefect("missing_values", "ES-AUT-02", "CURRENT", datetime(2026, 11, 2, 3, 0), hours=1.0),
    PlantedDefect("late_file", "JC-BAT-02", "TEMP", datetime(2026, 11, 2, 12, 0), hours=30.0),
]


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("planted")
    companies = sorted({d.company_id for d in PLANTED})
    generate_sample(root / "landing", seed=5, days=2, sampling_seconds=120, companies=companies, defects=PLANTED)
    manifest = json.loads((root / "sample_manifest.json").read_text(encoding="utf-8"))
    return root / "landing", manifest


# ---------------------------------------------------------------------------- registry and mappings
def test_registry_and_mappings_cover_the_programme():
    registry = load_registry(CLIENTS / "registry.yaml")
    assert len(registry) >= 8
    assert {c.region for c in registry} == set(REGIONS)
    assert len({c.industry for c in registry}) >= 5
    assert all(re.fullmatch(r"(CJ|CH|JC|ES)-[A-Z]{3}-\d{2}", c.company_id) for c in registry)
    assert all(re.search(r"[\uac00-\ud7a3]", c.name_ko) and c.name_en.isascii() for c in registry)
    assert {c.cohort_year for c in registry} == {2025, 2026}
    assert set(all_mappings()) == {c.company_id for c in registry}
    assert set(all_mappings()) - set(mappings()) == {"JC-DCS-03"}  # the per-shot client


def test_every_mapping_uses_seed_codes_and_one_star_globs():
    known_units, known_tags = set(units().index), set(tag_ranges().index)
    for company, mapping in mappings().items():
        assert {s["dataset"] for s in mapping["datasets"]} == DATASETS, company
        for spec in mapping["datasets"]:
            assert spec["files"].count("*") == 1, (company, spec["files"])
        sensors = spec_of(company, "sensor_readings")
        entries = sensors["sensors"] if sensors.get("layout", "wide") == "wide" else sensors["tags"]
        assert 3 <= len(entries) <= 6, company
        assert {e["tag"] for e in entries.values()} <= known_tags, company
        assert {e["unit"] for e in entries.values()} <= known_units, company


def test_the_clients_differ_like_real_exports(clean):
    landing, _ = clean
    specs = [s for m in mappings().values() for s in m["datasets"]]
    sensor_specs = [s for s in specs if s["dataset"] == "sensor_readings"]
    assert {s.get("encoding") for s in specs if s.get("format", "csv") == "csv"} >= {"utf-8", "utf-8-sig", "cp949"}
    assert {s.get("delimiter", ",") for s in specs if s.get("format", "csv") == "csv"} == {",", ";", "\t"}
    xlsx_companies = {c for c, m in mappings().items() for s in m["datasets"] if s.get("format") == "xlsx"}
    assert len(xlsx_companies) >= 2
    layouts = [s.get("layout", "wide") for s in sensor_specs]
    assert layouts.count("wide") >= 2 and layouts.count("long") >= 2
    assert any(s["layout"] == "long" and s.get("format", "csv") == "csv" for s in sensor_specs)
    assert any(int(s.get("header_row", 1)) > 1 for s in sensor_specs)
    assert any(len(s["timestamp"]["columns"]) == 2 for s in sensor_specs)
    formats = {s.get("timestamp", {}).get("format") for s in specs}
    assert {"%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y.%m.%d %p %I:%M:%S", "%m/%d/%Y %H:%M:%S"} <= formats
    non_si = {e["unit"] for s in sensor_specs for e in (s.get("sensors") or s.get("tags")).values()}
    assert {"degF", "psi", "bar", "kgf/cm2", "mA", "m3/h", "g"} <= non_si
    results = {frozenset(s["result_values"]) for s in specs if s["dataset"] == "quality_inspections"}
    assert {frozenset({"합격", "불합격"}), frozenset({"OK", "NG"}), frozenset({"PASS", "FAIL"})} <= results

    # ... and the files really are that varied
    written = [p for p in landing.rglob("*") if p.is_file()]
    assert {p.suffix for p in written} >= {".csv", ".xlsx"}
    cp949_texts = []
    for company, mapping in mappings().items():
        for spec in mapping["datasets"]:
            for path in files_of(landing, company, spec):
                if spec.get("encoding") == "cp949":
                    raw = path.read_bytes()
                    with pytest.raises(UnicodeDecodeError):
                        raw.decode("utf-8")  # really CP949, not UTF-8 that happens to be labelled so
                    cp949_texts.append(raw.decode("cp949"))
                if spec.get("encoding") == "utf-8-sig":
                    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert any("오후" in text and "오전" in text for text in cp949_texts)
    titled = [(c, s) for c, m in mappings().items() for s in m["datasets"]
              if int(s.get("header_row", 1)) > 1 and s.get("format", "csv") == "csv"]
    for company, spec in titled:
        path = files_of(landing, company, spec)[0]
        lines = path.read_bytes().decode(spec["encoding"]).splitlines()
        header_line = lines[int(spec["header_row"]) - 1]
        assert all(line.strip() and spec.get("delimiter", ",") not in line for line in lines[: int(spec["header_row"]) - 1])
        assert spec["timestamp"]["columns"][0] in header_line


def test_every_file_reads_per_its_mapping_with_all_mapped_columns(clean):
    landing, _ = clean
    for company, mapping in mappings().items():
        for spec in mapping["datasets"]:
            paths = files_of(landing, company, spec)
            assert len(paths) == 2, (company, spec["files"])  # one file per day
            for path in paths:
                frame = read_export(path, spec)
                expected = set((spec.get("columns") or {}).values())
                expected |= {spec[k]["column"] for k in ("equipment", "line") if "column" in (spec.get(k) or {})}
                if spec["dataset"] == "sensor_readings":
                    expected |= set(spec["timestamp"]["columns"])
                    if spec.get("layout", "wide") == "wide":
                        expected |= set(spec["sensors"])
                    else:
                        expected |= {spec["tag_column"], spec["value_column"]} | (
                            {spec["unit_column"]} if spec.get("unit_column") else set())
                        assert set(frame[spec["tag_column"]]) == set(spec["tags"]), path
                    times = parse_times(frame, spec["timestamp"]["columns"], spec["timestamp"]["format"])
                else:
                    time_field = {"production_lots": "start", "quality_inspections": "inspected_at",
                                  "equipment_events": "event_time"}[spec["dataset"]]
                    times = parse_times(frame, [spec["columns"][time_field]], spec["timestamp"]["format"])
                assert expected <= set(frame.columns), (path, expected - set(frame.columns))
                assert len(frame) > 0 and times.notna().all(), path
                if spec["dataset"] == "quality_inspections":
                    assert set(frame[spec["columns"]["result"]]) <= set(spec["result_values"]), path
                if spec["dataset"] == "equipment_events":
                    assert set(frame[spec["columns"]["event_type"]]) <= set(spec["event_values"]), path


def test_clean_sample_is_complete_unique_and_plausible(clean):
    landing, _ = clean
    ranges = tag_ranges()
    for company in mappings():
        rows = sensor_rows(landing, company)
        assert rows["value"].notna().all(), company
        assert not rows.duplicated(["equipment", "source", "local"]).any(), company
        assert not rows.duplicated(["equipment", "tag", "local"]).any(), company
        low = rows["tag"].map(ranges["plausible_min"])
        high = rows["tag"].map(ranges["plausible_max"])
        assert ((rows["value_si"] >= low) & (rows["value_si"] <= high)).all(), company
        # no gaps: every equipment has every sensor every 5 minutes for the two days
        per_series = rows.groupby(["equipment", "source"])["local"].agg(["count", "min", "max"])
        assert (per_series["count"] == 2 * 288).all(), company
        assert (per_series["min"] == pd.Timestamp("2026-11-02 00:00")).all()
        assert (per_series["max"] == pd.Timestamp("2026-11-03 23:55")).all()


def test_clean_sample_has_no_spikes_or_flat_lines(clean):
    """What a data-quality detector would flag on clean data: robust z-scores (MAD) of the
    reading-to-reading differences above 8, or the same value 6+ times in a row."""
    landing, _ = clean
    for company in mappings():
        rows = sensor_rows(landing, company).sort_values(["equipment", "source", "local"])
        for (equipment, source), series in rows.groupby(["equipment", "source"]):
            diffs = series["value"].diff().dropna()
            mad = (diffs - diffs.median()).abs().median()
            assert mad > 0, (company, equipment, source)
            z = 0.6745 * (diffs - diffs.median()).abs() / mad
            assert z.max() < 8, (company, equipment, source, z.max())
            runs = (series["value"] != series["value"].shift()).cumsum()
            assert series.groupby(runs).size().max() < 6, (company, equipment, source)


def test_inspections_reference_lots_that_exist_and_lots_are_two_to_six_hours(clean):
    landing, _ = clean
    for company in mappings():
        lot_spec, qc_spec = spec_of(company, "production_lots"), spec_of(company, "quality_inspections")
        lots = pd.concat([read_export(p, lot_spec) for p in files_of(landing, company, lot_spec)])
        qc = pd.concat([read_export(p, qc_spec) for p in files_of(landing, company, qc_spec)])
        lot_ids = lots[lot_spec["columns"]["lot_id"]]
        assert lot_ids.is_unique, company
        assert set(qc[qc_spec["columns"]["lot_id"]]) <= set(lot_ids), company
        per_lot = qc.groupby(qc_spec["columns"]["lot_id"]).size()
        assert per_lot.between(2, 4).all(), company
        fmt = lot_spec["timestamp"]["format"]
        hours = (parse_times(lots, [lot_spec["columns"]["end"]], fmt)
                 - parse_times(lots, [lot_spec["columns"]["start"]], fmt)).dt.total_seconds() / 3600
        assert hours.between(2, 6).all(), company
        quantity = pd.to_numeric(lots[lot_spec["columns"]["quantity"]])
        defects = pd.to_numeric(lots[lot_spec["columns"]["defect_quantity"]])
        assert ((defects >= 0) & (defects < quantity)).all(), company
        # a failed inspection is outside its spec limits and says why; a passed one is inside
        value = pd.to_numeric(qc[qc_spec["columns"]["measured_value"]])
        inside = value.between(pd.to_numeric(qc[qc_spec["columns"]["lower_spec"]]),
                               pd.to_numeric(qc[qc_spec["columns"]["upper_spec"]]))
        failed = qc[qc_spec["columns"]["result"]].map(qc_spec["result_values"]) == "fail"
        assert (inside == ~failed).all(), company
        assert qc.loc[failed, qc_spec["columns"]["defect_type"]].notna().all(), company


def test_manifest_counts_equal_counts_taken_from_the_files(clean):
    landing, manifest = clean
    assert set(manifest["companies"]) == set(all_mappings())
    for company in mappings():
        assert manifest["companies"][company]["counts"] == counts_from_files(landing, company), company
    for entry in manifest["files"]:
        path = landing / entry["path"]
        company = entry["path"].split("/", 1)[0]
        assert path.is_file(), entry
        assert len(read_export(path, spec_of(company, entry["dataset"]))) == entry["rows"], entry
    assert sorted(e["path"] for e in manifest["files"]) == sorted(
        p.relative_to(landing).as_posix() for p in landing.rglob("*") if p.is_file())


def test_files_land_shortly_after_their_day_as_the_manifest_says(clean):
    landing, manifest = clean
    for entry in manifest["files"]:
        landed = pd.Timestamp(entry["landed_at_utc"])
        assert (landing / entry["path"]).stat().st_mtime == pytest.approx(landed.timestamp()), entry
        day = pd.Timestamp(re.search(r"(\d{8})", entry["path"]).group(1)).tz_localize("Asia/Seoul")
        assert day + pd.Timedelta(days=1) < landed < day + pd.Timedelta(days=1, hours=6), entry


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    def digest(root: Path) -> dict[str, str]:
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file()}

    companies = ["CJ-COS-01", "JC-SEM-01", "CH-AUT-02"]  # xlsx lots, xlsx with title rows, xlsx QC
    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate_sample(tmp_path / name / "landing", seed=seed, days=1, sampling_seconds=600, companies=companies)
        runs[name] = digest(tmp_path / name / "landing")
    assert any(path.endswith(".xlsx") for path in runs["a"])
    assert runs["a"] == runs["b"]
    assert runs["a"].keys() == runs["c"].keys()
    assert all(runs["a"][p] != runs["c"][p] for p in runs["a"] if "sensor" in p or "설비데이터" in p or "FDC_" in p)
    assert (tmp_path / "a" / "sample_manifest.json").read_bytes() == (tmp_path / "b" / "sample_manifest.json").read_bytes()


def _defect(manifest: dict, kind: str, company: str) -> dict:
    return next(d for d in manifest["defects"] if d["kind"] == kind and d["company_id"] == company)


def _series(landing: Path, defect: dict) -> tuple[pd.DataFrame, pd.Series]:
    rows = sensor_rows(landing, defect["company_id"])
    rows = rows[(rows["equipment"] == defect["equipment_id"]) & (rows["source"] == defect["source_tag"])]
    window = (rows["utc"] >= utc(defect["start_utc"])) & (rows["utc"] < utc(defect["end_utc"]))
    return rows, window


def test_planted_gap_removes_exactly_the_window(planted):
    landing, manifest = planted
    defect = _defect(manifest, "gap", "CJ-BAT-02")
    rows, window = _series(landing, defect)
    assert not window.any()
    expected_missing = 2 * 3600 // 120
    assert defect["affected_rows"] == expected_missing
    assert len(rows) == 2 * 720 - expected_missing
    # the other tags of that equipment are still there in the window (long layout)
    others = sensor_rows(landing, "CJ-BAT-02")
    others = others[(others["equipment"] == defect["equipment_id"]) & (others["source"] != defect["source_tag"])
                    & (others["utc"] >= utc(defect["start_utc"])) & (others["utc"] < utc(defect["end_utc"]))]
    assert len(others) == expected_missing * (len(spec_of("CJ-BAT-02", "sensor_readings")["tags"]) - 1)


def test_planted_spikes_are_single_readings_far_from_normal_but_plausible(planted):
    landing, manifest = planted
    defect = _defect(manifest, "spike", "CH-FOD-01")
    rows, window = _series(landing, defect)
    values = rows["value_si"].to_numpy()
    neighbours = pd.Series(values).rolling(9, center=True, min_periods=1).median().to_numpy()
    noise = np.std(np.diff(values[~window.to_numpy()])) / np.sqrt(2)
    jumps = np.abs(values - neighbours) > 8 * noise
    assert jumps.sum() == defect["affected_rows"] == 3
    assert set(rows["utc"][jumps]) == {utc(t) for t in defect["timestamps_utc"]}
    assert window.to_numpy()[jumps].all()
    assert values.max() <= tag_ranges().loc["TEMP", "plausible_max"]


def test_planted_stuck_repeats_one_value_over_the_window(planted):
    landing, manifest = planted
    defect = _defect(manifest, "stuck", "CH-AUT-02")
    assert defect["equipment_id"] == "CNC-01"
    rows, window = _series(landing, defect)
    assert window.sum() == defect["affected_rows"] == 3 * 3600 // 120
    assert rows.loc[window, "value"].nunique() == 1
    assert rows.loc[~window, "value"].diff().abs().gt(0).mean() > 0.9  # elsewhere the sensor moves
    assert len({f for f in rows.loc[window, "file"]}) == len(defect["files"]) == 2  # crosses midnight


def test_planted_out_of_range_values_exceed_the_tag_dictionary(planted):
    landing, manifest = planted
    defect = _defect(manifest, "out_of_range", "JC-SEM-01")
    rows, window = _series(landing, defect)
    high = tag_ranges().loc["TEMP", "plausible_max"]
    assert window.sum() == defect["affected_rows"] == 45
    assert (rows.loc[window, "value_si"] > high).all()
    assert (rows.loc[~window, "value_si"] <= high).all()


def test_planted_duplicates_repeat_the_window_rows(planted):
    landing, manifest = planted
    defect = _defect(manifest, "duplicate", "CJ-COS-01")
    rows, window = _series(landing, defect)
    repeated = rows.duplicated(["equipment", "source", "local"], keep="first")
    assert repeated.sum() == defect["affected_rows"] == 30
    assert window[repeated].all()
    assert rows[~window]["local"].is_unique


@pytest.mark.parametrize("company", ["ES-FOD-01", "ES-AUT-02"])
def test_planted_missing_values_are_empty_cells_in_the_window(planted, company):
    landing, manifest = planted
    defect = _defect(manifest, "missing_values", company)
    rows, window = _series(landing, defect)
    empty = rows["value"].isna()
    assert empty.sum() == defect["affected_rows"] > 0
    assert window[empty].all() and empty[window].all()
    everything = sensor_rows(landing, company)
    assert everything["value"].isna().sum() == defect["affected_rows"]  # nothing else is empty


def test_planted_late_file_lands_after_its_day(planted):
    landing, manifest = planted
    defect = _defect(manifest, "late_file", "JC-BAT-02")
    late = landing / defect["files"][0]
    landed = datetime(2026, 11, 3, tzinfo=KST) + timedelta(hours=30)
    assert late.stat().st_mtime == pytest.approx(landed.timestamp())
    assert defect["landed_at_utc"].startswith(landed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
    others = [p for p in (landing / "JC-BAT-02").rglob("*") if p.is_file() and p != late]
    assert others and all(p.stat().st_mtime < landed.timestamp() - 3600 for p in others)


def test_defects_leave_other_companies_and_series_clean(planted):
    landing, manifest = planted
    assert len(manifest["defects"]) == len(PLANTED)
    ranges = tag_ranges()
    for company in ("CJ-BAT-02", "JC-BAT-02"):
        rows = sensor_rows(landing, company)
        assert rows["value"].notna().all()
        assert not rows.duplicated(["equipment", "source", "local"]).any()
        assert rows["value_si"].between(rows["tag"].map(ranges["plausible_min"]),
                                        rows["tag"].map(ranges["plausible_max"])).all()


def test_followup_has_a_clearly_lower_defect_rate_and_fewer_pattern_lots(tmp_path):
    rates, patterns = {}, {}
    for period in ("baseline", "followup"):
        landing = tmp_path / period / "landing"
        manifest = generate_sample(landing, seed=21, days=4, sampling_seconds=1800, period=period)
        counts = [counts_from_files(landing, company, sensors=False) for company in mappings()]
        rates[period] = sum(c["failed_inspections"] for c in counts) / sum(c["inspections"] for c in counts)
        patterns[period] = len(manifest.pattern_lots)
    assert rates["followup"] < 0.6 * rates["baseline"]
    assert patterns["followup"] < patterns["baseline"]


def test_defect_rates_are_realistic(tmp_path):
    """0.5-5 % of lots fail inspection over a month of baseline (industry rates 1.5-4.5 %), with a
    failed lot failing one characteristic."""
    landing = tmp_path / "landing"
    generate_sample(landing, seed=23, days=30, sampling_seconds=3600)
    lots = failed = 0
    for company in mappings():
        qc_spec = spec_of(company, "quality_inspections")
        qc = pd.concat([read_export(p, qc_spec) for p in files_of(landing, company, qc_spec)])
        by_lot = (qc[qc_spec["columns"]["result"]].map(qc_spec["result_values"]) == "fail").groupby(
            qc[qc_spec["columns"]["lot_id"]]).sum()
        assert by_lot.max() <= 1, company
        lots, failed = lots + len(by_lot), failed + int(by_lot.sum())
    assert 0.005 <= failed / lots <= 0.05, (failed, lots)


def test_pattern_lots_run_hot_and_fail_more(clean):
    landing, manifest = clean
    pattern = {(p["company_id"], p["lot_id"]): p for p in manifest["pattern_lots"]}
    # every client with the planted pattern shows it at least once; the others never
    assert {c for c, _ in pattern} == set(mappings()) - NO_PATTERN_COMPANIES
    assert all(manifest["companies"][c]["planted_pattern"] == (c not in NO_PATTERN_COMPANIES) for c in mappings())
    hot_gap, fail_pattern, fail_other = [], [], []
    for company in mappings():
        lot_spec, qc_spec = spec_of(company, "production_lots"), spec_of(company, "quality_inspections")
        lots = pd.concat([read_export(p, lot_spec) for p in files_of(landing, company, lot_spec)])
        qc = pd.concat([read_export(p, qc_spec) for p in files_of(landing, company, qc_spec)])
        failed = (qc[qc_spec["columns"]["result"]].map(qc_spec["result_values"]) == "fail").groupby(
            qc[qc_spec["columns"]["lot_id"]]).mean()
        rows = sensor_rows(landing, company)
        temp = rows[rows["tag"] == "TEMP"]
        fmt = lot_spec["timestamp"]["format"]
        lots = lots.assign(start=parse_times(lots, [lot_spec["columns"]["start"]], fmt),
                           end=parse_times(lots, [lot_spec["columns"]["end"]], fmt))
        means = {}
        for lot_id, equipment, start, end in zip(lots[lot_spec["columns"]["lot_id"]],
                                                 lots[lot_spec["equipment"]["column"]], lots["start"], lots["end"]):
            during = temp[(temp["equipment"] == equipment) & (temp["local"] >= start) & (temp["local"] < end)]
            means[lot_id] = (equipment, during["value_si"].mean())
            (fail_pattern if (company, lot_id) in pattern else fail_other).append(failed.get(lot_id, 0.0))
        for equipment in {e for e, _ in means.values()}:
            hot = [m for lot_id, (e, m) in means.items() if e == equipment and (company, lot_id) in pattern]
            normal = [m for lot_id, (e, m) in means.items() if e == equipment and (company, lot_id) not in pattern]
            if hot and normal:
                hot_gap.append(min(hot) - np.median(normal))
    assert hot_gap and np.mean(hot_gap) > 0 and sum(g > 0 for g in hot_gap) >= 0.8 * len(hot_gap)
    assert np.mean(fail_pattern) > 3 * np.mean(fail_other)


def test_write_sensor_export_writes_the_requested_rows_in_the_clients_format(tmp_path):
    long_spec = spec_of("CJ-BAT-02", "sensor_readings")
    path = tmp_path / "CJ-BAT-02" / long_spec["files"].replace("*", "bench")
    assert write_sensor_export(path, company_id="CJ-BAT-02", readings=12_345, layout="long") == 12_345
    frame = read_export(path, long_spec)
    assert len(frame) == 12_345
    assert list(frame.columns) == ["TIMESTAMP", "LINE", "EQUIP_ID", "TAG_NAME", "VALUE", "UNIT"]
    assert frame["VALUE"].notna().all() and set(frame["TAG_NAME"]) == set(long_spec["tags"])

    korean = spec_of("CH-AUT-02", "sensor_readings")
    path = tmp_path / "ko.txt"
    assert write_sensor_export(path, company_id="CH-AUT-02", readings=5_000, layout="long") == 5_000
    frame = read_export(path, korean)
    assert len(frame) == 5_000 and parse_times(frame, korean["timestamp"]["columns"],
                                               korean["timestamp"]["format"]).notna().all()

    wide = spec_of("CJ-COS-01", "sensor_readings")
    rows = write_sensor_export(tmp_path / "wide.csv", company_id="CJ-COS-01", readings=1_000, layout="wide")
    assert rows == len(read_export(tmp_path / "wide.csv", wide)) == -(-1_000 // len(wide["sensors"]))
    with pytest.raises(ValueError):
        write_sensor_export(tmp_path / "x.csv", company_id="CJ-COS-01", readings=10, layout="long")


def test_a_new_client_mapping_gets_sample_data_without_code_changes(tmp_path):
    clients = tmp_path / "clients"
    (clients / "mappings").mkdir(parents=True)
    base = yaml.safe_load((CLIENTS / "registry.yaml").read_text(encoding="utf-8"))["companies"][0]
    mapping = yaml.safe_load((CLIENTS / "mappings" / f"{base['company_id']}.yaml").read_text(encoding="utf-8"))
    clone = dict(base, company_id="CJ-COS-09", name_ko="(주)오송코스메틱")
    mapping["company_id"] = "CJ-COS-09"
    # the new client's sensor export names its columns differently and uses bar instead of psi
    sensor = next(s for s in mapping["datasets"] if s["dataset"] == "sensor_readings")
    sensor["sensors"] = {"TEMP_F": {"tag": "TEMP", "unit": "degF"}, "P_BAR": {"tag": "PRES", "unit": "bar"},
                         "RPM": {"tag": "SPEED", "unit": "rpm"}}
    (clients / "mappings" / "CJ-COS-09.yaml").write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    (clients / "registry.yaml").write_text(yaml.safe_dump({"companies": [clone]}, allow_unicode=True), encoding="utf-8")
    manifest = generate_sample(tmp_path / "landing", seed=1, days=1, sampling_seconds=900, clients_dir=clients)
    assert list(manifest.companies) == ["CJ-COS-09"]
    path = tmp_path / "landing" / "CJ-COS-09" / sensor["files"].replace("*", "20261102")
    frame = read_export(path, sensor)
    assert {"TEMP_F", "P_BAR", "RPM"} <= set(frame.columns)
    pressure_kpa = pd.to_numeric(frame["P_BAR"]) * 100  # bar -> kPa by the unit seed
    assert pressure_kpa.between(0, tag_ranges().loc["PRES", "plausible_max"]).all()
    assert 100 < pressure_kpa.mean() < 200  # a cosmetics mixer's ~150 kPa, written in bar
    assert manifest.companies["CJ-COS-09"]["counts"]["readings"] == int(frame[["TEMP_F", "P_BAR", "RPM"]].notna().sum().sum())


def test_impossible_requests_fail_with_a_clear_message(tmp_path):
    with pytest.raises(ValueError, match="unknown planted defect kind"):
        generate_sample(tmp_path / "a", companies=["CJ-COS-01"], days=1, sampling_seconds=900,
                        defects=[PlantedDefect("melted", "CJ-COS-01", "TEMP", datetime(2026, 11, 2, 1))])
    with pytest.raises(ValueError, match="not in"):
        generate_sample(tmp_path / "b", companies=["XX-NOPE-01"], days=1)
    with pytest.raises(ValueError, match="no sensor with tag 'PH'"):
        generate_sample(tmp_path / "c", companies=["CJ-COS-01"], days=1, sampling_seconds=900,
                        defects=[PlantedDefect("gap", "CJ-COS-01", "PH", datetime(2026, 11, 2, 1))])
    with pytest.raises(ValueError, match="outside the sample period"):
        generate_sample(tmp_path / "d", companies=["CJ-COS-01"], days=1, sampling_seconds=900,
                        defects=[PlantedDefect("spike", "CJ-COS-01", "TEMP", datetime(2026, 12, 25, 1))])


def test_a_die_casters_shot_counter_runs_on_across_exports_made_day_by_day(tmp_path):
    """A machine's shot counter does not restart when the center asks for one more day: the days
    generated in one call and one at a time carry the same shot numbers, and no day reuses
    another's (a reused number would join two shots weeks apart into one unit)."""
    company = "JC-DCS-03"

    def shots_by_day(landing: Path) -> dict[str, list[str]]:
        days = {}
        for path in sorted((landing / company).rglob("*.csv")):
            with path.open(encoding="utf-8", newline="") as handle:
                rows = list(csv.DictReader(handle))
            if rows and "count" in rows[0]:
                days[re.search(r"\d{8}", path.name).group()] = [row["count"] for row in rows]
        return days

    start = datetime(2026, 10, 4).date()
    generate_sample(tmp_path / "once" / "landing", seed=5, start=start, days=2, sampling_seconds=1200,
                    companies=[company])
    for offset in range(2):
        generate_sample(tmp_path / "daily" / "landing", seed=5, start=start + timedelta(days=offset), days=1,
                        sampling_seconds=1200, companies=[company])
    once, daily = shots_by_day(tmp_path / "once" / "landing"), shots_by_day(tmp_path / "daily" / "landing")
    assert sorted(once) == sorted(daily) == ["20261004", "20261005"]
    assert daily == once
    assert not set(daily["20261004"]) & set(daily["20261005"])
