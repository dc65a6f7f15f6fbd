{#-
  Production and defects per line per work shift (근무조별 불량 현황): lots by the shift they
  started in, inspections by the shift they took place in, both on the shift's production day.
-#}
with lots as (
    select company_id, line_id, shift_date_kst, shift_code,
           count(*) as lots,
           sum(quantity) as units_produced,
           sum(defect_quantity) as units_defective
    from {{ ref('fct_production_lots') }}
    group by company_id, line_id, shift_date_kst, shift_code
),

inspections as (
    select company_id, line_id, shift_date_kst, shift_code,
           count(*) as inspections,
           count(*) filter (where is_defect) as failed_inspections
    from {{ ref('fct_quality_inspections') }}
    group by company_id, line_id, shift_date_kst, shift_code
),

shift_days as (
    select company_id, line_id, shift_date_kst, shift_code from lots
    union
    select company_id, line_id, shift_date_kst, shift_code from inspections
),

final as (
    select
        cast({{ surrogate_key(['d.company_id', 'd.line_id', 'd.shift_date_kst', 'd.shift_code']) }} as varchar)
            as line_shift_day_key,
        cast(d.company_id as varchar) as company_id,
        cast(d.line_id as varchar) as line_id,
        cast(d.shift_date_kst as date) as shift_date_kst,
        cast(d.shift_code as varchar) as shift_code,
        cast(s.name_ko as varchar) as shift_name_ko,
        cast(s.name_en as varchar) as shift_name_en,
        cast(coalesce(l.lots, 0) as bigint) as lots,
        cast(l.units_produced as double) as units_produced,
        cast(l.units_defective as double) as units_defective,
        cast(l.units_defective / nullif(l.units_produced, 0) as double) as unit_defect_rate,
        cast(coalesce(i.inspections, 0) as bigint) as inspections,
        cast(coalesce(i.failed_inspections, 0) as bigint) as failed_inspections,
        cast(i.failed_inspections / nullif(i.inspections, 0) as double) as inspection_defect_rate
    from shift_days as d
    left join lots as l
      on l.company_id = d.company_id and l.line_id is not distinct from d.line_id
     and l.shift_date_kst is not distinct from d.shift_date_kst and l.shift_code is not distinct from d.shift_code
    left join inspections as i
      on i.company_id = d.company_id and i.line_id is not distinct from d.line_id
     and i.shift_date_kst is not distinct from d.shift_date_kst and i.shift_code is not distinct from d.shift_code
    left join {{ ref('dim_shift') }} as s
      on s.company_id = d.company_id and s.shift_code = d.shift_code
)

select * from final
