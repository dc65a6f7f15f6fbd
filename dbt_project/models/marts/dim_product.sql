with lots as (
    select company_id, product_code, quantity, production_date_kst from {{ ref('fct_production_lots') }}
    where product_code is not null
),

final as (
    select
        cast({{ surrogate_key(['company_id', 'product_code']) }} as varchar) as product_key,
        cast(company_id as varchar) as company_id,
        cast(product_code as varchar) as product_code,
        cast(count(*) as bigint) as lots,
        cast(sum(quantity) as double) as quantity_produced,
        cast(min(production_date_kst) as date) as first_production_date_kst,
        cast(max(production_date_kst) as date) as last_production_date_kst
    from lots
    group by company_id, product_code
)

select * from final
