{#-
  One row per work order (company, order id): the latest ingest's row, with what has shipped so
  far from fct_shipments (shipments, quantity shipped in the order's unit, first and last date).
-#}
with latest as (
    select *
    from {{ ref('stg_work_orders') }}
    qualify row_number() over (partition by work_order_key order by {{ latest_ingest_first() }}) = 1
),

shipped as (
    select work_order_key, count(*) as shipments, sum(quantity) as shipped_quantity,
           min(shipped_at_kst) as first_shipped_at_kst, max(shipped_at_kst) as last_shipped_at_kst
    from {{ ref('fct_shipments') }}
    group by work_order_key
),

final as (
    select
        cast(o.work_order_key as varchar) as work_order_key,
        cast(o.company_id as varchar) as company_id,
        cast(o.company_id as varchar) as site_id,
        cast(o.line_id as varchar) as line_id,
        cast(o.order_id as varchar) as order_id,
        cast(o.product_code as varchar) as product_code,
        cast(o.ordered_at_utc as timestamptz) as ordered_at_utc,
        cast(o.ordered_at_kst as timestamp) as ordered_at_kst,
        cast(o.due_at_utc as timestamptz) as due_at_utc,
        cast(o.due_at_kst as timestamp) as due_at_kst,
        cast(o.quantity as double) as quantity,
        cast(o.quantity_unit as varchar) as quantity_unit,
        cast(coalesce(s.shipments, 0) as bigint) as shipments,
        cast(coalesce(s.shipped_quantity, 0) as double) as shipped_quantity,
        cast(o.quantity - coalesce(s.shipped_quantity, 0) as double) as remaining_quantity,
        cast(s.first_shipped_at_kst as timestamp) as first_shipped_at_kst,
        cast(s.last_shipped_at_kst as timestamp) as last_shipped_at_kst,
        cast(o.source_file as varchar) as source_file,
        cast(o.source_row as bigint) as source_row
    from latest as o
    left join shipped as s using (work_order_key)
)

select * from final
