{#- Defect rate per company over all its data: by inspection and by unit (불량률). -#}
with inspections as (
    select company_id, count(*) as inspections, count(*) filter (where is_defect) as failed_inspections
    from {{ ref('fct_quality_inspections') }}
    group by company_id
),

units as (
    select company_id, sum(quantity) as units_produced, sum(defect_quantity) as units_defective
    from {{ ref('fct_production_lots') }}
    group by company_id
),

final as (
    select
        cast(c.company_id as varchar) as company_id,
        cast(c.name_ko as varchar) as name_ko,
        cast(c.region_code as varchar) as region_code,
        cast(c.industry_code as varchar) as industry_code,
        cast(coalesce(i.inspections, 0) as bigint) as inspections,
        cast(coalesce(i.failed_inspections, 0) as bigint) as failed_inspections,
        cast(i.failed_inspections / nullif(i.inspections, 0) as double) as inspection_defect_rate,
        cast(u.units_produced as double) as units_produced,
        cast(u.units_defective as double) as units_defective,
        cast(u.units_defective / nullif(u.units_produced, 0) as double) as unit_defect_rate
    from {{ ref('dim_company') }} as c
    left join inspections as i using (company_id)
    left join units as u using (company_id)
)

select * from final
