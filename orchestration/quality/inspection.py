"""Data quality inspection (데이터 품질검사) of one company's data in the warehouse.

Everything is DuckDB SQL over the warehouse (window functions, vectorised), so it scales to
millions of readings. Per company, dataset and KST day five dimensions are scored 0-100
(100 = no problem found; score = 100 x (1 - bad / expected)):

- completeness (완전성): sensor readings present against the expected sampling rate. The
  expected interval of a sensor is the median interval of that sensor over its history unless
  `clients/quality.yaml` sets it; expected readings per day = the slots of that grid inside
  the company's data span. Other datasets: rows with a required field missing.
- validity (유효성): values inside the tag's plausible range (`dim_tag`, or a tighter per-client
  range), plus the rows ingestion rejected (`bronze.ingest_rejections`: unparseable values,
  timestamps ...). Other datasets: negative quantities, defects > quantity, unknown results.
- uniqueness (유일성): duplicate readings (same equipment, source tag and timestamp) measured
  on `bronze.sensor_readings`, because the fact table is already deduplicated. Duplicates
  inside one file, or re-exports that disagree on the value, count; an identical re-export
  does not.
- consistency (일관성): readings whose unit cannot be converted or does not fit the tag
  (`unit_status != 'ok'`) or whose tag is unknown; inspections of lots that are not in the
  production lots; lots that end before they start.
- timeliness (적시성): rows from files that landed more than `late_file_hours` after their last
  event (`fct_landing_files.file_modified_at` vs the file's max event time). It measures ongoing
  deliveries: a backfill (events ending before the company's first delivery, or by the
  `backfill_until` day of `clients/quality.yaml`) is history, scored on time.

The combined score (종합 점수) is the weighted mean of the five, default weights
completeness 0.30, validity 0.25, uniqueness 0.15, consistency 0.15, timeliness 0.15
(`weights` in `clients/quality.yaml`). Company-level dimension scores pool the days and
datasets: 100 x (1 - sum(bad) / sum(expected)).

Named issues with time ranges (`quality.dq_issues`): gap, missing_values (a sensor is silent
while its equipment reports other tags), stuck (flat line), spike (robust z-score of the
reading-to-reading difference, MAD, that comes back), out_of_range, duplicate, late_file,
rejected_rows, unit_mismatch, orphan_inspection, stale_data.

Tables written (schema `quality`): `dq_daily_scores` (history: every inspection appends, with
`measured_at`), `dq_latest` (view: the latest inspection per company), `dq_issues` (the
issues found by the latest inspection of each company, with `measured_at`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import duckdb
import pandas as pd

from orchestration.quality.config import DIMENSIONS, QualityConfig

DATASETS = ("sensor_readings", "production_lots", "quality_inspections", "equipment_events")

# Per dataset: the bronze table, its event-time column, and the natural key of a row.
BRONZE_EVENT_TIME = {
    "sensor_readings": "reading_ts",
    "production_lots": "coalesce(end_ts, start_ts)",
    "quality_inspections": "inspected_at",
    "equipment_events": "event_ts",
}
BRONZE_KEY = {
    "sensor_readings": "equipment_id, source_tag, reading_ts",
    "production_lots": "lot_id",
    "quality_inspections": "lot_id, characteristic, inspected_at",
    "equipment_events": "equipment_id, event_ts, event_type",
}
BRONZE_VALUE = {
    "sensor_readings": "value",
    "production_lots": "concat_ws('|', start_ts, end_ts, quantity, defect_quantity, product_code)",
    "quality_inspections": "concat_ws('|', measured_value, result, defect_type)",
    "equipment_events": "concat_ws('|', event_code, message)",
}

SCORES_DDL = """
create table if not exists quality.dq_daily_scores (
    company_id varchar, dataset varchar, day_kst date, dimension varchar, score double,
    expected bigint, observed bigint, bad bigint, detail varchar, measured_at timestamptz)
"""
ISSUES_DDL = """
create table if not exists quality.dq_issues (
    company_id varchar, dataset varchar, issue_type varchar, dimension varchar, equipment_id varchar,
    source_tag varchar, tag_code varchar, start_utc timestamptz, end_utc timestamptz,
    affected_rows bigint, severity varchar, message_ko varchar, message_en varchar,
    measured_at timestamptz)
"""
LATEST_VIEW = """
create or replace view quality.dq_latest as
select s.* from quality.dq_daily_scores s
join (select company_id, max(measured_at) as measured_at from quality.dq_daily_scores group by company_id) l
  using (company_id, measured_at)
"""

ISSUE_DIMENSION = {
    "gap": "completeness", "missing_values": "completeness", "stale_data": "timeliness",
    "stuck": "validity", "spike": "validity", "out_of_range": "validity", "rejected_rows": "validity",
    "duplicate": "uniqueness", "unit_mismatch": "consistency", "orphan_inspection": "consistency",
    "late_file": "timeliness",
}
ISSUE_COLUMNS = ["company_id", "dataset", "issue_type", "dimension", "equipment_id", "source_tag", "tag_code",
                 "start_utc", "end_utc", "affected_rows", "severity", "message_ko", "message_en"]


@dataclass
class InspectionResult:
    company_id: str
    measured_at: datetime
    daily: pd.DataFrame  # rows of quality.dq_daily_scores written by this inspection
    issues: pd.DataFrame  # rows of quality.dq_issues written by this inspection
    scores: dict[str, float | None] = field(default_factory=dict)  # dimension (+ overall) -> company score

    def worst_issues(self, dimension: str | None = None, limit: int = 5) -> list[dict]:
        frame = self.issues if dimension in (None, "overall") else self.issues[self.issues.dimension == dimension]
        if frame.empty:
            return []
        frame = frame.assign(_sev=(frame.severity == "error").astype(int)).sort_values(
            ["_sev", "affected_rows"], ascending=False).head(limit)
        return frame.drop(columns="_sev").to_dict("records")


# --------------------------------------------------------------------------- public API


def inspect_company(con: duckdb.DuckDBPyConnection, config: QualityConfig,
                    measured_at: datetime | None = None) -> InspectionResult:
    """Measure one company's data, append the daily scores and replace its issues (schema `quality`)."""
    measured_at = measured_at or datetime.now(timezone.utc)
    con.execute("set TimeZone = 'UTC'")
    company = config.company_id
    _prepare_sensor_tables(con, config)
    _prepare_bronze_tables(con, company)
    sensor_issues = _without_overlaps(_sensor_issues(con, config))
    daily = pd.concat([_sensor_daily(con, config), _other_daily(con, config)], ignore_index=True)
    daily = _with_flagged_readings(daily, sensor_issues)
    daily = _with_overall(daily, config)
    issues = pd.concat([sensor_issues, _other_issues(con, config, measured_at)], ignore_index=True)
    issues = issues.reindex(columns=ISSUE_COLUMNS)
    if not issues.empty:
        issues["severity"] = issues["issue_type"].map(config.severity)
        issues["dimension"] = issues["issue_type"].map(ISSUE_DIMENSION)
    daily["measured_at"] = measured_at
    issues["measured_at"] = measured_at
    _write(con, company, daily, issues)
    return InspectionResult(company, measured_at, daily, issues, company_scores(daily, config))


