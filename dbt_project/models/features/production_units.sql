{#-
  One row per production unit (생산 단위): a lot today, a shot/cycle where the client's data has
  one. A unit is a process window [start_ts_utc, end_ts_utc) on one equipment (or, when the lot
  names none, on its line). Its label is known from label_ts_utc on: the last inspection, and
  never before the unit ended, so no history feature can see a unit's own outcome.
-#}
with lots as (
    select lot_key, company_id, line_id, equipment_id, lot_id, product_code, start_ts_utc, end_ts_utc
    from {{ ref('fct_production_lots') }}
    where end_ts_utc > start_ts_utc
),

inspections as (
    select lot_key,
           count(*) as inspections,
           count(*) filter (where is_defect) as failed_inspections,
           max(inspected_at_utc) as last_inspected_at_utc
    from {{ ref('fct_quality_inspections') }}
    where lot_key is not null
    group by lot_key
),

final as (
    select
        l.lot_key as unit_key,
        'lot' as unit_kind,
        l.company_id,
        l.line_id,
        l.equipment_id,
        l.lot_id as unit_id,
        l.product_code,
        l.start_ts_utc,
        l.end_ts_utc,
        cast(epoch(l.end_ts_utc) - epoch(l.start_ts_utc) as double) as duration_s,
        coalesce(i.inspections, 0) as inspections,
        coalesce(i.failed_inspections, 0) as failed_inspections,
        case when i.inspections > 0 then i.failed_inspections > 0 end as is_defect,
        case when i.inspections > 0 then greatest(i.last_inspected_at_utc, l.end_ts_utc) end as label_ts_utc
    from lots as l
    left join inspections as i using (lot_key)
)

select * from final
