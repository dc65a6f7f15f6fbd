{#- MES work orders as landed: labels trimmed, UTC and KST times, quantity with its unit. Not deduplicated. -#}
with orders as (
    select
        trim(company_id) as company_id,
        nullif(trim(line_id), '') as line_id,
        trim(order_id) as order_id,
        nullif(trim(product_code), '') as product_code,
        cast(ordered_at as timestamptz) as ordered_at_utc,
        cast(due_at as timestamptz) as due_at_utc,
        cast(quantity as double) as quantity,
        coalesce(nullif(trim(quantity_unit), ''), 'ea') as quantity_unit,
        _source_file as source_file,
        cast(_source_row as bigint) as source_row,
        _source_hash as source_hash,
        cast(_ingested_at as timestamptz) as ingested_at
    from {{ admitted_bronze('work_orders') }}
),

final as (
    select
        {{ surrogate_key(['company_id', 'order_id']) }} as work_order_key,
        *,
        {{ to_kst('ordered_at_utc') }} as ordered_at_kst,
        {{ to_kst('due_at_utc') }} as due_at_kst
    from orders
)

select * from final
