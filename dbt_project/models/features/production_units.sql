{#-
  One row per production unit (생산 단위): a lot, or a shot/cycle where the client's data has one.
  A unit is a process window [start_ts_utc, end_ts_utc) on one equipment (or, when the lot names
  none, on its line). Its label is known from label_ts_utc on: the last inspection, and never
  before the unit ended, so no history feature can see a unit's own outcome.

  Shots: a per-shot export (KAMP's injection and die-casting sets: one row per shot, dozens of
  process columns, PassOrFail in the same row) maps the shot number as the readings' `sequence`
  and as the inspections' lot id. A company whose inspections name the shots its readings carry,
  and which sends no lot with a process window, has shots as its units: one per sequence id,
  holding that shot's own readings. A shot's window runs from its first reading to one second
  after its last (the exports' clock resolution), so its own values are inside and the next
  shot's are not. Its unit_key is the lot_key its inspections carry.
-#}
with lots as (
    select lot_key, company_id, line_id, equipment_id, lot_id, product_code, start_ts_utc, end_ts_utc
    from {{ ref('fct_production_lots') }}
    where end_ts_utc > start_ts_utc
),

inspections as (
    select lot_key,
           any_value(company_id) as company_id,
           any_value(lot_id) as lot_id,
           count(*) as inspections,
           count(*) filter (where is_defect) as failed_inspections,
           max(inspected_at_utc) as last_inspected_at_utc
    from {{ ref('fct_quality_inspections') }}
    where lot_key is not null
    group by lot_key
),

shot_readings as (
    -- a shot id names one shot of the company; it is on an equipment when all its values are
    select company_id, sequence_id, line_id,
           case when min_equipment_id = max_equipment_id then min_equipment_id end as equipment_id,
           first_reading_ts_utc,
           last_reading_ts_utc
    from {{ ref('int_sensor_shots') }}
),

per_shot_companies as (
    select distinct s.company_id
    from shot_readings as s
    join inspections as i on i.company_id = s.company_id and i.lot_id = s.sequence_id
    where s.company_id not in (select company_id from lots)
),

shots as (
    select
        {{ surrogate_key(['s.company_id', 's.sequence_id']) }} as unit_key,
        s.company_id,
        s.line_id,
        s.equipment_id,
        s.sequence_id as unit_id,
        s.first_reading_ts_utc as start_ts_utc,
        s.last_reading_ts_utc + interval 1 second as end_ts_utc
    from shot_readings as s
    where s.company_id in (select company_id from per_shot_companies)
),

units as (
    select lot_key as unit_key, 'lot' as unit_kind, company_id, line_id, equipment_id, lot_id as unit_id,
           product_code, start_ts_utc, end_ts_utc
    from lots
    union all
    select s.unit_key, 'shot' as unit_kind, s.company_id, s.line_id, s.equipment_id, s.unit_id,
           p.product_code, s.start_ts_utc, s.end_ts_utc
    from shots as s
    -- the product of a shot, where the client also sends its shots as (instant) lots
    left join {{ ref('fct_production_lots') }} as p on p.lot_key = s.unit_key
),

final as (
    select
        u.unit_key,
        u.unit_kind,
        u.company_id,
        u.line_id,
        u.equipment_id,
        u.unit_id,
        u.product_code,
        u.start_ts_utc,
        u.end_ts_utc,
        cast(epoch(u.end_ts_utc) - epoch(u.start_ts_utc) as double) as duration_s,
        coalesce(i.inspections, 0) as inspections,
        coalesce(i.failed_inspections, 0) as failed_inspections,
        case when i.inspections > 0 then i.failed_inspections > 0 end as is_defect,
        case when i.inspections > 0 then greatest(i.last_inspected_at_utc, u.end_ts_utc) end as label_ts_utc
    from units as u
    left join inspections as i on i.lot_key = u.unit_key
)

select * from final
