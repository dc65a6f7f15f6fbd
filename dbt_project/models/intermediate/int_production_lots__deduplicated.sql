{#- One row per lot_key: a lot re-sent by a later file replaces the earlier row (latest ingest, then latest file). -#}
with lots as (
    select * from {{ ref('stg_production_lots') }}
),

final as (
    select *
    from lots
    qualify row_number() over (
        partition by lot_key
        order by {{ latest_ingest_first() }}
    ) = 1
)

select * from final
