{#- One row per event_key: a re-export of the same events replaces the earlier rows. -#}
with events as (
    select * from {{ ref('stg_equipment_events') }}
),

final as (
    select *
    from events
    qualify row_number() over (
        partition by event_key
        order by {{ latest_ingest_first() }}
    ) = 1
)

select * from final
