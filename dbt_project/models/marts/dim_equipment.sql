{#- ISA-95 equipment: every (company, equipment) seen in any fact, with the line it is seen on most. -#}
with seen as (
    select company_id, equipment_id, line_id, readings as weight from {{ ref('fct_sensor_readings_hourly') }}
    union all
    select company_id, equipment_id, line_id, 1 from {{ ref('fct_production_lots') }}
    union all
    select company_id, equipment_id, line_id, 1 from {{ ref('fct_equipment_events') }}
),

per_line as (
    select company_id, equipment_id, line_id, sum(weight) as weight
    from seen
    where equipment_id is not null
    group by all
),

final as (
    select
        cast({{ surrogate_key(['company_id', 'equipment_id']) }} as varchar) as equipment_key,
        cast(company_id as varchar) as company_id,
        cast(company_id as varchar) as site_id,
        cast(line_id as varchar) as line_id,
        cast(equipment_id as varchar) as equipment_id
    from per_line
    qualify row_number() over (
        partition by company_id, equipment_id order by weight desc, line_id nulls last
    ) = 1
)

select * from final