def _without_overlaps(issues: pd.DataFrame) -> pd.DataFrame:
    """A run of out-of-range readings also jumps up and back: report it once, as out_of_range."""
    if issues.empty:
        return issues
    oor = issues[issues.issue_type == "out_of_range"]
    spikes = issues[issues.issue_type == "spike"]
    if oor.empty or spikes.empty:
        return issues
    pairs = spikes.reset_index().merge(oor, on=["equipment_id", "source_tag"], suffixes=("", "_oor"))
    overlapping = pairs[(pairs.start_utc <= pairs.end_utc_oor) & (pairs.end_utc >= pairs.start_utc_oor)]["index"]
    return issues.drop(index=overlapping.unique()).reset_index(drop=True)


def _with_flagged_readings(daily: pd.DataFrame, issues: pd.DataFrame) -> pd.DataFrame:
    """Stuck and spiking readings are invalid too: add them to the sensor validity `bad` of their KST day."""
    if issues.empty:
        return daily
    flagged = issues[issues.issue_type.isin(["stuck", "spike"])]
    if flagged.empty:
        return daily
    per_day = flagged.groupby(
        pd.to_datetime(flagged.start_utc, utc=True).dt.tz_convert("Asia/Seoul").dt.date).affected_rows.sum()
    mask = (daily.dataset == "sensor_readings") & (daily.dimension == "validity")
    extra = daily.loc[mask, "day_kst"].map(per_day).fillna(0).astype("int64")
    daily.loc[mask, "bad"] = (daily.loc[mask, "bad"] + extra).clip(upper=daily.loc[mask, "expected"])
    daily.loc[mask, "observed"] = daily.loc[mask, "expected"] - daily.loc[mask, "bad"]
    ratio = daily.loc[mask, "bad"] / daily.loc[mask, "expected"].where(daily.loc[mask, "expected"] > 0)
    daily.loc[mask, "score"] = (100.0 * (1 - ratio)).fillna(100.0).round(3)
    daily.loc[mask, "detail"] = "bad = readings outside the plausible range, stuck or spiking + rows rejected at ingest"
    return daily


def company_scores(daily: pd.DataFrame, config: QualityConfig) -> dict[str, float | None]:
    """Pool days and datasets: 100 x (1 - sum(bad) / sum(expected)) per dimension, then the weighted overall."""
    scores: dict[str, float | None] = {}
    for dimension in DIMENSIONS:
        rows = daily[daily.dimension == dimension]
        expected = float(rows.expected.sum())
        scores[dimension] = 100.0 if expected <= 0 else round(100.0 * max(0.0, 1 - float(rows.bad.sum()) / expected), 3)
    weights = config.weights
    scores["overall"] = round(float(sum(weights[d] * scores[d] for d in DIMENSIONS)), 3)
    return scores


# --------------------------------------------------------------------------- sensor readings


