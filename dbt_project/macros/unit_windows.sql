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
