"""Per-lot sensor features: what the process looked like while each lot was produced.

The unit of an AI solution's prediction is the lot: defect prediction asks "given the sensor
readings during this lot, will its inspection fail?". One row per lot and standard tag, with
the lot's inspection outcome as the label.
"""

from __future__ import annotations

import duckdb

FEATURE_TABLE = "features.lot_sensor_features"

LOT_SENSOR_FEATURES_SQL = """
with lots as (
    select lot_key, company_id, line_id, equipment_id, lot_id, product_code,
           start_ts_utc, end_ts_utc, quantity, defect_quantity
    from main.fct_production_lots
    where end_ts_utc > start_ts_utc
),

readings_in_lot as (
    -- a lot run on a named equipment takes that equipment's sensors; otherwise its line's
    select l.lot_key, r.tag_code, r.si_unit, r.reading_ts_utc, r.value_si
    from lots as l
    join main.fct_sensor_readings as r
      on r.company_id = l.company_id
     and r.reading_ts_utc >= l.start_ts_utc
     and r.reading_ts_utc < l.end_ts_utc
     and (r.equipment_id = l.equipment_id
          or (l.equipment_id is null and r.line_id is not distinct from l.line_id))
),

aggregated as (
    select lot_key, tag_code, any_value(si_unit) as si_unit,
           count(*) as readings,
           avg(value_si) as mean_value,
           stddev_samp(value_si) as std_value,
           min(value_si) as min_value,
           max(value_si) as max_value,
           quantile_cont(value_si, 0.95) as p95_value,
           arg_min(value_si, reading_ts_utc) as first_value,
           arg_max(value_si, reading_ts_utc) as last_value
    from readings_in_lot
    group by lot_key, tag_code
),

labels as (
    select lot_key,
           count(*) as inspections,
           count(*) filter (where is_defect) as failed_inspections
    from main.fct_quality_inspections
    group by lot_key
),

final as (
    select l.company_id, l.line_id, l.equipment_id, l.lot_id, l.lot_key, l.product_code,
           l.start_ts_utc, l.end_ts_utc,
           a.tag_code, a.si_unit, a.readings, a.mean_value, a.std_value, a.min_value, a.max_value,
           a.p95_value, a.first_value, a.last_value,
           coalesce(lb.inspections, 0) as inspections,
           coalesce(lb.failed_inspections, 0) as failed_inspections,
           coalesce(lb.failed_inspections, 0) > 0 as lot_failed
    from aggregated as a
    join lots as l using (lot_key)
    left join labels as lb using (lot_key)
)

select * from final
order by company_id, lot_id, tag_code
"""


def build_lot_sensor_features(con: duckdb.DuckDBPyConnection) -> int:
    con.execute("create schema if not exists features")
    con.execute(f"create or replace table {FEATURE_TABLE} as {LOT_SENSOR_FEATURES_SQL}")
    return con.execute(f"select count(*) from {FEATURE_TABLE}").fetchall()[0][0]
