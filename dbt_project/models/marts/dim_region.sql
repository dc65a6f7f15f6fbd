with regions as (
    select region_code, name_ko, name_en, province_ko from {{ ref('regions') }}
),

final as (
    select
        cast(region_code as varchar) as region_code,
        cast(name_ko as varchar) as name_ko,
        cast(name_en as varchar) as name_en,
        cast(province_ko as varchar) as province_ko
    from regions
)

select * from final
