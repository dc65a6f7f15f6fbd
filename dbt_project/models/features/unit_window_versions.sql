{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='unit_key'
    )
}}
{#-
  The process windows the per-sensor features know, one row per unit_key ever seen: a fingerprint
  of what decides which readings are the unit's (kind, company, line, equipment, unit id, start,
  end), null once the unit is gone, its end and the end of the window it replaced, and the build
  that saw it change. A late or corrected lot, a
  shot that received later readings, a unit that left the production units: each shows here as a
  row of this build, and unit_sensor_window_features recomputes exactly those. A new label does
  not change a window.
-#}
with units as (
    select unit_key, company_id, end_ts_utc,
           {{ surrogate_key(['unit_kind', 'company_id', 'line_id', 'equipment_id', 'unit_id',
                             'start_ts_utc', 'end_ts_utc']) }} as window_fingerprint
    from {{ ref('production_units') }}
    {%- if is_incremental() %}
    -- only units made by this build can have a new window (production_units makes every unit that
    -- can change again)
    where _made_at = (select max(_made_at) from {{ ref('production_units') }})
    {%- endif %}
),

{% if is_incremental() %}
changed as (
    select coalesce(u.unit_key, k.unit_key) as unit_key,
           coalesce(u.company_id, k.company_id) as company_id,
           u.window_fingerprint,
           u.end_ts_utc,
           k.end_ts_utc as replaced_end_ts_utc
    from units as u
    left join (select * from {{ this }} where window_fingerprint is not null) as k using (unit_key)
    where u.window_fingerprint is distinct from k.window_fingerprint
    union all
    -- units that are gone
    select k.unit_key, k.company_id, null, null, k.end_ts_utc
    from {{ this }} as k
    -- an anti join, not a correlated `not exists` (macros/admitted_bronze.sql says why)
    anti join {{ ref('production_units') }} as p on p.unit_key = k.unit_key
    where k.window_fingerprint is not null
),
{% else %}
changed as (
    select unit_key, company_id, window_fingerprint, end_ts_utc, cast(null as timestamptz) as replaced_end_ts_utc
    from units
),
{% endif %}

final as (
    select
        cast(unit_key as varchar) as unit_key,
        cast(company_id as varchar) as company_id,
        cast(window_fingerprint as varchar) as window_fingerprint,
        cast(end_ts_utc as timestamptz) as end_ts_utc,
        cast(replaced_end_ts_utc as timestamptz) as replaced_end_ts_utc,
        cast('{{ run_started_at }}' as timestamptz) as changed_at
    from changed
    order by company_id, unit_key
)

select * from final