def _prepare_sensor_tables(con, config: QualityConfig) -> None:
    """Temp tables: the company's readings in sequence per sensor, and each sensor's expected interval."""
    overrides = pd.DataFrame(
        [(k, v) for k, v in config.expected_intervals.items()], columns=["key", "interval_s"]
    ).astype({"key": "string", "interval_s": "float64"})
    ranges = pd.DataFrame(config.range_overrides(), columns=["equipment_id", "tag_code", "range_min", "range_max"]
                          ).astype({"equipment_id": "string", "tag_code": "string", "range_min": "float64",
                                    "range_max": "float64"})
    con.register("_dq_interval_overrides", overrides)
    con.register("_dq_range_overrides", ranges)
    gap_factor = float(config.detector("gap_factor"))
    con.execute(
        """
        create or replace temp table _dq_rows as
        select r.equipment_id, r.source_tag, r.tag_code, r.value_raw, r.value_si, r.unit_status,
               epoch(r.reading_ts_utc) as ts, r.reading_ts_utc, r.reading_date_kst, r.source_file, r.source_row,
               coalesce(oe.range_min, o.range_min, t.plausible_min) as range_min,
               coalesce(oe.range_max, o.range_max, t.plausible_max) as range_max,
               t.tag_code is not null as tag_known
        from main.fct_sensor_readings r
        left join main.dim_tag t on t.tag_code = r.tag_code
        left join _dq_range_overrides oe on oe.tag_code = r.tag_code and oe.equipment_id = r.equipment_id
        left join _dq_range_overrides o on o.tag_code = r.tag_code and o.equipment_id is null
        where r.company_id = ?
        """,
        [config.company_id],
    )
    con.execute(
        """
        create or replace temp table _dq_seq as
        select *, ts - lag(ts) over w as dt, value_raw - lag(value_raw) over w as dv,
               lag(ts) over w as prev_ts, lag(value_raw) over w as prev_value,
               row_number() over w as rn
        from _dq_rows where value_raw is not null
        window w as (partition by equipment_id, source_tag order by ts)
        """
    )
    con.execute(
        """
        create or replace temp table _dq_sensors as
        with stats as (
            select equipment_id, source_tag, any_value(tag_code) as tag_code, median(dt) as median_dt,
                   min(ts) as first_ts, max(ts) as last_ts, count(*) as readings
            from _dq_seq group by all
        )
        select s.*, coalesce(o1.interval_s, o2.interval_s, o3.interval_s, s.median_dt, 60.0) as interval_s
        from stats s
        left join _dq_interval_overrides o1 on o1.key = s.equipment_id || ':' || s.source_tag
        left join _dq_interval_overrides o2 on o2.key = s.tag_code
        left join _dq_interval_overrides o3 on o3.key = '*'
        """
    )
    con.execute(
        """
        create or replace temp table _dq_span as
        select min(first_ts) as span_start, max(last_ts) as span_end from _dq_sensors
        """
    )
    con.execute(
        f"""
        create or replace temp table _dq_gaps as
        with inner_gaps as (
            select q.equipment_id, q.source_tag, q.tag_code, q.prev_ts + s.interval_s as gap_start,
                   q.ts - s.interval_s as gap_end, round(q.dt / s.interval_s) - 1 as missing, s.interval_s
            from _dq_seq q join _dq_sensors s using (equipment_id, source_tag)
            where q.dt > {gap_factor} * s.interval_s
        ), edge_gaps as (
            select equipment_id, source_tag, tag_code, span_start, first_ts - interval_s,
                   round((first_ts - span_start) / interval_s), interval_s
            from _dq_sensors, _dq_span where first_ts - span_start > {gap_factor} * interval_s
            union all
            select equipment_id, source_tag, tag_code, last_ts + interval_s, span_end,
                   round((span_end - last_ts) / interval_s), interval_s
            from _dq_sensors, _dq_span where span_end - last_ts > {gap_factor} * interval_s
        )
        select row_number() over () as gap_id, * from (select * from inner_gaps union all select * from edge_gaps)
        """
    )


def _sensor_daily(con, config: QualityConfig) -> pd.DataFrame:
    company = config.company_id
    late = _late_file_sql(config)
    measured = """
    days as (
        select unnest(range(cast(to_timestamp(span_start) at time zone 'Asia/Seoul' as date),
                            cast(to_timestamp(span_end) at time zone 'Asia/Seoul' as date) + 1,
                            interval 1 day))::date as day_kst
        from _dq_span where span_start is not null
    ), slots as (
        -- slots of each sensor's grid (anchored at its first reading) inside the day and the span
        select d.day_kst, s.equipment_id, s.source_tag, s.interval_s,
               greatest(epoch(d.day_kst::timestamp) - 32400, sp.span_start) as lo,
               least(epoch(d.day_kst::timestamp) - 32400 + 86400 - 0.001, sp.span_end) as hi,
               s.first_ts as anchor
        from days d cross join _dq_sensors s cross join _dq_span sp
    ), expected as (
        select day_kst, equipment_id, source_tag,
               case when hi < lo then 0
                    else greatest(0, floor((hi - anchor) / interval_s + 1e-6) - ceil((lo - anchor) / interval_s - 1e-6) + 1)
               end as expected
        from slots
    ), observed as (
        select reading_date_kst as day_kst, equipment_id, source_tag, count(*) as observed  -- unique per sensor and ts
        from _dq_rows where value_raw is not null group by all
    ), completeness as (
        select e.day_kst, sum(e.expected)::bigint as expected,
               sum(least(coalesce(o.observed, 0), e.expected))::bigint as observed,
               sum(greatest(e.expected - coalesce(o.observed, 0), 0))::bigint as bad
        from expected e left join observed o using (day_kst, equipment_id, source_tag)
        group by all
    ), facts as (
        select reading_date_kst as day_kst, count(*) as n,
               count(*) filter (value_si is not null and range_min is not null
                                and (value_si < range_min or value_si > range_max)) as invalid,
               count(*) filter (unit_status is distinct from 'ok' or not tag_known) as inconsistent
        from _dq_rows group by all
    )"""
    # Only the days of the company's data span have an expected-readings grid to score against.
    sql = _daily_dimensions_sql("sensor_readings", company, late, measured,
                                reported_days="select day_kst from completeness")
    wide = con.execute(sql).df()
    details = {
        "completeness": "expected = sensor-interval slots; bad = missing readings",
        "validity": "bad = readings outside the plausible range + rows rejected at ingest",
        "uniqueness": "on bronze; bad = duplicate readings (same sensor and timestamp)",
        "consistency": "bad = unit not convertible / not matching the tag, or unknown tag",
        "timeliness": f"bad = rows from files landing > {config.detector('late_file_hours')} h after their last event "
                      "(backfilled history excepted)",
    }
    return _long(wide, config.company_id, details)


