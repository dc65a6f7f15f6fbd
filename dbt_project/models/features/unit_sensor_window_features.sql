{#-
  Window aggregates of each sensor over a unit's process window [start, end), one row per unit and
  sensor as the client names it (source_tag: a per-shot table's 40 process columns stay 40 sensors
  even when several share a standard tag). A unit on a named equipment takes that equipment's
  sensors, otherwise its line's. Readings are matched to
  the latest unit that started at or before them on the same equipment (units on one equipment
  do not overlap) and kept only if they are before the unit's end, so nothing at or after the
  end is read. A shot takes the readings of its own shot id (sequence_id), which all lie inside
  its window. Time outside the plausible range is the share of the window's readings outside it
  times the window's length (exact for an evenly sampled sensor; no per-reading sort needed).
-#}
with units as (
    select unit_key, company_id, line_id, equipment_id, start_ts_utc, end_ts_utc
    from {{ ref('production_units') }}
    where unit_kind = 'lot'
),

shots as (
    select unit_key, company_id, unit_id, start_ts_utc, end_ts_utc
    from {{ ref('production_units') }}
    where unit_kind = 'shot'
),

readings as (
    select company_id, line_id, equipment_id, sensor_id, source_tag, tag_code, sequence_id, reading_ts_utc, value_si
    from {{ ref('fct_sensor_readings') }}
    where value_si is not null and tag_code is not null
),

on_equipment as (
    select u.unit_key, u.start_ts_utc, u.end_ts_utc, r.sensor_id, r.source_tag, r.tag_code, r.reading_ts_utc, r.value_si
    from readings as r
    asof join (select * from units where equipment_id is not null) as u
      on r.company_id = u.company_id
     and r.equipment_id = u.equipment_id
     and r.reading_ts_utc >= u.start_ts_utc
    where r.reading_ts_utc < u.end_ts_utc
),

line_units as (
    select * from units where equipment_id is null and line_id is not null
),

on_line as (
    -- only the readings of lines that have line-level units (usually none) enter this as-of join
    select u.unit_key, u.start_ts_utc, u.end_ts_utc, r.sensor_id, r.source_tag, r.tag_code, r.reading_ts_utc, r.value_si
    from (select * from readings
          where (company_id, line_id) in (select company_id, line_id from line_units)) as r
    asof join line_units as u
      on r.company_id = u.company_id
     and r.line_id = u.line_id
     and r.reading_ts_utc >= u.start_ts_utc
    where r.reading_ts_utc < u.end_ts_utc
),

of_shot as (
    select u.unit_key, u.start_ts_utc, u.end_ts_utc, r.sensor_id, r.source_tag, r.tag_code, r.reading_ts_utc, r.value_si
    from (select * from readings where sequence_id is not null) as r
    join shots as u
      on r.company_id = u.company_id
     and r.sequence_id = u.unit_id
    where r.reading_ts_utc < u.end_ts_utc
),

in_window as (
    select * from on_equipment
    union all
    select * from on_line
    union all
    select * from of_shot
),

flagged as (
    select
        w.*,
        w.value_si < t.plausible_min or w.value_si > t.plausible_max as out_of_range
    from in_window as w
    left join {{ ref('dim_tag') }} as t using (tag_code)
),

final as (
    select
        unit_key,
        source_tag,
        any_value(tag_code) as tag_code,
        count(*) as readings,
        avg(value_si) as mean_value,
        stddev_samp(value_si) as std_value,
        min(value_si) as min_value,
        max(value_si) as max_value,
        regr_slope(value_si, epoch(reading_ts_utc)) * 3600 as slope_per_hour,
        count(*) filter (where out_of_range) / count(*)
            * (epoch(any_value(end_ts_utc)) - epoch(any_value(start_ts_utc))) as out_of_range_s,
        count(*) filter (where out_of_range) / count(*) as out_of_range_share
    from flagged
    group by unit_key, source_tag
)

select * from final
