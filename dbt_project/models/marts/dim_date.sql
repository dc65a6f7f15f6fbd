{#- KST calendar over every day that has data (plus the days between). -#}
with bounds as (
    select min(d) as first_day, max(d) as last_day
    from (
        select min(date_kst) as d from {{ ref('fct_sensor_readings_hourly') }}
        union all select max(date_kst) from {{ ref('fct_sensor_readings_hourly') }}
        union all select min(production_date_kst) from {{ ref('fct_production_lots') }}
        union all select max(production_date_kst) from {{ ref('fct_production_lots') }}
        union all select min(cast(inspected_at_kst as date)) from {{ ref('fct_quality_inspections') }}
        union all select max(cast(inspected_at_kst as date)) from {{ ref('fct_quality_inspections') }}
        union all select min(cast(event_ts_kst as date)) from {{ ref('fct_equipment_events') }}
        union all select max(cast(event_ts_kst as date)) from {{ ref('fct_equipment_events') }}
    ) as days
),

days as (
    select cast(unnest(generate_series(first_day, last_day, interval 1 day)) as date) as date_kst
    from bounds
    where first_day is not null
),

final as (
    select
        cast(date_kst as date) as date_kst,
        cast(year(date_kst) as integer) as year,
        cast(quarter(date_kst) as integer) as quarter,
        cast(month(date_kst) as integer) as month,
        cast(day(date_kst) as integer) as day_of_month,
        cast(isodow(date_kst) as integer) as iso_day_of_week,
        cast(['월요일', '화요일', '수요일', '목요일', '금요일', '토요일', '일요일'][isodow(date_kst)] as varchar)
            as day_name_ko,
        cast(dayname(date_kst) as varchar) as day_name_en,
        cast(isoyear(date_kst) as integer) as iso_year,
        cast(weekofyear(date_kst) as integer) as iso_week,
        cast(date_trunc('week', date_kst) as date) as iso_week_start,
        cast(isodow(date_kst) >= 6 as boolean) as is_weekend
    from days
)

select * from final
