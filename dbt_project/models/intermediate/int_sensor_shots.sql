{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['company_id', 'sequence_id'],
        on_schema_change='append_new_columns'
    )
}}
{#-
  One row per shot id (sequence_id) a company's readings carry: its line, its equipment range and
  its first and last reading (production_units makes per-shot units of them). A normal build reads
  only the readings of the loads it has not taken yet (fct_sensor_readings._load_seq above the
  highest here) and widens the shots they belong to: first, last, lowest and highest ids only ever
  move outwards as readings arrive, so the result is the same as aggregating all of history
  (`--full-refresh` does that). A re-sent reading keeps its shot id and time, so it changes nothing.
-#}
with readings as (
    select company_id, sequence_id, line_id, equipment_id, reading_ts_utc, _load_seq
    from {{ ref('fct_sensor_readings') }}
    where sequence_id is not null and reading_ts_utc is not null
    {% if is_incremental() %}
      and _load_seq > (select coalesce(max(_load_seq), 0) from {{ this }})
    {% endif %}
),

shots as (
    select company_id, sequence_id,
           min(line_id) as line_id,
           min(equipment_id) as min_equipment_id,
           max(equipment_id) as max_equipment_id,
           min(reading_ts_utc) as first_reading_ts_utc,
           max(reading_ts_utc) as last_reading_ts_utc,
           max(_load_seq) as _load_seq
    from readings
    group by company_id, sequence_id
),

{% if is_incremental() %}
widened as (
    -- least/greatest skip nulls: a shot seen before keeps what it had
    select s.company_id, s.sequence_id,
           least(s.line_id, t.line_id) as line_id,
           least(s.min_equipment_id, t.min_equipment_id) as min_equipment_id,
           greatest(s.max_equipment_id, t.max_equipment_id) as max_equipment_id,
           least(s.first_reading_ts_utc, t.first_reading_ts_utc) as first_reading_ts_utc,
           greatest(s.last_reading_ts_utc, t.last_reading_ts_utc) as last_reading_ts_utc,
           s._load_seq
    from shots as s
    left join {{ this }} as t on t.company_id = s.company_id and t.sequence_id = s.sequence_id
),
{% else %}
widened as (
    select * from shots
),
{% endif %}

final as (
    select
        cast(company_id as varchar) as company_id,
        cast(sequence_id as varchar) as sequence_id,
        cast(line_id as varchar) as line_id,
        cast(min_equipment_id as varchar) as min_equipment_id,
        cast(max_equipment_id as varchar) as max_equipment_id,
        cast(first_reading_ts_utc as timestamptz) as first_reading_ts_utc,
        cast(last_reading_ts_utc as timestamptz) as last_reading_ts_utc,
        cast(_load_seq as bigint) as _load_seq
    from widened
    order by company_id, first_reading_ts_utc, sequence_id
)

select * from final
