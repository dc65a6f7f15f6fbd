{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['company_id', 'sensor_id', 'hour_utc'],
        on_schema_change='append_new_columns',
        incremental_predicates=[
            "DBT_INCREMENTAL_TARGET.hour_utc >= (select min(hour_utc) from equipment_hourly_features__dbt_tmp)"
        ]
    )
}}
{#-
  Anomaly-detection features per equipment, tag and UTC hour, from the hourly sensor statistics:
  the hour's mean against the previous 24 hours of the same sensor (rolling mean and sd, z-score,
  trailing only), and its rate of change from the previous hour.
  A normal build recomputes, for each sensor with hours new or changed since this table's last
  load (_load_seq of fct_sensor_readings_hourly), its hours from the first changed one on: they
  are the only ones whose trailing day or previous hour can have moved. It reads that span, the
  24 hours before it and the sensor's last hour before it (however far back), so a new day costs
  about two days of hours.
-#}
{%- set lower_bound = none -%}
{%- if execute and is_incremental() -%}
    {%- set seen = run_query("select coalesce(max(_load_seq), 0) from " ~ this).rows[0][0] -%}
    {%- set found = run_query(
        "select strftime(min(hour_utc) - interval 24 hour, '%Y-%m-%d %H:%M:%S+00'), max(_load_seq) from "
        ~ ref('fct_sensor_readings_hourly') ~ " where equipment_id is not null and _load_seq > " ~ seen) -%}
    {%- set lower_bound = found.rows[0] -%}
{%- endif %}
with hourly as (
    select company_id, line_id, equipment_id, sensor_id, tag_code, hour_utc, readings,
           avg_value_si, stddev_value_si, min_value_si, max_value_si, _load_seq
    from {{ ref('fct_sensor_readings_hourly') }}
    where equipment_id is not null
),

{% if is_incremental() %}
changed as (
    select company_id, sensor_id, min(hour_utc) as first_changed_hour
    from hourly
    where _load_seq > {{ seen }}
    group by company_id, sensor_id
),

selected as (
    {%- if lower_bound[0] is not none %}
    select h.*
    from hourly as h
    semi join changed as c on c.company_id = h.company_id and c.sensor_id = h.sensor_id
    where h.hour_utc >= timestamptz '{{ lower_bound[0] }}'
    union
    select h.*
    from changed as c
    asof join hourly as h
      on h.company_id = c.company_id and h.sensor_id = c.sensor_id and c.first_changed_hour > h.hour_utc
    {%- else %}
    select * from hourly where false
    {%- endif %}
),
{% else %}
selected as (
    select * from hourly
),
{% endif %}

rolling as (
    select
        *,
        avg(avg_value_si) over previous_day as rolling_24h_mean,
        stddev_samp(avg_value_si) over previous_day as rolling_24h_std,
        lag(avg_value_si) over by_hour as previous_hour_mean,
        lag(hour_utc) over by_hour as previous_hour_utc
    from selected
    window by_hour as (partition by company_id, sensor_id order by hour_utc),
           previous_day as (partition by company_id, sensor_id order by hour_utc
                            range between interval 24 hour preceding and interval 1 hour preceding)
),

final as (
    select
        r.company_id, r.line_id, r.equipment_id, r.sensor_id, r.tag_code, r.hour_utc, r.readings,
        r.avg_value_si as mean_value, r.stddev_value_si as std_value, r.min_value_si as min_value,
        r.max_value_si as max_value,
        r.rolling_24h_mean,
        r.rolling_24h_std,
        (r.avg_value_si - r.rolling_24h_mean) / nullif(r.rolling_24h_std, 0) as zscore_24h,
        (r.avg_value_si - r.previous_hour_mean)
            / nullif(epoch(r.hour_utc) - epoch(r.previous_hour_utc), 0) * 3600 as change_per_hour,
        {%- if lower_bound %}
        cast({{ lower_bound[1] or seen }} as bigint) as _load_seq
        {%- else %}
        (select max(_load_seq) from hourly) as _load_seq
        {%- endif %}
    from rolling as r
    {%- if is_incremental() %}
    join changed as c on c.company_id = r.company_id and c.sensor_id = r.sensor_id
    where r.hour_utc >= c.first_changed_hour
    {%- endif %}
    order by r.company_id, r.sensor_id, r.hour_utc
)

select * from final
