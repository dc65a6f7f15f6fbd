with industries as (
    select industry_code, name_ko, name_en from {{ ref('industries') }}
),

final as (
    select
        cast(industry_code as varchar) as industry_code,
        cast(name_ko as varchar) as name_ko,
        cast(name_en as varchar) as name_en
    from industries
)

select * from final
