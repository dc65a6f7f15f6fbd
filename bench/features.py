"""Feature build for 20 companies x 30 days against a bare DuckDB query computing the same window
aggregates (issue 14; target ratio <= 1.5).

Data: warehouse-shaped lots (30 min lots back to back on two lines per company, three sensors every
3 min; orchestration/sample_clients/warehouse_units.py) loaded as the marts into a DuckLake
warehouse (SQLite catalog + Parquet files, as the real one). Timed the same way, each in one
warehouse transaction writing its result table into the DuckLake:
- `features_s`: the dbt feature models' SQL that computes the window aggregates (production_units +
  unit_sensor_window_features, exactly as dbt runs them);
- `bare_s`: one hand-written query with the same aggregates per unit and sensor (count, mean, std,
  min, max, slope; readings matched to the unit by an as-of join on the equipment, inside [start, end));
- `all_features_s`: every feature model (state, history, equipment-hour too), for information.
ratio = features_s / bare_s (median of the repeats).
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

from orchestration.ml.features import FEATURE_MODELS, build_feature_tables
from orchestration.sample_clients.warehouse_units import load_marts, lot_units
from orchestration.warehouse.ducklake import Warehouse

BARE_WINDOW_AGGREGATES = """
create or replace table main.bench_bare as
with readings as (
    select company_id, equipment_id, source_tag, reading_ts_utc, value_si
    from main.fct_sensor_readings where value_si is not null
),
lots as (
    select lot_key, company_id, equipment_id, start_ts_utc, end_ts_utc
    from main.fct_production_lots where end_ts_utc > start_ts_utc
)
select l.lot_key, r.source_tag, count(*) as readings, avg(r.value_si) as mean_value,
       stddev_samp(r.value_si) as std_value, min(r.value_si) as min_value, max(r.value_si) as max_value,
       regr_slope(r.value_si, epoch(r.reading_ts_utc)) * 3600 as slope_per_hour
from readings as r
asof join lots as l
  on r.company_id = l.company_id and r.equipment_id = l.equipment_id and r.reading_ts_utc >= l.start_ts_utc
where r.reading_ts_utc < l.end_ts_utc
group by l.lot_key, r.source_tag
"""


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run(*, quick: bool, workdir: Path) -> dict:
    companies, days = (5, 7) if quick else (20, 30)
    lots_per_line = int(days * 86400 / 2100)  # 30 min lots + 5 min gaps
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    # the warehouse's own storage: a DuckLake (SQLite catalog, Parquet data files), written in
    # transactions as the dbt build and the ML writers do; both queries write their result there
    warehouse = Warehouse.in_folder(workdir / "warehouse")
    samples = [lot_units(f"BENCH-{n:02d}", units=2 * lots_per_line, pattern="inside", seed=100 + n)
               for n in range(companies)]

    def in_transaction(work):
        def action():
            with warehouse.transaction("bench features") as tx:
                work(tx.con)
        return action

    in_transaction(lambda con: load_marts(con, *samples))()
    repeats = 3
    window_models = ("production_units", "unit_sensor_window_features")
    features = [_timed(in_transaction(lambda con: build_feature_tables(con, window_models))) for _ in range(repeats)]
    bare = [_timed(in_transaction(lambda con: con.execute(BARE_WINDOW_AGGREGATES).fetchall()))
            for _ in range(repeats)]
    every = _timed(in_transaction(lambda con: build_feature_tables(con, FEATURE_MODELS)))
    con = warehouse.connect_read_only()
    readings = con.execute("select count(*) from main.fct_sensor_readings").fetchall()[0][0]
    units = con.execute("select count(*) from main.fct_production_lots").fetchall()[0][0]
    ours = con.execute("select count(*) from features.unit_sensor_window_features").fetchall()[0][0]
    theirs = con.execute("select count(*) from bench_bare").fetchall()[0][0]
    differing = con.execute("""
        select count(*) from features.unit_sensor_window_features as f
        join bench_bare as b on b.lot_key = f.unit_key and b.source_tag = f.source_tag
        where f.readings <> b.readings or abs(f.mean_value - b.mean_value) > 1e-9
           or abs(f.max_value - b.max_value) > 1e-9
    """).fetchall()[0][0]
    con.close()
    features_s, bare_s = statistics.median(features), statistics.median(bare)
    return {"benchmark": "features", "quick": quick, "companies": companies, "days": days, "units": units,
            "readings": readings, "unit_sensor_rows": ours, "bare_rows": theirs, "rows_differing": differing,
            "features_s": round(features_s, 3), "bare_s": round(bare_s, 3), "all_features_s": round(every, 3),
            "ratio": round(features_s / bare_s, 3), "target": 1.5}