def _sensor_issues(con, config: QualityConfig) -> pd.DataFrame:
    company = config.company_id
    frames = []
    # gaps: a silent sensor. missing_values when the equipment's export rows were there but the
    # sensor's value was empty: in a wide export (one row per time, sensors share the source row)
    # the other sensors' cells of those rows landed; in a long export the ingest rejected the
    # empty values of those files.
    has_gaps = con.execute("select count(*) from _dq_gaps").fetchall()[0][0] > 0
    frames.append(pd.DataFrame() if not has_gaps else con.execute(
        f"""
        with gaps as (select * from _dq_gaps),
        wide_rows as (
            select equipment_id, source_file, source_row from _dq_rows
            where equipment_id in (select equipment_id from gaps)
            group by all having count(distinct source_tag) > 1
        ), wide as (
            select distinct r.equipment_id, r.source_tag from _dq_rows r
            semi join wide_rows w using (equipment_id, source_file, source_row)
        ), others as (
            select g.gap_id, count(*) as n from gaps g join _dq_rows r
              on r.equipment_id = g.equipment_id and r.ts between g.gap_start and g.gap_end
             and (r.source_tag <> g.source_tag or r.value_raw is null)
            group by g.gap_id
        ), file_spans as (
            select source_file, min(ts) as first_ts, max(ts) as last_ts from _dq_rows group by all
        ), empty_values as (
            select g.gap_id, count(*) as n from gaps g
            join file_spans f on f.last_ts >= g.gap_start and f.first_ts <= g.gap_end
            join bronze.ingest_rejections rj on rj.source_file = f.source_file
            where rj.company_id = '{_q(company)}' and rj.reason ilike '%missing%value%'
            group by g.gap_id
        )
        select 'sensor_readings' as dataset,
               case when w.source_tag is not null and coalesce(o.n, 0) > 0 then 'missing_values'
                    when w.source_tag is null and coalesce(e.n, 0) > 0 then 'missing_values'
                    else 'gap' end as issue_type,
               g.equipment_id, g.source_tag, g.tag_code, to_timestamp(g.gap_start) as start_utc,
               to_timestamp(g.gap_end) as end_utc, g.missing::bigint as affected_rows, g.interval_s
        from gaps g left join others o using (gap_id) left join empty_values e using (gap_id)
        left join wide w on w.equipment_id = g.equipment_id and w.source_tag = g.source_tag
        """
    ).df())
    stuck_n = int(config.detector("stuck_min_readings"))
    stuck_s = float(config.detector("stuck_min_minutes")) * 60
    ignore = [float(v) for v in (config.detector("stuck_ignore_values") or [])]
    ignore_sql = f"and value_raw not in ({', '.join(repr(v) for v in ignore)})" if ignore else ""
    gap_factor = float(config.detector("gap_factor"))
    frames.append(con.execute(
        f"""
        with repeats as (  -- readings equal to the one before, with no gap in between
            select q.*, q.rn - row_number() over (partition by q.equipment_id, q.source_tag order by q.rn) as run
            from _dq_seq q join _dq_sensors s using (equipment_id, source_tag)
            where q.dv = 0 and q.dt <= {gap_factor} * s.interval_s
        )
        select 'sensor_readings' as dataset, 'stuck' as issue_type, equipment_id, source_tag,
               any_value(tag_code) as tag_code, to_timestamp(min(prev_ts)) as start_utc,
               to_timestamp(max(ts)) as end_utc, count(*) + 1 as affected_rows, any_value(value_raw) as value
        from repeats group by equipment_id, source_tag, run
        having count(*) + 1 >= {stuck_n} and max(ts) - min(prev_ts) >= {stuck_s}
               {ignore_sql.replace('value_raw', 'any_value(value_raw)')}
        """
    ).df())
    z = float(config.detector("spike_z"))
    max_n = int(config.detector("spike_max_readings"))
    frames.append(con.execute(
        f"""
        with diffs as (
            select q.*, s.interval_s from _dq_seq q join _dq_sensors s using (equipment_id, source_tag)
            where q.dv is not null and q.dt <= {gap_factor} * s.interval_s
        ), robust as (
            select equipment_id, source_tag, median(dv) as med from diffs group by all
        ), spread as (
            select d.equipment_id, d.source_tag, r.med,
                   coalesce(nullif(median(abs(d.dv - r.med)), 0), 1.2533 * avg(abs(d.dv - r.med)) / 1.4826) as mad
            from diffs d join robust r using (equipment_id, source_tag) group by all
        ), jumps as (
            select d.*, sign(d.dv) as direction, 0.6745 * (d.dv - s.med) / s.mad as z
            from diffs d join spread s using (equipment_id, source_tag)
            where s.mad > 0 and abs(0.6745 * (d.dv - s.med) / s.mad) > {z}
        ), clustered as (
            select *, sum(case when rn - prev_jump_rn <= {max_n} then 0 else 1 end)
                        over (partition by equipment_id, source_tag order by rn) as cluster
            from (select *, lag(rn) over (partition by equipment_id, source_tag order by rn) as prev_jump_rn from jumps)
        ), ordered as (
            select *, row_number() over (partition by equipment_id, source_tag, cluster order by rn) as k,
                   lead(rn) over (partition by equipment_id, source_tag, cluster order by rn) as back_rn,
                   lead(direction) over (partition by equipment_id, source_tag, cluster order by rn) as back_direction,
                   lead(prev_ts) over (partition by equipment_id, source_tag, cluster order by rn) as back_prev_ts
            from clustered
        )
        select 'sensor_readings' as dataset, 'spike' as issue_type, equipment_id, source_tag, tag_code,
               to_timestamp(ts) as start_utc, to_timestamp(back_prev_ts) as end_utc,
               (back_rn - rn)::bigint as affected_rows, z
        from ordered
        where k % 2 = 1 and back_rn is not null and back_direction = -direction
        """
    ).df())
    frames.append(con.execute(
        """
        with offenders as (
            select distinct equipment_id, source_tag from _dq_rows
            where value_si < range_min or value_si > range_max
        ), flagged as (
            select *, value_si is not null and range_min is not null
                      and (value_si < range_min or value_si > range_max) as bad
            from _dq_rows semi join offenders using (equipment_id, source_tag)
        ), runs as (
            select *, sum(case when bad then 0 else 1 end) over (partition by equipment_id, source_tag order by ts) as run
            from flagged
        )
        select 'sensor_readings' as dataset, 'out_of_range' as issue_type, equipment_id, source_tag,
               any_value(tag_code) as tag_code, to_timestamp(min(ts)) as start_utc, to_timestamp(max(ts)) as end_utc,
               count(*) as affected_rows, min(value_si) as min_value, max(value_si) as max_value,
               any_value(range_min) as range_min, any_value(range_max) as range_max
        from runs where bad group by equipment_id, source_tag, run
        """
    ).df())
    frames.append(con.execute(
        f"""
        with dups as (
            select *, greatest(n - files, case when n_values > 1 then n_values - 1 else 0 end) as extra
            from _dq_dups_sensor_readings
        )
        select 'sensor_readings' as dataset, 'duplicate' as issue_type, equipment_id, source_tag, any_value(tag_code) as tag_code,
               min(reading_ts) as start_utc, max(reading_ts) as end_utc, sum(extra)::bigint as affected_rows,
               any_value(source_file) as source_file
        from dups where extra > 0 group by equipment_id, source_tag
        """
    ).df())
    frames.append(con.execute(
        """
        select 'sensor_readings' as dataset, 'unit_mismatch' as issue_type, equipment_id, source_tag, tag_code,
               min(reading_ts_utc) as start_utc, max(reading_ts_utc) as end_utc, count(*) as affected_rows,
               any_value(unit_status) as unit_status
        from _dq_rows where unit_status is distinct from 'ok' or not tag_known group by equipment_id, source_tag, tag_code
        """
    ).df())
    issues = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(
        not f.empty for f in frames) else pd.DataFrame(columns=ISSUE_COLUMNS)
    return _with_messages(issues, company, unknown_kind=UNKNOWN_SENSOR_ISSUE_MESSAGE)


