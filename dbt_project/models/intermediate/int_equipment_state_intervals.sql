{#-
  Equipment state intervals, cut at KST midnights. Each event (run | stop | alarm) starts a state
  that lasts until the equipment's next event; the last known state lasts until the end of its
  KST day (after that the state is unknown). One row per (event, KST day) piece.
-#}
with events as (
    select company_id, line_id, equipment_id, event_ts_utc, event_type, event_key
    from {{ ref('int_equipment_events__deduplicated') }}
    where equipment_id is not null and event_ts_utc is not null
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
        cast(epoch(piece_end_utc) - epoch(piece_start_utc) as double) as duration_s
    from pieces
)

select * from final
