{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='unit_key',
        on_schema_change='append_new_columns',
        post_hook=["{{ delete_gone_units() }}"]
    )
}}
-- depends_on: {{ ref('unit_window_versions') }}
-- depends_on: {{ ref('int_equipment_events__deduplicated') }}
-- depends_on: {{ ref('int_quality_inspections__deduplicated') }}
{#-
  Equipment state during a unit's window: run/stop/alarm events of the unit's equipment (or of
  its line's equipment when the unit names none). An event's state lasts until the equipment's
  next event, cut at the unit's end, so an event at or after the end changes nothing; the state
  in force when the unit started counts from the start.
  Computed from running totals per equipment (events so far, seconds in each state so far) read
  at the window's start and end by as-of joins: the cost grows with units plus events, never with
  their product (a shot id a client reuses every day has a window of weeks). Of events at the
  same instant only the last one's state lasts; all of them count as events. Seconds are summed
  in whole microseconds, so the totals do not depend on the order they are added in.
  A normal build computes again only the units a change of events since its last build can
  reach, and the units whose own window changed (macros/unit_windows.sql:
  units_with_changed_history), from the events since the last one before the earliest of them:
  a new day costs about a day's units and events.
  `--full-refresh` computes every unit the same way.
-#}
{%- set recompute = units_with_changed_history(reads_inspections=false) if execute and is_incremental() else none %}
with units as (
    select unit_key, company_id, line_id, equipment_id, start_ts_utc, end_ts_utc
    from {{ ref('production_units') }}
    {%- if recompute %}
    where end_ts_utc >= {{ recompute.ends_from }} and unit_key in ({{ recompute.units }})
    {%- endif %}
),

{%- if recompute %}
since as (
    -- the earliest start among the units computed again, per company
    select company_id, min(start_ts_utc) as since from units group by company_id
),

carried_in as (
    -- per equipment, the earliest of its lines' last events at or before that start. The events
    -- from there on are a whole suffix of each equipment's (and each line's) sequence holding the
    -- state in force at every such unit's start; the running totals below start there, and a
    -- unit only ever reads them as differences between its end and its start
    select company_id, equipment_id, min(last_ts_utc) as from_ts_utc
    from (select e.company_id, e.equipment_id, e.line_id, max(e.event_ts_utc) as last_ts_utc
          from {{ ref('fct_equipment_events') }} as e
          join since as s on s.company_id = e.company_id and e.event_ts_utc <= s.since
          where e.equipment_id is not null
          group by e.company_id, e.equipment_id, e.line_id)
    group by company_id, equipment_id
),
{%- endif %}

events as (
    select
        e.company_id, e.line_id, e.equipment_id, e.event_type, e.event_ts_utc,
        lead(e.event_ts_utc) over (
            partition by e.company_id, e.equipment_id order by e.event_ts_utc, e.event_type, e.event_key
        ) as next_event_ts_utc
    from {{ ref('fct_equipment_events') }} as e
    {%- if recompute %}
    semi join since as s on s.company_id = e.company_id
    left join carried_in as c on c.company_id = e.company_id and c.equipment_id = e.equipment_id
    {%- endif %}
    where e.equipment_id is not null and e.event_ts_utc is not null
    {%- if recompute %}
      -- an equipment with no event before the earliest start: all of its events
      and e.event_ts_utc >= coalesce(c.from_ts_utc, timestamptz '-infinity')
    {%- endif %}
),

unit_equipment as (
    -- a unit on its equipment reads every event of it (scope '': any line); a unit naming
    -- none reads its line's events on each equipment that has some
    select unit_key, company_id, '' as scope_line_id, equipment_id, start_ts_utc, end_ts_utc
    from units
    where equipment_id is not null
    union all
    select u.unit_key, u.company_id, u.line_id as scope_line_id, l.equipment_id, u.start_ts_utc, u.end_ts_utc
    from units as u
    join (select distinct company_id, line_id, equipment_id from events where line_id is not null) as l
      on l.company_id = u.company_id and l.line_id = u.line_id
    where u.equipment_id is null
),

scoped_events as (
    -- the events once for units on the equipment, once more for units on its line
    select *, '' as scope_line_id from events
    union all
    select *, line_id as scope_line_id from events
    where line_id is not null
      and (company_id, line_id) in (select company_id, line_id from units where equipment_id is null)
),

event_counts as (
    -- events so far at each instant (ties counted together, so an as-of match never splits them)
    select company_id, equipment_id, scope_line_id, event_ts_utc,
           {{ running_integer_sum("count(*) filter (where event_type = 'stop')", 'running') }} as stops_so_far,
           {{ running_integer_sum("count(*) filter (where event_type = 'alarm')", 'running') }} as alarms_so_far
    from scoped_events
    group by company_id, equipment_id, scope_line_id, event_ts_utc
    window running as (partition by company_id, equipment_id, scope_line_id order by event_ts_utc
                       rows unbounded preceding)
),

states as (
    -- the last event of each instant starts a state that lasts until the equipment's next event;
    -- the seconds in each state before it
    select company_id, equipment_id, scope_line_id, event_type, event_ts_utc, next_event_ts_utc,
           coalesce({{ running_integer_sum("case when event_type = 'stop' then duration_us end", 'before') }}, 0) as stop_us_before,
           coalesce({{ running_integer_sum("case when event_type = 'alarm' then duration_us end", 'before') }}, 0) as alarm_us_before
    from (
        select *, epoch_us(next_event_ts_utc) - epoch_us(event_ts_utc) as duration_us
        from scoped_events
        where next_event_ts_utc is null or next_event_ts_utc > event_ts_utc
    ) as lasting
    window before as (partition by company_id, equipment_id, scope_line_id order by event_ts_utc
                      rows between unbounded preceding and 1 preceding)
),

{% for edge in ('start', 'end') %}
{#- on a line's scope a later event of another line may have ended the state before the edge -#}
{%- set until_edge = "epoch_us(least(u." ~ edge ~ "_ts_utc, coalesce(s.next_event_ts_utc, u." ~ edge ~ "_ts_utc)))"
                     ~ " - epoch_us(s.event_ts_utc)" %}
at_{{ edge }} as (
    -- the state in force at the window's {{ edge }}, and the time spent in each state up to it
    select u.unit_key, u.equipment_id,
           s.event_type = 'stop' and s.event_ts_utc = u.{{ edge }}_ts_utc as stop_starts_at,
           s.event_type = 'alarm' and s.event_ts_utc = u.{{ edge }}_ts_utc as alarm_starts_at,
           coalesce(s.stop_us_before, 0) + case when s.event_type = 'stop'
               then {{ until_edge }} else 0 end as stop_us,
           coalesce(s.alarm_us_before, 0) + case when s.event_type = 'alarm'
               then {{ until_edge }} else 0 end as alarm_us
    from unit_equipment as u
    asof left join states as s
      on s.company_id = u.company_id and s.equipment_id = u.equipment_id
     and s.scope_line_id = u.scope_line_id
     and u.{{ edge }}_ts_utc >= s.event_ts_utc
),

{% endfor %}
{% for edge, inclusive in (('start', true), ('end', false)) %}
counts_at_{{ edge }} as (
    -- events at or before the start; strictly before the end
    select u.unit_key, u.equipment_id, coalesce(c.stops_so_far, 0) as stops, coalesce(c.alarms_so_far, 0) as alarms
    from unit_equipment as u
    asof left join event_counts as c
      on c.company_id = u.company_id and c.equipment_id = u.equipment_id
     and c.scope_line_id = u.scope_line_id
     and u.{{ edge }}_ts_utc {{ '>=' if inclusive else '>' }} c.event_ts_utc
),

{% endfor %}
per_equipment as (
    -- events inside [start, end): those after the start and before the end, and the state that
    -- begins exactly at the start
    select
        s.unit_key,
        ce.stops - cs.stops + case when s.stop_starts_at then 1 else 0 end as stop_events,
        ce.alarms - cs.alarms + case when s.alarm_starts_at then 1 else 0 end as alarm_events,
        e.stop_us - s.stop_us as stop_us,
        e.alarm_us - s.alarm_us as alarm_us
    from at_start as s
    join at_end as e using (unit_key, equipment_id)
    join counts_at_start as cs using (unit_key, equipment_id)
    join counts_at_end as ce using (unit_key, equipment_id)
),

final as (
    select
        u.unit_key,
        cast(coalesce(sum(p.stop_events), 0) as bigint) as stop_events,
        cast(coalesce(sum(p.alarm_events), 0) as bigint) as alarm_events,
        coalesce(sum(p.stop_us), 0) / 1e6 as stop_s,
        coalesce(sum(p.alarm_us), 0) / 1e6 as alarm_s,
        {{ history_seen() }}
    from units as u
    left join per_equipment as p using (unit_key)
    group by u.unit_key
)

select * from final
