{#- One row per shipment (order, shipment number); a shipment re-sent by a later file replaces the earlier row. -#}
with latest as (
    select *
    from {{ ref('stg_shipments') }}
    qualify row_number() over (partition by shipment_key order by {{ latest_ingest_first() }}) = 1
),

final as (
    select
        cast(shipment_key as varchar) as shipment_key,
        cast(work_order_key as varchar) as work_order_key,
        cast(company_id as varchar) as company_id,
        cast(order_id as varchar) as order_id,
        cast(shipment_no as integer) as shipment_no,
        cast(shipped_at_utc as timestamptz) as shipped_at_utc,
        cast(shipped_at_kst as timestamp) as shipped_at_kst,
        cast(cast(shipped_at_kst as date) as date) as shipped_date_kst,
        cast(quantity as double) as quantity,
        cast(quantity_unit as varchar) as quantity_unit,
        cast(source_file as varchar) as source_file,
        cast(source_row as bigint) as source_row
    from latest
)

select * from final
