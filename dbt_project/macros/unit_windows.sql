{#-
  The readings of `readings` that fall in a unit's process window, each with its unit (the feature
  models' one rule, used for all history in a full build and for the new loads in an incremental
  one): a lot on a named equipment takes the latest unit on that equipment that started at or
  before the reading (units on one equipment do not overlap), a lot naming none its line's, and
  a shot the readings of its own shot id; a reading at or after the unit's end belongs to none.
  `readings` (for lots) and `shot_readings` (for shots; the same by default): company_id, line_id,
  equipment_id, sensor_id, source_tag, tag_code, sequence_id, reading_ts_utc, value_si.
  `units`: production_units' columns.
-#}
{% macro readings_in_unit_windows(readings, units, shot_readings=none) -%}
    select u.unit_key, u.company_id, u.start_ts_utc, u.end_ts_utc,
           r.sensor_id, r.source_tag, r.tag_code, r.reading_ts_utc, r.value_si
    from {{ readings }} as r
    asof join (select * from {{ units }} where unit_kind = 'lot' and equipment_id is not null) as u
      on r.company_id = u.company_id
     and r.equipment_id = u.equipment_id
     and r.reading_ts_utc >= u.start_ts_utc
    where r.reading_ts_utc < u.end_ts_utc
    union all
    -- only the readings of lines that have line-level units (usually none) enter this as-of join
    select u.unit_key, u.company_id, u.start_ts_utc, u.end_ts_utc,
           r.sensor_id, r.source_tag, r.tag_code, r.reading_ts_utc, r.value_si
    from (select * from {{ readings }}
          where (company_id, line_id) in (select company_id, line_id from {{ units }}
                                          where unit_kind = 'lot' and equipment_id is null and line_id is not null)) as r
    asof join (select * from {{ units }} where unit_kind = 'lot' and equipment_id is null and line_id is not null) as u
      on r.company_id = u.company_id
     and r.line_id = u.line_id
     and r.reading_ts_utc >= u.start_ts_utc
    where r.reading_ts_utc < u.end_ts_utc
    union all
    select u.unit_key, u.company_id, u.start_ts_utc, u.end_ts_utc,
           r.sensor_id, r.source_tag, r.tag_code, r.reading_ts_utc, r.value_si
    from (select * from {{ shot_readings or readings }} where sequence_id is not null) as r
    join (select * from {{ units }} where unit_kind = 'shot') as u
      on r.company_id = u.company_id
     and r.sequence_id = u.unit_id
    where r.reading_ts_utc < u.end_ts_utc
{%- endmacro %}

