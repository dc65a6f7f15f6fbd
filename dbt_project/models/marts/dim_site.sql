{#- ISA-95 site: each client runs one plant today, identified by its company_id. -#}
with companies as (
    select company_id, name_ko, name_en, region_code from {{ ref('stg_companies') }}
),

final as (
    select
        cast(company_id as varchar) as site_id,
        cast(company_id as varchar) as company_id,
        cast(name_ko || ' 공장' as varchar) as name_ko,
        cast(name_en || ' plant' as varchar) as name_en,
        cast(region_code as varchar) as region_code
    from companies
)

select * from final