# --------------------------------------------------------------------------- other datasets

OTHER_DATASETS = {
    # dataset: (fact table, KST day column, incomplete, invalid, inconsistent)
    "production_lots": (
        "main.fct_production_lots", "production_date_kst",
        "lot_id is null or start_ts_utc is null or end_ts_utc is null or quantity is null",
        "quantity < 0 or defect_quantity < 0 or defect_quantity > quantity",
        "end_ts_utc < start_ts_utc",
    ),
    "quality_inspections": (
        "main.fct_quality_inspections", "cast(inspected_at_kst as date)",
        "lot_id is null or result is null or inspected_at_utc is null",
        "result not in ('pass', 'fail')",
        "lot_key is null or lot_key not in (select lot_key from main.fct_production_lots)"
        " or (is_defect and defect_type_raw is not null and defect_code is null)",
    ),
    "equipment_events": (
        "main.fct_equipment_events", "cast(event_ts_kst as date)",
        "event_type is null or event_ts_utc is null",
        "event_type not in ('run', 'stop', 'alarm')",
        "equipment_id is null",
    ),
}


def _other_daily(con, config: QualityConfig) -> pd.DataFrame:
    company = config.company_id
    late = _late_file_sql(config)
    frames = []
    for dataset, (table, day, incomplete, invalid, inconsistent) in OTHER_DATASETS.items():
        measured = f"""
        facts as (
            select {day} as day_kst, count(*) as n,
                   count(*) filter (coalesce({incomplete}, true)) as incomplete,
                   count(*) filter (coalesce({invalid}, false)) as invalid,
                   count(*) filter (coalesce({inconsistent}, false)) as inconsistent
            from {table} where company_id = '{_q(company)}' group by all
        ), completeness as (
            select day_kst, n as expected, n - incomplete as observed, incomplete as bad from facts
        )"""
        # No sampling grid here: a day counts once anything of the dataset (a row, a rejected
        # row, a duplicate) falls on it.
        sql = _daily_dimensions_sql(dataset, company, late, measured, reported_days=(
            "select day_kst from facts union select day_kst from rejected union select day_kst from uniqueness"))
        frames.append(con.execute(sql).df())
    wide = pd.concat(frames, ignore_index=True)
    details = {
        "completeness": "bad = rows with a required field missing",
        "validity": "bad = impossible values (negative quantity, defects > quantity, unknown result) + rejected rows",
        "uniqueness": "on bronze; bad = duplicate rows of the same natural key",
        "consistency": "bad = inspections of unknown lots, unmapped defect types, lots ending before they start",
        "timeliness": f"bad = rows from files landing > {config.detector('late_file_hours')} h after their last event "
                      "(backfilled history excepted)",
    }
    return _long(wide, company, details)


def _other_issues(con, config: QualityConfig, measured_at: datetime) -> pd.DataFrame:
    company = config.company_id
    late = _late_file_sql(config)
    frames = []
    frames.append(con.execute(
        f"""
        select 'quality_inspections' as dataset, 'orphan_inspection' as issue_type, line_id as equipment_id,
               min(inspected_at_utc) as start_utc, max(inspected_at_utc) as end_utc, count(*) as affected_rows,
               string_agg(distinct lot_id, ', ' order by lot_id) as lots
        from main.fct_quality_inspections
        where company_id = '{_q(company)}'
          and (lot_key is null or lot_key not in (select lot_key from main.fct_production_lots))
        group by line_id
        """
    ).df())
    frames.append(con.execute(
        f"""
        with files as (select * from _dq_files)
        select f.dataset, 'late_file' as issue_type, f.equipment_id, f.source_tag, f.tag_code,
               f.first_event as start_utc, f.last_event as end_utc, f.n as affected_rows,
               f._source_file as source_file, l.file_modified_at,
               (epoch(l.file_modified_at) - epoch(f.last_event)) / 3600.0 as delay_hours
        from files f join ({_landing_files_sql(company)}) l on l.source_file = f._source_file
        where {late}
        """
    ).df())
    frames.append(con.execute(
        f"""
        with files as (select * from _dq_files)
        select coalesce(rj.dataset, 'unknown') as dataset, 'rejected_rows' as issue_type,
               rj.source_file, count(*) as affected_rows,
               string_agg(distinct rj.reason, ', ' order by rj.reason) as reasons, any_value(rj.message) as example,
               coalesce(any_value(f.first_event), min(rj.quarantined_at)) as start_utc,
               coalesce(any_value(f.last_event), max(rj.quarantined_at)) as end_utc,
               any_value(f.equipment_id) as equipment_id
        from bronze.ingest_rejections rj left join files f on f._source_file = rj.source_file
        where rj.company_id = '{_q(company)}'
        group by coalesce(rj.dataset, 'unknown'), rj.source_file
        """
    ).df())
    freshness = config.detector("freshness_hours")
    if freshness is not None:
        frames.append(con.execute(
            f"""
            select 'sensor_readings' as dataset, 'stale_data' as issue_type, max(reading_ts_utc) as start_utc,
                   ?::timestamptz as end_utc, 0::bigint as affected_rows,
                   (epoch(?::timestamptz) - epoch(max(reading_ts_utc))) / 3600.0 as age_hours
            from _dq_rows having (epoch(?::timestamptz) - epoch(max(reading_ts_utc))) > {float(freshness) * 3600}
            """, [measured_at, measured_at, measured_at]
        ).df())
    frames = [f for f in frames if not f.empty]
    issues = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ISSUE_COLUMNS)
    return _with_messages(issues, company, unknown_kind=UNKNOWN_ISSUE_MESSAGE)


