{#-
  Equipment state during a unit's window: run/stop/alarm events of the unit's equipment (or of
  its line's equipment when the unit names none). An event's state lasts until the equipment's
  next event, cut at the unit's end, so an event at or after the end changes nothing; the state
  in force when the unit started counts from the start.
-#}
with units as (
    select unit_key, company_id, line_id, equipment_id, start_ts_utc, end_ts_utc
    from {{ ref('production_units') }}
),

events as (
    select
        company_id, line_id, equipment_id, event_type, event_ts_utc,
        lead(event_ts_utc) over (
            partition by company_id, equipment_id order by event_ts_utc, event_type, event_key
        ) as next_event_ts_utc
    from {{ ref('fct_equipment_events') }}
    where equipment_id is not null and event_ts_utc is not null
),

overlapping as (
    select
        u.unit_key, e.event_type, e.event_ts_utc,
        u.start_ts_utc <= e.event_ts_utc as inside,
        epoch(least(coalesce(e.next_event_ts_utc, u.end_ts_utc), u.end_ts_utc))
            - epoch(greatest(e.event_ts_utc, u.start_ts_utc)) as state_s
    from units as u
    join events as e
      on e.company_id = u.company_id
     and (e.equipment_id = u.equipment_id or (u.equipment_id is null and e.line_id = u.line_id))
     and e.event_ts_utc < u.end_ts_utc
     and (e.next_event_ts_utc is null or e.next_event_ts_utc > u.start_ts_utc)
),

final as (
    select
        u.unit_key,
        count(o.unit_key) filter (where o.inside and o.event_type = 'stop') as stop_events,
        count(o.unit_key) filter (where o.inside and o.event_type = 'alarm') as alarm_events,
        coalesce(sum(greatest(o.state_s, 0)) filter (where o.event_type = 'stop'), 0) as stop_s,
        coalesce(sum(greatest(o.state_s, 0)) filter (where o.event_type = 'alarm'), 0) as alarm_s
    from units as u
    left join overlapping as o using (unit_key)
    group by u.unit_key
)

select * from final
