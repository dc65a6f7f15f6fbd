{#- Standard rows in the warehouse per company and dataset kind (수집 데이터 건수). -#}
with readings as (
    select company_id, count(*) as sensor_readings,
           min(reading_ts_utc) as first_reading_utc, max(reading_ts_utc) as last_reading_utc
    from {{ ref('fct_sensor_readings') }}
    group by company_id
),

lots as (
    select company_id, count(*) as production_lots from {{ ref('fct_production_lots') }} group by company_id
),

inspections as (
    select company_id, count(*) as quality_inspections from {{ ref('fct_quality_inspections') }} group by company_id
),

events as (
    select company_id, count(*) as equipment_events from {{ ref('fct_equipment_events') }} group by company_id
),

final as (
    select
        cast(c.company_id as varchar) as company_id,
        cast(c.name_ko as varchar) as name_ko,
        cast(c.region_code as varchar) as region_code,
        cast(c.industry_code as varchar) as industry_code,
        cast(coalesce(r.sensor_readings, 0) as bigint) as sensor_readings,
        cast(coalesce(l.production_lots, 0) as bigint) as production_lots,
        cast(coalesce(i.quality_inspections, 0) as bigint) as quality_inspections,
        cast(coalesce(e.equipment_events, 0) as bigint) as equipment_events,
        cast(coalesce(r.sensor_readings, 0) + coalesce(l.production_lots, 0)
             + coalesce(i.quality_inspections, 0) + coalesce(e.equipment_events, 0) as bigint) as rows_collected,
        cast(r.first_reading_utc as timestamptz) as first_reading_utc,
        cast(r.last_reading_utc as timestamptz) as last_reading_utc
    from {{ ref('dim_company') }} as c
    left join readings as r using (company_id)
    left join lots as l using (company_id)
    left join inspections as i using (company_id)
    left join events as e using (company_id)
)

select * from final
