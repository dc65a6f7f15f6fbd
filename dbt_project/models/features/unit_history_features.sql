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
  History of a unit's line as it was known when the unit ended: only inspection results timestamped
  strictly before the unit's end (a result that arrives later, or a correction, never changes an
  earlier unit's history), and only events strictly before it. Defect rates over the previous 7 and
  30 days come from cumulative counts per line taken by as-of joins (scales to per-shot units
  without a self-join).
  A normal build computes again only the units a change of history since its last build can
  reach (macros/unit_windows.sql: units_with_changed_history): a new day costs about a day's
  units. The running counts are taken over only what those units can read: per company, the
  label times from 30 days before the earliest of their ends on, and on each line the last five
  before that (the previous unit's and previous five's outcomes, and the as-of matches 7 and 30
  days back, all lie there). Counts are read as differences, so where they start does not
  matter, and a new day no longer sorts a line's whole history. `--full-refresh` computes every
  unit the same way (its horizon is before the first label).
-#}
{%- set recompute = units_with_changed_history() if execute and is_incremental() else none %}
with units as (
    select unit_key, company_id, line_id, equipment_id, end_ts_utc
    from {{ ref('production_units') }}
    {%- if recompute %}
    where end_ts_utc >= {{ recompute.ends_from }} and unit_key in ({{ recompute.units }})
    {%- endif %}
),

inspections as (
    -- a result is known at its own time, but never before its unit ended (a per-shot table records
    -- a shot's PassOrFail at the shot's own time: it must not count in that shot's history)
    select i.company_id, coalesce(u.line_id, i.line_id) as line_id,
           greatest(i.inspected_at_utc, coalesce(u.end_ts_utc, i.inspected_at_utc)) as inspected_at_utc,
           i.is_defect
    from {{ ref('fct_quality_inspections') }} as i
    left join {{ ref('production_units') }} as u on u.unit_key = i.lot_key
    where i.inspected_at_utc is not null and i.is_defect is not null
),

all_labels_by_time as (
    -- results arriving at the same instant count together, so an as-of match never splits them
    select company_id, line_id, inspected_at_utc as label_ts_utc,
           count(*) as labelled,
           count(*) filter (where is_defect) as defective
    from inspections
    where company_id in (select company_id from units)
    group by company_id, line_id, inspected_at_utc
),

horizon as (
    -- nothing before this is read by a unit computed here, except a line's last five labels
    select company_id, min(end_ts_utc) - interval 30 day as horizon_ts_utc from units group by company_id
),

last_five_before_horizon as (
    select l.company_id, l.line_id, unnest(max(l.label_ts_utc, 5)) as label_ts_utc
    from all_labels_by_time as l
    join horizon as h on h.company_id = l.company_id and l.label_ts_utc < h.horizon_ts_utc
    group by l.company_id, l.line_id
),

labels_by_time as (
    select l.*
    from all_labels_by_time as l
    join horizon as h on h.company_id = l.company_id
    where l.label_ts_utc >= h.horizon_ts_utc
    union all
    select l.*
    from all_labels_by_time as l
    semi join last_five_before_horizon as f
      on f.company_id = l.company_id and f.line_id is not distinct from l.line_id and f.label_ts_utc = l.label_ts_utc
),

cumulative as (
    select
        company_id, line_id, label_ts_utc, labelled, defective,
        {{ running_integer_sum('labelled', 'w') }} as cum_labelled,
        {{ running_integer_sum('defective', 'w') }} as cum_defective,
        {{ running_integer_sum('labelled', 'last_five') }} as recent_labelled,
        {{ running_integer_sum('defective', 'last_five') }} as recent_defective
    from labels_by_time
    window w as (partition by company_id, line_id order by label_ts_utc rows unbounded preceding),
           last_five as (partition by company_id, line_id order by label_ts_utc rows 4 preceding)
),

as_of_end as (
    select u.unit_key, c.cum_labelled, c.cum_defective, c.defective, c.labelled,
           c.recent_labelled, c.recent_defective
    from units as u
    asof left join cumulative as c
      on u.company_id = c.company_id and u.line_id is not distinct from c.line_id
     and u.end_ts_utc > c.label_ts_utc
),

{% for days in (7, 30) %}
as_of_{{ days }}d as (
    -- cumulative counts as they stood {{ days }} days before the end: subtracted, they leave the window
    select u.unit_key, c.cum_labelled, c.cum_defective
    from units as u
    asof left join cumulative as c
      on u.company_id = c.company_id and u.line_id is not distinct from c.line_id
     and u.end_ts_utc - interval {{ days }} day >= c.label_ts_utc
),
{% endfor %}
events as (
    select company_id, line_id, equipment_id, event_type, event_ts_utc
    from {{ ref('fct_equipment_events') }}
    where event_ts_utc is not null and event_type in ('stop', 'alarm')
),

{% for kind in ('alarm', 'stop') %}
last_{{ kind }} as (
    -- the latest {{ kind }} before the end on the unit's equipment, or on its line when it names none
    -- (as-of joins: one probe per unit, however long the history)
    select u.unit_key, e.event_ts_utc as last_{{ kind }}_ts_utc
    from (select * from units where equipment_id is not null) as u
    asof join (select * from events where event_type = '{{ kind }}') as e
      on e.company_id = u.company_id and e.equipment_id = u.equipment_id and u.end_ts_utc > e.event_ts_utc
    union all
    select u.unit_key, e.event_ts_utc as last_{{ kind }}_ts_utc
    from (select * from units where equipment_id is null) as u
    asof join (select * from events where event_type = '{{ kind }}') as e
      on e.company_id = u.company_id and e.line_id = u.line_id and u.end_ts_utc > e.event_ts_utc
),

{% endfor %}
final as (
    select
        u.unit_key,
        coalesce(n.cum_labelled, 0) - coalesce(w7.cum_labelled, 0) as line_labelled_7d,
        (coalesce(n.cum_defective, 0) - coalesce(w7.cum_defective, 0))
            / nullif(coalesce(n.cum_labelled, 0) - coalesce(w7.cum_labelled, 0), 0) as line_defect_rate_7d,
        coalesce(n.cum_labelled, 0) - coalesce(w30.cum_labelled, 0) as line_labelled_30d,
        (coalesce(n.cum_defective, 0) - coalesce(w30.cum_defective, 0))
            / nullif(coalesce(n.cum_labelled, 0) - coalesce(w30.cum_labelled, 0), 0) as line_defect_rate_30d,
        n.defective / nullif(n.labelled, 0) as previous_unit_defect,
        n.recent_defective / nullif(n.recent_labelled, 0) as previous_5_defect_rate,
        epoch(u.end_ts_utc) - epoch(la.last_alarm_ts_utc) as seconds_since_alarm,
        epoch(u.end_ts_utc) - epoch(ls.last_stop_ts_utc) as seconds_since_stop,
        {{ history_seen() }}
    from units as u
    left join as_of_end as n using (unit_key)
    left join as_of_7d as w7 using (unit_key)
    left join as_of_30d as w30 using (unit_key)
    left join last_alarm as la using (unit_key)
    left join last_stop as ls using (unit_key)
)

select * from final
