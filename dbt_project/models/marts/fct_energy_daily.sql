{#-
  Electricity per equipment per KST day, from the hourly sensor aggregate:
  - POWER sensors (kW): energy = sum over the hours with readings of the hour's mean power x 1 h;
  - ENERGY sensors (kWh, cumulative meters): energy = the day's highest minus lowest reading.
  Empty when no client sends POWER or ENERGY tags.
-#}
with hourly as (
    select company_id, line_id, equipment_id, sensor_id, tag_code, date_kst, hour_utc,
           avg_value_si, min_value_si, max_value_si
    from {{ ref('fct_sensor_readings_hourly') }}
    where tag_code in ('POWER', 'ENERGY')
),

daily as (
    select
        company_id, sensor_id, date_kst,
        min(line_id) as line_id,
        min(equipment_id) as equipment_id,
        min(tag_code) as tag_code,
        count(*) filter (where avg_value_si is not null) as hours_covered,
        case min(tag_code)
            when 'POWER' then sum(avg_value_si order by hour_utc)
            else max(max_value_si) - min(min_value_si)
        end as energy_kwh
    from hourly
    group by company_id, sensor_id, date_kst
),

final as (
    select
        cast({{ surrogate_key(['company_id', 'sensor_id', 'date_kst']) }} as varchar) as energy_day_key,
        cast(company_id as varchar) as company_id,
        cast(line_id as varchar) as line_id,
        cast(equipment_id as varchar) as equipment_id,
        cast(sensor_id as varchar) as sensor_id,
        cast(tag_code as varchar) as tag_code,
        cast(date_kst as date) as date_kst,
        cast(hours_covered as bigint) as hours_covered,
        cast(energy_kwh as double) as energy_kwh,
        cast(case tag_code when 'POWER' then 'power_integral' else 'meter_delta' end as varchar) as method
    from daily
)

select * from final
