{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='unit_key',
        on_schema_change='append_new_columns',
        incremental_predicates=[
            "end_ts_utc between (select min(end_ts_utc) from unit_sensor_window_features__dbt_tmp)"
            ~ " and (select max(end_ts_utc) from unit_sensor_window_features__dbt_tmp)"
        ],
        post_hook=["{{ delete_stale_window_features(ref('unit_window_versions')) }}"]
    )
}}
{#-
  Window aggregates of each sensor over a unit's process window [start, end), one row per unit and
  sensor as the client names it (source_tag: a per-shot table's 40 process columns stay 40 sensors
  even when several share a standard tag). A unit on a named equipment takes that equipment's
  sensors, otherwise its line's; a shot takes the readings of its own shot id
  (macros/unit_windows.sql). Nothing at or after the unit's end is read. Time outside the
  plausible range is the share of the window's readings outside it times the window's length
  (exact for an evenly sampled sensor; no per-reading sort needed). Mean, sd and slope are summed
  in whatever order the engine reads the rows (sorting every window's readings first would cost
  more than the rest of the model): builds agree to the last bits of a double.

  A normal build recomputes only the units whose window holds readings of the loads this table
  has not seen (_load_seq) or whose window is new or changed since (unit_window_versions), from
  all their readings: the readings are read only over those windows' time span, and the units
  only from the earliest end such a unit can have, so a new day costs about a day. The end (the unit's, where its features are known) bounds the replace.
  `--full-refresh` computes every unit the same way.
-#}
{%- set units_relation = "(select unit_key, unit_kind, company_id, line_id, equipment_id, unit_id, start_ts_utc, end_ts_utc from " ~ ref('production_units') ~ ")" -%}
{%- set readings_columns = "company_id, line_id, equipment_id, sensor_id, source_tag, tag_code, sequence_id, reading_ts_utc, value_si" -%}
{%- set touched_bounds = none -%}
{%- if execute and is_incremental() -%}
    {%- set seen = run_query("select coalesce(max(_load_seq), 0), strftime(max(_windows_as_of), '%Y-%m-%d %H:%M:%S.%f+00') from " ~ this) -%}
    {%- set seen_windows = "timestamptz '" ~ seen.rows[0][1] ~ "'" if seen.rows[0][1] is not none else "timestamptz '-infinity'" -%}
    {%- set new_readings = "(select " ~ readings_columns ~ " from " ~ ref('fct_sensor_readings')
                           ~ " where _load_seq > " ~ seen.rows[0][0] ~ " and value_si is not null and tag_code is not null)" -%}
    {#- every unit recomputed ends after the earliest new reading (its window holds or follows it),
        or is a changed window: the units are read from that end on, a literal, so the DuckLake
        reads only production_units' files of units that late (not all of history's) -#}
    {%- set ends_from = run_query(
        "select strftime(least((select min(reading_ts_utc) from " ~ new_readings ~ "),"
        ~ " (select min(end_ts_utc) from " ~ ref('unit_window_versions') ~ " where window_fingerprint is not null"
        ~ " and changed_at > " ~ seen_windows ~ ")), '%Y-%m-%d %H:%M:%S.%f+00')").rows[0][0] -%}
    {%- set units_relation = "(select unit_key, unit_kind, company_id, line_id, equipment_id, unit_id, start_ts_utc, end_ts_utc from "
                             ~ ref('production_units') ~ " where end_ts_utc >= timestamptz '"
                             ~ (ends_from if ends_from is not none else 'infinity') ~ "')" -%}
    {#- the units to recompute: windows new or changed since, and the windows overlapping the time the
        new readings span on their equipment (or line), or naming their shot id (a superset of the
        units they fall in: recomputing a unit again gives the same rows) -#}
    {%- set touched -%}
        select unit_key from {{ ref('unit_window_versions') }}
        where window_fingerprint is not null and changed_at > {{ seen_windows }}
        union
        select u.unit_key
        from {{ units_relation }} as u
        join (select company_id, equipment_id, min(reading_ts_utc) as first_ts, max(reading_ts_utc) as last_ts
              from {{ new_readings }} as n group by company_id, equipment_id) as n
          on n.company_id = u.company_id and n.equipment_id = u.equipment_id
        where u.unit_kind = 'lot' and u.start_ts_utc <= n.last_ts and u.end_ts_utc > n.first_ts
        union
        select u.unit_key
        from {{ units_relation }} as u
        join (select company_id, line_id, min(reading_ts_utc) as first_ts, max(reading_ts_utc) as last_ts
              from {{ new_readings }} as n group by company_id, line_id) as n
          on n.company_id = u.company_id and n.line_id = u.line_id
        where u.unit_kind = 'lot' and u.equipment_id is null and u.start_ts_utc <= n.last_ts and u.end_ts_utc > n.first_ts
        union
        select u.unit_key
        from {{ units_relation }} as u
        join (select distinct company_id, sequence_id from {{ new_readings }} as n where sequence_id is not null) as n
          on n.company_id = u.company_id and n.sequence_id = u.unit_id
        where u.unit_kind = 'shot'
    {%- endset -%}
    {%- set found = run_query(
        "select strftime(min(start_ts_utc) filter (where unit_kind = 'lot'), '%Y-%m-%d %H:%M:%S.%f+00'), "
        ~ "strftime(max(end_ts_utc) filter (where unit_kind = 'lot'), '%Y-%m-%d %H:%M:%S.%f+00'), "
        ~ "string_agg(distinct chr(39) || company_id || chr(39), ', ') filter (where unit_kind = 'lot'), "
        ~ "string_agg(distinct chr(39) || company_id || chr(39), ', ') filter (where unit_kind = 'shot'), "
        ~ "(select max(_load_seq) from " ~ ref('fct_sensor_readings') ~ " where _load_seq >= " ~ seen.rows[0][0] ~ "), "
        ~ "(select strftime(max(changed_at), '%Y-%m-%d %H:%M:%S.%f+00') from " ~ ref('unit_window_versions') ~ "), "
        ~ "strftime(min(start_ts_utc) filter (where unit_kind = 'shot'), '%Y-%m-%d %H:%M:%S.%f+00'), "
        ~ "strftime(max(end_ts_utc) filter (where unit_kind = 'shot'), '%Y-%m-%d %H:%M:%S.%f+00') "
        ~ "from " ~ units_relation ~ " as u where unit_key in (" ~ touched ~ ")") -%}
    {%- set touched_bounds = found.rows[0] -%}
{%- endif %}
with units as (
    select * from {{ units_relation }} as u
),

readings as (
    select {{ readings_columns }}
    from {{ ref('fct_sensor_readings') }}
    where value_si is not null and tag_code is not null
    {%- if is_incremental() %}
      {#- a lot's readings lie in its window: only the touched windows' time span is read -#}
      {%- if touched_bounds[0] is not none %}
      and reading_ts_utc >= timestamptz '{{ touched_bounds[0] }}' and reading_ts_utc < timestamptz '{{ touched_bounds[1] }}'
      and company_id in ({{ touched_bounds[2] }})
      {%- else %}
      and false
      {%- endif %}
    {%- endif %}
),

{% if is_incremental() %}
shot_readings as (
    -- a shot's readings are those of its id, whenever they came (ids that clients reuse span weeks);
    -- they all lie in its window, from its first reading to just after its last, so only the
    -- touched shots' time span is read
    select {{ readings_columns }}
    from {{ ref('fct_sensor_readings') }}
    where value_si is not null and tag_code is not null and sequence_id is not null
    {%- if touched_bounds[3] is not none %}
      and company_id in ({{ touched_bounds[3] }})
      and reading_ts_utc >= timestamptz '{{ touched_bounds[6] }}' and reading_ts_utc < timestamptz '{{ touched_bounds[7] }}'
      and (company_id, sequence_id) in (
          select company_id, unit_id from units where unit_kind = 'shot' and unit_key in ({{ touched }}))
    {%- else %}
      and false
    {%- endif %}
),

in_window as (
    select * from ({{ readings_in_unit_windows('readings', 'units', 'shot_readings') }}) as w
    where unit_key in ({{ touched }})
),
{% else %}
in_window as (
    {{ readings_in_unit_windows('readings', 'units') }}
),
{% endif %}

flagged as (
    select
        w.*,
        w.value_si < t.plausible_min or w.value_si > t.plausible_max as out_of_range
    from in_window as w
    left join {{ ref('dim_tag') }} as t using (tag_code)
),

aggregated as (
    select
        unit_key,
        source_tag,
        any_value(company_id) as company_id,
        any_value(end_ts_utc) as end_ts_utc,
        min(tag_code) as tag_code,
        count(*) as readings,
        avg(value_si) as mean_value,
        stddev_samp(value_si) as std_value,
        min(value_si) as min_value,
        max(value_si) as max_value,
        regr_slope(value_si, epoch(reading_ts_utc)) * 3600 as slope_per_hour,
        count(*) filter (where out_of_range) / count(*)
            * (epoch(any_value(end_ts_utc)) - epoch(any_value(start_ts_utc))) as out_of_range_s,
        count(*) filter (where out_of_range) / count(*) as out_of_range_share
    from flagged
    group by unit_key, source_tag
),

final as (
    select
        unit_key, source_tag, tag_code, readings, mean_value, std_value, min_value, max_value,
        slope_per_hour, out_of_range_s, out_of_range_share,
        end_ts_utc,
        {%- if touched_bounds %}
        cast({{ touched_bounds[4] or 0 }} as bigint) as _load_seq,
        {{ "timestamptz '" ~ touched_bounds[5] ~ "'" if touched_bounds[5] else "cast(null as timestamptz)" }} as _windows_as_of
        {%- else %}
        (select max(_load_seq) from {{ ref('fct_sensor_readings') }}) as _load_seq,
        (select max(changed_at) from {{ ref('unit_window_versions') }}) as _windows_as_of
        {%- endif %}
    from aggregated
    -- a company's units in time order: neighbouring rows hold the same sensor's similar values
    order by company_id, end_ts_utc, unit_key, source_tag
)

select * from final
