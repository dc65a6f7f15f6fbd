{#- Companies in the registry per city/county and industry (참여기업). -#}
with companies as (
    select region_code, region_name_ko, industry_code, industry_name_ko, company_id
    from {{ ref('dim_company') }}
),

final as (
    select
        cast(region_code as varchar) as region_code,
        cast(region_name_ko as varchar) as region_name_ko,
        cast(industry_code as varchar) as industry_code,
        cast(industry_name_ko as varchar) as industry_name_ko,
        cast(count(*) as bigint) as companies
    from companies
    group by region_code, region_name_ko, industry_code, industry_name_ko
)

select * from final
