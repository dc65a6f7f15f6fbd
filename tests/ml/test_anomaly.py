"""Anomaly detection per equipment-hour finds what was planted and little else: one hour of one
sensor running 8 sd high (a sensor fault or process upset) is the most unusual sensor-hour of the
company, flagged; on the same data without it, that hour is not flagged."""

from __future__ import annotations

import pandas as pd

from orchestration.ml.anomaly import CONTAMINATION, hourly_frame, score_anomalies
from orchestration.sample_clients.warehouse_units import UnitSample, lot_units

HOUR = pd.Timestamp("2026-09-03 14:00", tz="UTC")


def with_upset(sample: UnitSample) -> UnitSample:
    readings = sample.readings.copy()
    hit = (readings.sensor_id == "EQ-01:PRES_PV") & (readings.reading_ts_utc >= HOUR) \
        & (readings.reading_ts_utc < HOUR + pd.Timedelta(hours=1))
    readings.loc[hit, "value_si"] += 8 * 2.5
    assert hit.sum() >= 15
    return UnitSample(sample.company_id, sample.kind, sample.lots, sample.inspections, readings, sample.events)


def test_a_planted_upset_is_the_most_unusual_sensor_hour(features_of):
    sample = lot_units(units=400, pattern=None, seed=41)
    scored = score_anomalies(hourly_frame(features_of(with_upset(sample)), sample.company_id))
    assert len(scored) > 500 and 0 < scored.is_anomaly.mean() <= 2 * CONTAMINATION
    top = scored.sort_values("anomaly_score", ascending=False).iloc[0]
    assert (top.sensor_id, pd.Timestamp(top.hour_utc).tz_convert("UTC")) == ("EQ-01:PRES_PV", HOUR)
    assert top.is_anomaly

    clean = score_anomalies(hourly_frame(features_of(sample), sample.company_id))
    same = clean[(clean.sensor_id == "EQ-01:PRES_PV") & (pd.to_datetime(clean.hour_utc, utc=True) == HOUR)]
    assert len(same) == 1 and not same.is_anomaly.iloc[0]


def test_too_few_hours_give_no_scores(features_of):
    sample = lot_units(units=20, pattern=None, seed=42, lines=1)
    assert score_anomalies(hourly_frame(features_of(sample), sample.company_id)).empty
