{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook=["{{ delete_recomputed_state_intervals() }}"]
    )
}}
{#-
  Equipment state intervals, cut at KST midnights. Each event (run | stop | alarm) starts a state
  that lasts until the equipment's next event; the last known state lasts until the end of its
  KST day (after that the state is unknown). One row per (event, KST day) piece.
  A normal build computes again only each equipment's intervals from its last event before the
  earliest event taken or removed since its last build (macros/state_intervals.sql): a new event
  ends the state before it, and nothing earlier changes. `--full-refresh` computes them all.
-#}
{%- set recompute = state_intervals_recomputed_from() if execute and is_incremental() else none %}
with events as (
    select e.company_id, e.line_id, e.equipment_id, e.event_ts_utc, e.event_type, e.event_key
    from {{ ref('int_equipment_events__deduplicated') }} as e
    {%- if recompute %}
    join ({{ recompute }}) as r
      on r.company_id = e.company_id and r.equipment_id = e.equipment_id and e.event_ts_utc >= r.from_ts_utc
    {%- endif %}
    where e.equipment_id is not null and e.event_ts_utc is not null
),

ordered as (
    select
        *,
        lead(event_ts_utc) over (
            partition by company_id, equipment_id order by event_ts_utc, event_type, event_key
        ) as next_event_utc
    from events
),

bounded as (
    select
        event_key, company_id, line_id, equipment_id, event_type as state,
        event_ts_utc as start_utc,
        coalesce(
            next_event_utc,
            timezone('Asia/Seoul', cast(cast({{ to_kst('event_ts_utc') }} as date) + 1 as timestamp))
        ) as end_utc
    from ordered
),

days as (
    select
        *,
        cast(unnest(generate_series(
            cast({{ to_kst('start_utc') }} as date),
            cast({{ to_kst('end_utc - interval 1 microsecond') }} as date),
            interval 1 day
        )) as date) as date_kst
    from bounded
    where end_utc > start_utc
),

pieces as (
    select
        *,
        greatest(start_utc, timezone('Asia/Seoul', cast(date_kst as timestamp))) as piece_start_utc,
        least(end_utc, timezone('Asia/Seoul', cast(date_kst + 1 as timestamp))) as piece_end_utc
    from days
),

final as (
    select
        {{ surrogate_key(['event_key', 'date_kst']) }} as interval_key,
        company_id,
        line_id,
        equipment_id,
        state,
        date_kst,
        piece_start_utc as start_utc,
        piece_end_utc as end_utc,
        cast(epoch(piece_end_utc) - epoch(piece_start_utc) as double) as duration_s,
        {%- set events_version = bronze_rows_new_since('equipment_events').version %}
        cast({{ events_version if events_version is not none else 'null' }} as bigint) as _events_version
    from pieces
)

select * from final
