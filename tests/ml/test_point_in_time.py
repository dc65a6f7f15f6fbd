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
    end = unit.end_ts_utc
    base = {"company_id": sample.company_id, "line_id": unit.line_id, "equipment_id": unit.equipment_id}
    first = sample.readings.iloc[0]
    readings = pd.concat([sample.readings, pd.DataFrame([
        {**base, "source_tag": source, "tag_code": tag, "sensor_id": f"{unit.equipment_id}:{source}",
         "reading_ts_utc": end, "value_si": 4_999.0}
        for source, tag in sample.readings[["source_tag", "tag_code"]].drop_duplicates().itertuples(index=False)
    ])], ignore_index=True)
    events = pd.concat([sample.events, pd.DataFrame([
        {**base, "event_type": kind, "event_ts_utc": end, "event_key": f"planted-{kind}"}
        for kind in ("alarm", "stop")])], ignore_index=True)
    earlier = sample.lots[sample.lots.end_ts_utc < end].iloc[-1]
    inspections = pd.concat([sample.inspections, pd.DataFrame([
        {"lot_key": earlier.lot_key, "company_id": sample.company_id, "line_id": earlier.line_id,
         "lot_id": earlier.lot_id, "inspected_at_utc": end, "is_defect": True}])], ignore_index=True)
    assert first is not None
    return UnitSample(sample.company_id, sample.kind, sample.lots, inspections, readings, events)


@pytest.mark.parametrize("sample", [lot_units(units=120, pattern_share=0.2, seed=3),
                                    shot_units(shots=150, pattern_share=0.1, columns=6, seed=4)],
                         ids=["lots", "shots"])
def test_no_feature_reads_rows_at_or_after_the_unit_end(sample, features_of, frame_of):
    chosen = sample.lots.sort_values("end_ts_utc").iloc[np.linspace(10, len(sample.lots) - 1, 6).astype(int)]
    for unit in chosen.itertuples(index=False):
        unit = pd.Series(unit._asdict())
        planted = with_rows_at(sample, unit)
        full = frame_of(planted).set_index("unit_key")
        known = frame_of(planted.before(unit.end_ts_utc)).set_index("unit_key")
        columns = feature_columns(full.reset_index())
        assert any(c.startswith("line_defect_rate") for c in columns) and any("__max_value" in c for c in columns)
        got, expected = full.loc[unit.lot_key, columns], known.loc[unit.lot_key, columns]
        pd.testing.assert_series_equal(got.astype(float), expected.reindex(columns).astype(float),
                                       check_names=False, obj=f"features of {unit.lot_id}")
        # the planted rows would have changed these, had they been read
        assert full.loc[unit.lot_key, [c for c in columns if c.endswith("__max_value")]].max() < 4_999.0


def test_rows_just_before_the_end_are_read(features_of, frame_of):
    """The check above could pass with features that read nothing: a reading one second before the
    end does count."""
    sample = lot_units(units=40, pattern=None, seed=5)
    unit = pd.Series(sample.lots.iloc[20].to_dict())
    moved = sample.readings.copy()
    late = pd.DataFrame([{"company_id": sample.company_id, "line_id": unit.line_id, "equipment_id": unit.equipment_id,
                          "source_tag": "TEMP_PV", "tag_code": "TEMP", "sensor_id": f"{unit.equipment_id}:TEMP_PV",
                          "reading_ts_utc": unit.end_ts_utc - pd.Timedelta(seconds=1), "value_si": 300.0}])
    frame = frame_of(UnitSample(sample.company_id, "lot", sample.lots, sample.inspections,
                                pd.concat([moved, late], ignore_index=True), sample.events)).set_index("unit_key")
    assert frame.loc[unit.lot_key, "TEMP_PV__max_value"] == 300.0
    assert frame.loc[unit.lot_key, "TEMP_PV__readings"] == 11