# --------------------------------------------------------------------------- shared SQL pieces


def _q(value: str) -> str:
    return value.replace("'", "''")


def _landing_files_sql(company: str) -> str:
    """Latest landing record per file of the company (fct_landing_files when built, else bronze.ingest_log)."""
    return (f"select source_file, dataset, max(file_modified_at) as file_modified_at from main.fct_landing_files "
            f"where company_id = '{_q(company)}' and status in ('ingested', 'partial') group by all")


def _rejections_per_day_sql(dataset: str, company: str) -> str:
    """Rejected rows of a dataset per KST day: the day of the file's data, else of its landing."""
    event = BRONZE_EVENT_TIME[dataset]
    return f"""
        select coalesce(fd.day_kst, cast(coalesce(lf.file_modified_at, rj.quarantined_at) at time zone 'Asia/Seoul' as date))
                 as day_kst, count(*) as rejected
        from bronze.ingest_rejections rj
        left join (select _source_file, cast(min({event}) at time zone 'Asia/Seoul' as date) as day_kst
                   from bronze.{dataset} where company_id = '{_q(company)}' group by all) fd
               on fd._source_file = rj.source_file
        left join (select source_file, max(file_modified_at) as file_modified_at from main.fct_landing_files group by all) lf
               on lf.source_file = rj.source_file
        where rj.company_id = '{_q(company)}' and rj.dataset = '{dataset}'
        group by all
    """


def _prepare_bronze_tables(con, company: str) -> None:
    """Temp tables over the company's bronze rows: per file (event span, rows), per file and KST
    day (rows), and the keys that occur more than once (duplicates) per dataset."""
    unions = " union all ".join(
        f"select '{ds}' as dataset, _source_file, min({BRONZE_EVENT_TIME[ds]}) as first_event, "
        f"max({BRONZE_EVENT_TIME[ds]}) as last_event, count(*) as n, "
        f"case when count(distinct equipment_id) = 1 then any_value(equipment_id) end as equipment_id, "
        f"{'case when count(distinct source_tag) = 1 then any_value(source_tag) end' if ds == 'sensor_readings' else 'null'} as source_tag, "
        f"{'case when count(distinct tag) = 1 then any_value(tag) end' if ds == 'sensor_readings' else 'null'} as tag_code "
        f"from bronze.{ds} where company_id = '{_q(company)}' group by _source_file"
        for ds in DATASETS if ds != "quality_inspections"
    ) + (f" union all select 'quality_inspections', _source_file, min(inspected_at), max(inspected_at), count(*), "
         f"null, null, null from bronze.quality_inspections where company_id = '{_q(company)}' group by _source_file")
    con.execute(f"create or replace temp table _dq_files as {unions}")
    con.execute("create or replace temp table _dq_bronze_days as " + " union all ".join(
        f"select '{ds}' as dataset, _source_file, cast({BRONZE_EVENT_TIME[ds]} at time zone 'Asia/Seoul' as date) "
        f"as day_kst, count(*) as n from bronze.{ds} where company_id = '{_q(company)}' group by all"
        for ds in DATASETS))
    for ds in DATASETS:
        extra = ", any_value(tag) as tag_code" if ds == "sensor_readings" else ""
        con.execute(f"""
            create or replace temp table _dq_dups_{ds} as
            with counted as (
                select {BRONZE_KEY[ds]}, count(*) as n from bronze.{ds} where company_id = '{_q(company)}'
                group by all having count(*) > 1
            )
            select {BRONZE_KEY[ds]}, count(*) as n, count(distinct _source_file) as files,
                   count(distinct {BRONZE_VALUE[ds]}) as n_values, min(_source_file) as source_file,
                   min({BRONZE_EVENT_TIME[ds]}) as first_event, max({BRONZE_EVENT_TIME[ds]}) as last_event,
                   cast(min({BRONZE_EVENT_TIME[ds]}) at time zone 'Asia/Seoul' as date) as day_kst{extra}
            from bronze.{ds} semi join counted using ({BRONZE_KEY[ds]})
            where company_id = '{_q(company)}'
            group by all
        """)


def _uniqueness_per_day_sql(dataset: str) -> str:
    return f"""
        select d.day_kst, d.n::bigint as expected, (d.n - coalesce(x.dup_rows, 0))::bigint as observed,
               coalesce(x.bad, 0)::bigint as bad
        from (select day_kst, sum(n) as n from _dq_bronze_days where dataset = '{dataset}' group by all) d
        left join (select day_kst, sum(n - 1) as dup_rows,
                          sum(greatest(n - files, case when n_values > 1 then n_values - 1 else 0 end)) as bad
                   from _dq_dups_{dataset} group by all) x using (day_kst)
    """


