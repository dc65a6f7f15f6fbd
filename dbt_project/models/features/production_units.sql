{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='unit_key',
        on_schema_change='append_new_columns',
        pre_hook=["{{ delete_units_made_again() }}"]
    )
}}
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

  A normal build makes again only what can have changed (macros/production_units.sql:
  production_unit_changes): every lot (a few per line and day), the shots whose readings or
  inspections arrived since, and every unit of a company whose kind of unit may have changed or
  whose inspections left with a superseded file version. `--full-refresh` makes them all.
-#}
{%- set changes = production_unit_changes() if execute and is_incremental() else none %}
with lots as (
    select lot_key, company_id, line_id, equipment_id, lot_id, product_code, start_ts_utc, end_ts_utc
    from {{ ref('fct_production_lots') }}
    where end_ts_utc > start_ts_utc
),

shot_readings as (
    -- a shot id names one shot of the company; it is on an equipment when all its values are
    select company_id, sequence_id, line_id,
           case when min_equipment_id = max_equipment_id then min_equipment_id end as equipment_id,
           first_reading_ts_utc,
           last_reading_ts_utc
    from {{ ref('int_sensor_shots') }}
    {%- if changes %}
    where company_id in ({{ changes.redo }})
       or _load_seq > {{ changes.shots_seen }}
       or (company_id, sequence_id) in (select company_id, lot_id from {{ ref('fct_quality_inspections') }}
                                        where lot_key is not null and {{ changes.new_inspection }})
    {%- endif %}
),

per_shot_companies as (
    {%- if changes %}
    -- the kind of unit of a company that is not made again whole stays as it was
    select distinct company_id from {{ this }}
    where unit_kind = 'shot' and company_id not in ({{ changes.redo }})
    union
    {%- endif %}
    select distinct s.company_id
    from {{ ref('int_sensor_shots') }} as s
    semi join {{ ref('fct_quality_inspections') }} as i
      on i.company_id = s.company_id and i.lot_id = s.sequence_id and i.lot_key is not null
    where s.company_id not in (select company_id from lots)
    {%- if changes %}
      and s.company_id in ({{ changes.redo }})
    {%- endif %}
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

inspections as (
    select lot_key,
           count(*) as inspections,
           count(*) filter (where is_defect) as failed_inspections,
           max(inspected_at_utc) as last_inspected_at_utc
    from {{ ref('fct_quality_inspections') }}
    where lot_key is not null
    {%- if changes %}
      and lot_key in (select unit_key from units)
    {%- endif %}
    group by lot_key
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
        case when i.inspections > 0 then greatest(i.last_inspected_at_utc, u.end_ts_utc) end as label_ts_utc,
        (select max(_load_seq) from {{ ref('int_sensor_shots') }}) as _shots_load_seq,
        (select max(_bronze_version) from {{ ref('fct_quality_inspections') }}) as _inspections_version,
        cast('{{ run_started_at }}' as timestamptz) as _made_at
    from units as u
    left join inspections as i on i.lot_key = u.unit_key
)

select * from final
