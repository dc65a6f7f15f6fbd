{#-
  Where an incremental build of int_equipment_state_intervals starts computing again, one row per
  equipment whose events changed since the table's last build (SQL: company_id, equipment_id,
  from_ts_utc), or none when every interval is computed (a full build, or the table's build is not
  known). An event taken since (int_equipment_events__deduplicated._bronze_version above the
  table's `_events_version`) ends the state of the event before it, and an event that left with a
  superseded file version (ops.removed_history) lengthens it: the equipment's intervals are
  computed again from its last event before the earliest such change (ties included). Intervals
  of earlier events end at or before it, so they stay as they are.
-#}
{% macro state_intervals_recomputed_from() -%}
    {%- set seen = run_query("select max(_events_version) from " ~ this).rows[0][0] -%}
    {%- if seen is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set events = ref('int_equipment_events__deduplicated') -%}
    {%- set removed = removed_history() -%}
    {%- set changes -%}
        with changed as (
            select company_id, equipment_id, min(event_ts_utc) as since
            from {{ events }}
            where (_bronze_version > {{ seen }} or _bronze_version is null)
              and equipment_id is not null and event_ts_utc is not null
            group by all
            {%- if removed is not none %}
            union all
            -- a removed event may have been on any of the company's equipment, now or before
            select e.company_id, e.equipment_id, r.since
            from (select company_id, min(earliest_ts_utc) as since from {{ removed.include(database=false) }}
                  where table_name = 'equipment_events' and bronze_version > {{ seen }}
                  group by company_id) as r
            join (select company_id, equipment_id from {{ events }} where equipment_id is not null
                  union
                  select company_id, equipment_id from {{ this }}) as e using (company_id)
            {%- endif %}
        ),
        earliest as (
            select company_id, equipment_id, min(since) as since from changed group by all
        )
        select c.company_id, c.equipment_id,
               coalesce(max(e.event_ts_utc), timestamptz '-infinity') as from_ts_utc
        from earliest as c
        left join {{ events }} as e
          on e.company_id = c.company_id and e.equipment_id = c.equipment_id and e.event_ts_utc < c.since
        group by c.company_id, c.equipment_id
    {%- endset -%}
    {{ return(changes) }}
{%- endmacro %}

{#- Pre-hook: the intervals an incremental build computes again leave first. -#}
{% macro delete_recomputed_state_intervals() -%}
    {%- set recompute = state_intervals_recomputed_from() if execute and is_incremental() else none -%}
    {%- if execute and is_incremental() -%}
        delete from {{ this }} as i
        {%- if recompute %}
        using ({{ recompute }}) as r
        where r.company_id = i.company_id and r.equipment_id = i.equipment_id and i.start_utc >= r.from_ts_utc
        {%- endif %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