def _late_file_sql(config: QualityConfig) -> str:
    """When a landed file `f` (its `last_event`) with landing record `l` (`file_modified_at`) counts
    as late: it landed more than `late_file_hours` after its last event, and it is an ongoing
    delivery. History is not late: a file whose events end before the company's first delivery
    (what a client sends at onboarding), or by the end of the KST day `backfill_until` of
    `clients/quality.yaml`, is scored as on time and raises no late-file issue."""
    company = config.company_id
    late_seconds = float(config.detector("late_file_hours")) * 3600
    first_delivery = f"(select min(file_modified_at) from ({_landing_files_sql(company)}))"
    sql = (f"(epoch(l.file_modified_at) - epoch(f.last_event) > {late_seconds} "
           f"and f.last_event >= {first_delivery}")
    backfill_until = config.settings["detectors"].get("backfill_until")
    if backfill_until:
        day = date.fromisoformat(str(backfill_until)) + timedelta(days=1)
        sql += f" and f.last_event >= timestamptz '{day.isoformat()} 00:00:00+09:00'"
    return sql + ")"


def _late_rows_per_day_sql(dataset: str, company: str, late: str) -> str:
    return f"""
        select b.day_kst, sum(b.n) as n,
               coalesce(sum(b.n) filter ({late}), 0) as late
        from _dq_bronze_days b
        join _dq_files f on f.dataset = b.dataset and f._source_file = b._source_file
        left join ({_landing_files_sql(company)}) l on l.source_file = b._source_file
        where b.dataset = '{dataset}'
        group by all
    """


def _daily_dimensions_sql(dataset: str, company: str, late: str, measured: str,
                          reported_days: str) -> str:
    """One wide row per reported KST day of a dataset: expected, observed and bad per dimension
    (the c_/v_/u_/k_/t_ columns `_long` reads).

    `measured` are the dataset's own CTEs and must define `completeness` (day_kst, expected,
    observed, bad) and `facts` (day_kst, n, invalid, inconsistent); `reported_days` selects the
    days to report and may read `rejected` and `uniqueness`. Rejected rows, duplicates on bronze and
    late files are counted the same way for every dataset.
    """
    return f"""
    with {measured},
    rejected as ({_rejections_per_day_sql(dataset, company)}),
    uniqueness as ({_uniqueness_per_day_sql(dataset)}),
    timeliness as ({_late_rows_per_day_sql(dataset, company, late)}),
    reported_days as ({reported_days})
    select '{dataset}' as dataset, d.day_kst,
           coalesce(c.expected, 0) as c_expected, coalesce(c.observed, 0) as c_observed, coalesce(c.bad, 0) as c_bad,
           coalesce(f.n, 0) + coalesce(r.rejected, 0) as v_expected, coalesce(f.n, 0) as v_observed,
           coalesce(f.invalid, 0) + coalesce(r.rejected, 0) as v_bad,
           coalesce(u.expected, 0) as u_expected, coalesce(u.observed, 0) as u_observed, coalesce(u.bad, 0) as u_bad,
           coalesce(f.n, 0) as k_expected, coalesce(f.n, 0) - coalesce(f.inconsistent, 0) as k_observed,
           coalesce(f.inconsistent, 0) as k_bad,
           coalesce(t.n, 0) as t_expected, coalesce(t.n, 0) - coalesce(t.late, 0) as t_observed,
           coalesce(t.late, 0) as t_bad
    from reported_days d
    left join completeness c using (day_kst) left join facts f using (day_kst)
    left join rejected r using (day_kst) left join uniqueness u using (day_kst) left join timeliness t using (day_kst)
    where d.day_kst is not null
    order by d.day_kst
    """


def _long(wide: pd.DataFrame, company: str, details: dict[str, str]) -> pd.DataFrame:
    """One row per dimension from the c_/v_/u_/k_/t_ columns."""
    prefixes = {"completeness": "c", "validity": "v", "uniqueness": "u", "consistency": "k", "timeliness": "t"}
    frames = []
    for dimension, p in prefixes.items():
        part = pd.DataFrame({
            "company_id": company,
            "dataset": wide["dataset"],
            "day_kst": pd.to_datetime(wide["day_kst"]).dt.date,
            "dimension": dimension,
            "expected": wide[f"{p}_expected"].fillna(0).astype("int64"),
            "observed": wide[f"{p}_observed"].fillna(0).astype("int64"),
            "bad": wide[f"{p}_bad"].fillna(0).astype("int64"),
            "detail": details[dimension],
        })
        frames.append(part)
    long = pd.concat(frames, ignore_index=True)
    ratio = (long.bad / long.expected.where(long.expected > 0)).clip(upper=1.0)
    long["score"] = (100.0 * (1 - ratio)).fillna(100.0).round(3)
    return long


def _with_overall(daily: pd.DataFrame, config: QualityConfig) -> pd.DataFrame:
    """Add the weighted combined score per dataset and day."""
    weights = config.weights
    columns = ["company_id", "dataset", "day_kst", "dimension", "score", "expected", "observed", "bad", "detail"]
    if daily.empty:
        return daily.reindex(columns=columns)
    dims = daily[daily.dimension.isin(DIMENSIONS)]
    overall = (dims.assign(w=dims.dimension.map(weights), ws=lambda f: f.score * f.dimension.map(weights))
               .groupby(["company_id", "dataset", "day_kst"], as_index=False)
               .agg(ws=("ws", "sum"), w=("w", "sum"), expected=("expected", "max")))
    overall = overall.assign(
        dimension="overall", score=(overall.ws / overall.w).round(3), observed=0, bad=0,
        detail="weighted mean: " + ", ".join(f"{d} {w:.2f}" for d, w in weights.items()),
    ).drop(columns=["ws", "w"])
    return pd.concat([daily[columns], overall[columns]], ignore_index=True)


def _write(con, company: str, daily: pd.DataFrame, issues: pd.DataFrame) -> None:
    con.execute("create schema if not exists quality")
    con.execute(SCORES_DDL)
    con.execute(ISSUES_DDL)
    con.execute(LATEST_VIEW)
    con.register("_dq_daily_out", daily)
    con.execute(
        "insert into quality.dq_daily_scores by name select company_id, dataset, day_kst::date as day_kst, dimension, "
        "score, expected, observed, bad, detail, measured_at from _dq_daily_out")
    con.unregister("_dq_daily_out")
    con.execute("delete from quality.dq_issues where company_id = ?", [company])
    if not issues.empty:
        con.register("_dq_issues_out", issues[[*ISSUE_COLUMNS, "measured_at"]])
        con.execute("insert into quality.dq_issues by name select * from _dq_issues_out")
        con.unregister("_dq_issues_out")


