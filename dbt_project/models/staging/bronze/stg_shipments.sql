{#- Shipments as landed, one row per order and shipment number (1차, 2차 ...). Not deduplicated. -#}
with shipments as (
    select
        trim(company_id) as company_id,
        trim(order_id) as order_id,
        cast(shipment_no as integer) as shipment_no,
        cast(shipped_at as timestamptz) as shipped_at_utc,
        cast(quantity as double) as quantity,
        coalesce(nullif(trim(quantity_unit), ''), 'ea') as quantity_unit,
        _source_file as source_file,
        cast(_source_row as bigint) as source_row,
        _source_hash as source_hash,
        cast(_ingested_at as timestamptz) as ingested_at
    from {{ admitted_bronze('shipments') }}
),

final as (
    select
        {{ surrogate_key(['company_id', 'order_id', 'shipment_no']) }} as shipment_key,
        {{ surrogate_key(['company_id', 'order_id']) }} as work_order_key,
        *,
        {{ to_kst('shipped_at_utc') }} as shipped_at_kst
    from shipments
)

select * from final
