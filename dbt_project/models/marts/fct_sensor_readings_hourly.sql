{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='sensor_hour_key',
        on_schema_change='append_new_columns'
    )
}}
{#-
  Per sensor per UTC hour: count, min, max, avg, stddev of value_si. A normal build recomputes
  only the (sensor, hour) pairs that received readings in the new ingest batches, from all of that
  pair's readings in fct_sensor_readings, and gives a company whose shifts changed its hours' new
  shifts (macros/shifted_facts.sql). Mean and stddev come from exact decimal sums (see
  `moments`), so they do not depend on the physical row order: incremental and full builds agree to
  the bit, and the aggregation streams (ordered aggregates held every value of every hour in memory
  and ran out of it on a full build of ~50M readings).
-#}
with readings as (
    select company_id, site_id, line_id, equipment_id, sensor_id, source_tag, tag_code, si_unit, value_si,
           reading_ts_utc, date_trunc('hour', reading_ts_utc) as hour_utc, _load_seq
    from {{ ref('fct_sensor_readings') }}
),

{% if is_incremental() %}
{%- set new_rows = "from " ~ ref('fct_sensor_readings') ~ " where _load_seq > (select coalesce(max(_load_seq), 0) from " ~ this ~ ")" -%}
{#- readings of other batches in the touched hours lie inside the new batch's whole hours -#}
{%- set hours = time_range(new_rows, 'reading_ts_utc', whole_hours=true)
                if '__dbt__cte__' not in (this | string) else none -%}
{%- set in_new_hours = "r.reading_ts_utc >= " ~ hours[0] ~ " and r.reading_ts_utc < " ~ hours[1]
                       if hours else "true" %}
touched as (
    select distinct company_id, sensor_id, date_trunc('hour', reading_ts_utc) as hour_utc
    {{ new_rows }}
),

selected as (
    select r.*
    from readings as r
    semi join touched as t
      on t.company_id = r.company_id and t.sensor_id = r.sensor_id and t.hour_utc = r.hour_utc
    where {{ in_new_hours }}
),
{% else %}
selected as (
    select * from readings
),
{% endif %}

aggregated as (
    select
        company_id, sensor_id, hour_utc,
        min(site_id) as site_id,
        min(line_id) as line_id,
        min(equipment_id) as equipment_id,
        min(source_tag) as source_tag,
        min(tag_code) as tag_code,
        min(si_unit) as si_unit,
        count(*) as readings,
        count(value_si) as readings_converted,
        min(value_si) as min_value_si,
        max(value_si) as max_value_si,
        {#- the power of ten that brings the hour's spread into (0.1, 1] (see `moments`) -#}
        case when max(value_si) > min(value_si)
             then pow(10, -ceil(log10(max(value_si) - min(value_si)))) else 1 end as value_scale,
        max(reading_ts_utc) as last_reading_ts_utc,
        max(_load_seq) as _load_seq
    from selected
    group by company_id, sensor_id, hour_utc
),

{#- Each value as its place in the hour's range, y = (value - min) * value_scale in [0, 1], summed as
    DECIMAL(38,18): a decimal sum is exact, so it is the same in any order. y keeps the precision of
    the hour's spread whatever the sensor's magnitude (1e-5 m or 3e6 Pa). -#}
moments as (
    select a.company_id, a.sensor_id, a.hour_utc,
           sum(cast((s.value_si - a.min_value_si) * a.value_scale as decimal(38, 18))) as sum_y,
           sum(cast(power((s.value_si - a.min_value_si) * a.value_scale, 2) as decimal(38, 18))) as sum_y2
    from selected as s
    join aggregated as a
      on a.company_id = s.company_id and a.sensor_id = s.sensor_id and a.hour_utc = s.hour_utc
    where a.readings_converted > 0
    group by a.company_id, a.sensor_id, a.hour_utc
),

described as (
    select a.*,
           a.min_value_si + (cast(m.sum_y as double) / a.readings_converted) / a.value_scale as avg_value_si,
           case when a.readings_converted > 1 then
               sqrt(greatest(cast(m.sum_y2 as double)
                             - cast(m.sum_y as double) * cast(m.sum_y as double) / a.readings_converted, 0)
                    / (a.readings_converted - 1)) / a.value_scale
           end as stddev_value_si
    from aggregated as a
    left join moments as m using (company_id, sensor_id, hour_utc)
),

{%- set hour_columns = ['company_id', 'site_id', 'line_id', 'equipment_id', 'sensor_id', 'source_tag', 'tag_code',
                        'si_unit', 'hour_utc', 'readings', 'readings_converted', 'min_value_si', 'max_value_si',
                        'avg_value_si', 'stddev_value_si', 'last_reading_ts_utc', '_load_seq'] %}
{%- set reshift = companies_with_changed_shifts() if execute and is_incremental() else [] %}
hours as (
    select {{ hour_columns | join(', ') }} from described
    {%- if reshift %}
    union all
    -- the other hours of a company whose shifts changed keep their statistics, under their new shift
    select {{ hour_columns | join(', ') }} from {{ this }} as t
    where t.company_id in ({{ company_list(reshift) }})
      and not exists (select 1 from described as d
                      where d.company_id = t.company_id and d.sensor_id = t.sensor_id and d.hour_utc = t.hour_utc)
    {%- endif %}
),

{#- an hour belongs to the shift it begins in -#}
shifted as (
    {{ with_shift('hours', to_kst('hours.hour_utc')) }}
),

fingerprinted as (
    {{ with_shift_fingerprint('shifted') }}
),

final as (
    select
        cast({{ surrogate_key(['company_id', 'sensor_id', 'hour_utc']) }} as varchar) as sensor_hour_key,
        cast(company_id as varchar) as company_id,
        cast(site_id as varchar) as site_id,
        cast(line_id as varchar) as line_id,
        cast(equipment_id as varchar) as equipment_id,
        cast(sensor_id as varchar) as sensor_id,
        cast(source_tag as varchar) as source_tag,
        cast(tag_code as varchar) as tag_code,
        cast(si_unit as varchar) as si_unit,
        cast(hour_utc as timestamptz) as hour_utc,
        cast({{ to_kst('hour_utc') }} as timestamp) as hour_kst,
        cast({{ to_kst('hour_utc') }} as date) as date_kst,
        cast(shift_code as varchar) as shift_code,
        cast(shift_date_kst as date) as shift_date_kst,
        cast(readings as bigint) as readings,
        cast(readings_converted as bigint) as readings_converted,
        cast(min_value_si as double) as min_value_si,
        cast(max_value_si as double) as max_value_si,
        cast(avg_value_si as double) as avg_value_si,
        cast(stddev_value_si as double) as stddev_value_si,
        cast(last_reading_ts_utc as timestamptz) as last_reading_ts_utc,
        cast(_load_seq as bigint) as _load_seq,
        cast(shifts_fingerprint as varchar) as _shifts_fingerprint
    from fingerprinted
)

{#- a sensor's hours in order: the files compress, and a sensor's week is a few row groups -#}
select * from final
order by company_id, sensor_id, hour_utc