# --------------------------------------------------------------------------- messages (Korean + English)


def _kst(ts) -> str:
    if ts is None or pd.isna(ts):
        return "?"
    return pd.Timestamp(ts).tz_convert("Asia/Seoul").strftime("%Y-%m-%d %H:%M")


# Per issue kind: (Korean, English) message. The fields are the issue row's columns plus `sensor`
# (equipment:source tag), `span` (its KST time range), `n` (affected rows) and `kind`.
ISSUE_MESSAGES = {
    "gap": ("센서 {sensor} ({tag_code}) 데이터 {n}건 누락 ({span}): 설비 전체가 수집되지 않음, PLC/로거·네트워크 확인 필요",
            "sensor {sensor} ({tag_code}): {n} readings missing ({span}); the whole equipment was silent: "
            "check the PLC logger and network"),
    "missing_values": ("센서 {sensor} ({tag_code}) 값 {n}건 누락 ({span}): 같은 설비의 다른 센서는 정상, 센서 배선·태그 설정 확인 필요",
                       "sensor {sensor} ({tag_code}): {n} values missing ({span}) while the equipment's other sensors "
                       "reported: check the sensor wiring and the logger's tag configuration"),
    "stuck": ("센서 {sensor} ({tag_code}) 값이 {value:g}에 고정 ({n}건, {span}): 센서 고장·통신 동결 의심",
              "sensor {sensor} ({tag_code}) stuck at {value:g} for {n} readings ({span}): "
              "suspect a failed sensor or a frozen communication value"),
    "spike": ("센서 {sensor} ({tag_code}) 급격한 튐 {n}건 ({span}, robust z={z:.1f}): 노이즈·접지·순간 오측정 확인",
              "sensor {sensor} ({tag_code}): spike of {n} readings ({span}, robust z={z:.1f}): "
              "check noise, grounding or transient mis-measurement"),
    "out_of_range": ("센서 {sensor} ({tag_code}) 허용 범위 [{range_min:g}, {range_max:g}] 밖의 값 {n}건 "
                     "({min_value:g}–{max_value:g}, {span}): 센서 교정·단위 설정 확인",
                     "sensor {sensor} ({tag_code}): {n} readings outside the plausible range "
                     "[{range_min:g}, {range_max:g}] ({min_value:g}–{max_value:g}, {span}): "
                     "check calibration and the unit setting"),
    "duplicate": ("센서 {sensor} ({tag_code}) 같은 시각의 중복 데이터 {n}건 ({span}): 로거 중복 저장·중복 내보내기 확인",
                  "sensor {sensor} ({tag_code}): {n} duplicate readings at the same timestamp ({span}): "
                  "check the logger for double writes or overlapping exports"),
    "unit_mismatch": ("센서 {sensor} 단위/태그 불일치 {n}건 ({unit_status}, {span}): 매핑 파일의 단위·태그 확인",
                      "sensor {sensor}: {n} readings whose unit or tag does not fit ({unit_status}, {span}): "
                      "fix the unit or tag in the client mapping"),
    "late_file": ("파일 {source_file} 지연 도착: 마지막 데이터 후 {delay_hours:.1f}시간 뒤 수신 ({n}건, {span}): "
                  "자동 내보내기 일정·전송 확인 필요",
                  "file {source_file} landed {delay_hours:.1f} h after its last event ({n} rows, {span}): "
                  "check the export schedule and the transfer"),
    "orphan_inspection": ("LOT 정보가 없는 품질검사 {n}건 (라인 {equipment_id}, LOT {lots}, {span}): MES LOT 번호 체계 확인",
                          "{n} inspections of lots missing from the production lots (line {equipment_id}, "
                          "lots {lots}, {span}): check the MES lot numbering"),
    "rejected_rows": ("파일 {source_file}에서 {n}건 거부 ({reasons}; 예: {example}): 내보내기 형식·매핑 확인",
                      "{n} rows of {source_file} rejected at ingest ({reasons}; e.g. {example}): "
                      "check the export format and the mapping"),
    "stale_data": ("최근 {age_hours:.0f}시간 동안 센서 데이터 없음: 데이터 전송 중단 확인",
                   "no sensor data for {age_hours:.0f} h: check that data is still being sent"),
}
# A kind the detectors report before it has a message above still says what, where and how much.
UNKNOWN_SENSOR_ISSUE_MESSAGE = ("{kind}: {sensor} {n}건 ({span})", "{kind}: {sensor} {n} rows ({span})")
UNKNOWN_ISSUE_MESSAGE = ("{kind}: {n}건 ({span})", "{kind}: {n} rows ({span})")


def _with_messages(issues: pd.DataFrame, company: str, unknown_kind: tuple[str, str]) -> pd.DataFrame:
    issues["company_id"] = company
    if not issues.empty:
        texts = issues.apply(_issue_message, axis=1, result_type="expand", args=(unknown_kind,))
        issues["message_ko"], issues["message_en"] = texts[0], texts[1]
    return issues


def _issue_message(row: pd.Series, unknown_kind: tuple[str, str]) -> tuple[str, str]:
    # Issues of the other datasets may have no equipment or source tag column at all.
    fields = {**row, "kind": row.issue_type, "sensor": f"{row.get('equipment_id')}:{row.get('source_tag')}",
              "span": f"{_kst(row.start_utc)}–{_kst(row.end_utc)} KST",
              "n": int(row.affected_rows) if pd.notna(row.affected_rows) else 0}
    ko, en = ISSUE_MESSAGES.get(row.issue_type, unknown_kind)
    return ko.format(**fields), en.format(**fields)
