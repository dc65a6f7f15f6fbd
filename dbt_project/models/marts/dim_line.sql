{#- ISA-95 area/line: every (company, line) seen in any fact. -#}
with seen as (
    select company_id, line_id from {{ ref('fct_sensor_readings_hourly') }}
    union all
    select company_id, line_id from {{ ref('fct_production_lots') }}
    union all
    select company_id, line_id from {{ ref('fct_equipment_events') }}
    union all
    select company_id, line_id from {{ ref('fct_quality_inspections') }}
),

lines as (
    select distinct company_id, line_id from seen where line_id is not null
),

final as (
    select
        cast({{ surrogate_key(['company_id', 'line_id']) }} as varchar) as line_key,
        cast(company_id as varchar) as company_id,
        cast(company_id as varchar) as site_id,
        cast(line_id as varchar) as line_id
    from lines
)

select * from final