{#-
  Post-hook of unit_sensor_window_features: rows computed for a window that has changed since
  (a corrected lot, a shot with later readings, a unit that is gone) and that this build did not
  recompute - the unit has no readings in its new window, or no window at all. Only the rows
  ending where the replaced windows ended are looked at, so a build with no such change costs
  one small lookup.
-#}
{% macro delete_stale_window_features(versions) -%}
    {%- if execute and is_incremental() -%}
        {%- set found = run_query(
            "select strftime(min(replaced_end_ts_utc), '%Y-%m-%d %H:%M:%S.%f+00'), "
            ~ "strftime(max(replaced_end_ts_utc), '%Y-%m-%d %H:%M:%S.%f+00') from " ~ versions
            ~ " where replaced_end_ts_utc is not null and changed_at = (select max(changed_at) from " ~ versions ~ ")") -%}
        {%- if found.rows[0][0] is not none -%}
            delete from {{ this }} as f
            using {{ versions }} as v
            where v.unit_key = f.unit_key
              and v.changed_at > f._windows_as_of
              and f.end_ts_utc between timestamptz '{{ found.rows[0][0] }}' and timestamptz '{{ found.rows[0][1] }}'
        {%- else -%}
            select 1
        {%- endif -%}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#-
  What a build of the unit state and history features has seen, as columns of each row it writes:
  the bronze Delta versions of equipment events and inspections it read
  (int_*__deduplicated._bronze_version) and the latest change of unit windows
  (unit_window_versions.changed_at). Null outside a dbt build: the next build computes every unit.
-#}
{% macro history_seen() -%}
    {%- set events, inspections, windows = none, none, none -%}
    {%- if execute -%}
        {%- set events = bronze_rows_new_since('equipment_events').version -%}
        {%- set inspections = bronze_rows_new_since('quality_inspections').version -%}
        {%- set versions = ref('unit_window_versions') -%}
        {#- not built yet when dbt compiles without building (docs generate) -#}
        {%- if adapter.get_relation(database=versions.database, schema=versions.schema,
                                    identifier=versions.identifier) is not none -%}
            {%- set windows = run_query("select strftime(max(changed_at), '%Y-%m-%d %H:%M:%S.%f+00') from "
                                        ~ versions).rows[0][0] -%}
        {%- endif -%}
    {%- endif -%}
    cast({{ events if events is not none else 'null' }} as bigint) as _events_version,
    cast({{ inspections if inspections is not none else 'null' }} as bigint) as _inspections_version,
    {{ "timestamptz '" ~ windows ~ "'" if windows else "cast(null as timestamptz)" }} as _windows_as_of
{%- endmacro %}

{#-
  The units whose equipment state or line history an incremental build computes again: a unit's
  features depend only on events and inspections before its end and on its own window, so a
  change at time t on a company's history - an event or inspection taken since (a new day, a late
  upload, a corrected result), one that left with a superseded file version (ops.removed_history),
  or a unit window that changed (its old and new ends; the inspections' times of a unit that came
  or went) - changes at most
  the company's units that end after t; and a unit whose own window changed. SQL selecting
  unit_key, or none when every unit is computed (a full build, or what the table has seen is not
  known).
  `reads_inspections=false` (the equipment state): only events make a unit's history there, and
  other units' windows do not enter it, so new or removed inspections and other units' changed
  windows reach no unit. Without this, a per-shot client that reuses its shot ids every day (a
  window of weeks, moved each day) made every new day recompute the state of all its units since
  its first day.
  Returns {'units': SQL selecting unit_key, 'ends_from': a timestamptz literal no such unit ends
  before}, or none when every unit is computed (a full build, or what the table has seen is not
  known). The times a change starts at are looked up first and written into the SQL as literals:
  production_units' data files hold a build's units each, so the DuckLake reads only the files
  whose ends can be that late instead of every unit of history (per-shot clients: millions).
-#}
{% macro units_with_changed_history(reads_inspections=true) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set seen = run_query("select max(_events_version), max(_inspections_version), "
                             ~ "strftime(max(_windows_as_of), '%Y-%m-%d %H:%M:%S.%f+00') from " ~ this).rows[0] -%}
    {%- if seen[0] is none or seen[1] is none or seen[2] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set events, inspections = ref('int_equipment_events__deduplicated'), ref('int_quality_inspections__deduplicated') -%}
    {%- set versions, windows_seen = ref('unit_window_versions'), "timestamptz '" ~ seen[2] ~ "'" -%}
    {%- set removed = removed_history() -%}
    {%- set units -%}
        with changed_since as (
            select company_id, min(event_ts_utc) as since from {{ events }}
            where _bronze_version > {{ seen[0] }} group by company_id
            {%- if reads_inspections %}
            union all
            select company_id, min(inspected_at_utc) from {{ inspections }}
            where _bronze_version > {{ seen[1] }} group by company_id
            {%- endif %}
            {%- if removed is not none %}
            union all
            select company_id, min(earliest_ts_utc) from {{ removed.include(database=false) }}
            where (table_name = 'equipment_events' and bronze_version > {{ seen[0] }})
            {%- if reads_inspections %}
               or (table_name = 'quality_inspections' and bronze_version > {{ seen[1] }})
            {%- endif %}
            group by company_id
            {%- endif %}
            {%- if reads_inspections %}
            union all
            select company_id, least(min(end_ts_utc), min(replaced_end_ts_utc)) from {{ versions }}
            where changed_at > {{ windows_seen }} group by company_id
            union all
            -- a unit that came or went moves its inspections' time from their own to its end (or
            -- back); a changed window moves them only after the earlier of its two ends (above)
            select i.company_id, min(i.inspected_at_utc) from {{ inspections }} as i
            join {{ versions }} as v on v.unit_key = i.lot_key
            where v.changed_at > {{ windows_seen }}
              and (v.replaced_end_ts_utc is null or v.window_fingerprint is null)
            group by i.company_id
            {%- endif %}
        )
        select company_id, strftime(min(since), '%Y-%m-%d %H:%M:%S.%f+00') from changed_since
        where since is not null group by company_id
        union all
        -- units whose own window changed: null company, their earliest end
        select null, strftime(min(end_ts_utc), '%Y-%m-%d %H:%M:%S.%f+00') from {{ versions }}
        where changed_at > {{ windows_seen }} and window_fingerprint is not null
    {%- endset -%}
    {%- set changes_since = run_query(units).rows -%}
    {%- set per_company = [] -%}
    {%- set earliest = [] -%}
    {%- for company, since in changes_since if since is not none -%}
        {%- do earliest.append(since) -%}
        {%- if company is not none -%}
            {%- do per_company.append("(u.company_id = '" ~ (company | replace("'", "''")) ~ "' and u.end_ts_utc > timestamptz '"
                                      ~ since ~ "')") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set ends_from = "timestamptz '" ~ (earliest | min) ~ "'" if earliest else "timestamptz 'infinity'" -%}
    {%- set selected -%}
        select u.unit_key
        from {{ ref('production_units') }} as u
        where u.end_ts_utc >= {{ ends_from }}
          and ({{ per_company | join(' or ') if per_company else 'false' }})
        union
        select unit_key from {{ versions }}
        where changed_at > {{ windows_seen }} and window_fingerprint is not null
    {%- endset -%}
    {{ return({'units': selected, 'ends_from': ends_from}) }}
{%- endmacro %}

{#- Post-hook of the unit state and history features: rows of units that are gone leave. -#}
{% macro delete_gone_units() -%}
    {%- if execute and is_incremental() -%}
        {#- an anti join: `not in` is null-aware, and DuckDB marks every row of both tables for it -#}
        delete from {{ this }}
        where unit_key in (select f.unit_key from {{ this }} as f
                           anti join {{ ref('production_units') }} as p on p.unit_key = f.unit_key)
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
