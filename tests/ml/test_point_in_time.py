"""No feature of a unit reads any row timestamped at or after the unit's end, history included.

For units spread over the sample: plant rows exactly at the unit's end (an extreme reading on its
own equipment, an alarm, a stop, a failed inspection of an earlier unit arriving then), and
compare the unit's features with those computed on only what was known strictly before its end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from orchestration.ml.features import feature_columns
from orchestration.sample_clients.warehouse_units import UnitSample, lot_units, shot_units


def with_rows_at(sample: UnitSample, unit: pd.Series) -> UnitSample:
    """The sample with rows planted exactly at the unit's end: an extreme reading of every sensor on
    its equipment (for shots: the next shot's values, recorded then), an alarm, a stop, and a
    failed result of an earlier unit arriving then."""
    end = unit.end_ts_utc
    base = {"company_id": sample.company_id, "line_id": unit.line_id, "equipment_id": unit.equipment_id}
    readings = pd.concat([sample.readings, pd.DataFrame([
        {**base, "source_tag": source, "tag_code": tag, "sensor_id": f"{unit.equipment_id}:{source}",
         "sequence_id": "PLANTED" if sample.kind == "shot" else None, "reading_ts_utc": end, "value_si": 4_999.0}
        for source, tag in sample.readings[["source_tag", "tag_code"]].drop_duplicates().itertuples(index=False)
    ])], ignore_index=True)
    events = pd.concat([sample.events, pd.DataFrame([
        {**base, "event_type": kind, "event_ts_utc": end, "event_key": f"planted-{kind}"}
        for kind in ("alarm", "stop")])], ignore_index=True)
    earlier = sample.lots[(sample.lots.end_ts_utc < unit.start_ts_utc)].iloc[-1]
    inspections = pd.concat([sample.inspections, pd.DataFrame([
        {"lot_key": earlier.lot_key, "company_id": sample.company_id, "line_id": earlier.line_id,
         "lot_id": earlier.lot_id, "inspected_at_utc": end, "is_defect": True}])], ignore_index=True)
    return UnitSample(sample.company_id, sample.kind, sample.lots, inspections, readings, events)


@pytest.mark.parametrize("sample", [lot_units(units=120, pattern_share=0.2, seed=3),
                                    shot_units(shots=150, pattern_share=0.1, columns=6, seed=4)],
                         ids=["lots", "shots"])
def test_no_feature_reads_rows_at_or_after_the_unit_end(sample, features_of, frame_of):
    units = features_of(sample).execute("select * from features.production_units order by end_ts_utc").df()
    assert set(units.unit_kind) == {sample.kind} and len(units) == len(sample.lots)
    for unit in units.iloc[np.linspace(10, len(units) - 1, 6).astype(int)].itertuples(index=False):
        unit = pd.Series(unit._asdict())
        planted = with_rows_at(sample, unit)
        full = frame_of(planted).set_index("unit_key")
        known = frame_of(planted.before(unit.end_ts_utc)).set_index("unit_key")
        columns = feature_columns(full.reset_index())
        assert any(c.startswith("line_defect_rate") for c in columns) and any("__max_value" in c for c in columns)
        assert full.loc[unit.unit_key, "line_defect_rate_7d"] >= 0  # history is there to be leaked into
        got, expected = full.loc[unit.unit_key, columns], known.loc[unit.unit_key, columns]
        pd.testing.assert_series_equal(got.astype(float), expected.reindex(columns).astype(float),
                                       check_names=False, obj=f"features of {unit.unit_id}")
        # the planted rows would have changed these, had they been read
        assert full.loc[unit.unit_key, [c for c in columns if c.endswith("__max_value")]].max() < 4_999.0


def test_a_shot_is_its_own_row(features_of, frame_of):
    """A per-shot unit holds exactly its own row's values, and its own PassOrFail (recorded at the
    same instant) is not in its history: previous_unit_defect is the previous shot's outcome."""
    sample = shot_units(shots=200, pattern_share=0.2, columns=4, seed=6)
    frame = frame_of(sample).set_index("unit_id")
    readings = sample.readings.pivot(index="sequence_id", columns="source_tag", values="value_si")
    for column in readings.columns:
        assert np.allclose(frame.loc[readings.index, f"{column}__mean_value"], readings[column])
        assert np.allclose(frame.loc[readings.index, f"{column}__max_value"], readings[column])
    assert (frame[[c for c in frame.columns if c.endswith("__readings")]] == 1).all().all()
    labels = sample.inspections.set_index("lot_id").is_defect.astype(float)
    ids = list(sample.lots.lot_id)
    assert np.allclose(frame.loc[ids[1:], "previous_unit_defect"], labels.loc[ids[:-1]].to_numpy())
    assert np.isnan(frame.loc[ids[0], "previous_unit_defect"]) and np.isnan(frame.loc[ids[0], "line_defect_rate_7d"])
    assert frame.loc[ids[-1], "line_defect_rate_7d"] == pytest.approx(labels.loc[ids[:-1]].mean())


def test_rows_just_before_the_end_are_read(features_of, frame_of):
    """The check above could pass with features that read nothing: a reading one second before the
    end does count."""
    sample = lot_units(units=40, pattern=None, seed=5)
    unit = pd.Series(sample.lots.iloc[20].to_dict())
    moved = sample.readings.copy()
    late = pd.DataFrame([{"company_id": sample.company_id, "line_id": unit.line_id, "equipment_id": unit.equipment_id,
                          "source_tag": "TEMP_PV", "tag_code": "TEMP", "sensor_id": f"{unit.equipment_id}:TEMP_PV",
                          "sequence_id": None,
                          "reading_ts_utc": unit.end_ts_utc - pd.Timedelta(seconds=1), "value_si": 300.0}])
    frame = frame_of(UnitSample(sample.company_id, "lot", sample.lots, sample.inspections,
                                pd.concat([moved, late], ignore_index=True), sample.events)).set_index("unit_key")
    assert frame.loc[unit.lot_key, "TEMP_PV__max_value"] == 300.0
    assert frame.loc[unit.lot_key, "TEMP_PV__readings"] == 11
