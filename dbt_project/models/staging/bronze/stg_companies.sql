{#- The registry as of its latest load: one row per company. -#}
with companies as (
    select
        trim(company_id) as company_id,
        trim(name_ko) as name_ko,
        trim(name_en) as name_en,
        lower(trim(region)) as region_code,
        lower(trim(industry)) as industry_code,  -- a KSIC code (text: '10', '20423')
        lower(trim(size_band)) as size_band,
        cast(cohort_year as integer) as cohort_year,
        cast(registry_loaded_at as timestamptz) as registry_loaded_at
    from {{ source('bronze', 'companies') }}
),

final as (
    select company_id, name_ko, name_en, region_code, industry_code, size_band, cohort_year, registry_loaded_at
    from companies
    qualify row_number() over (partition by company_id order by registry_loaded_at desc) = 1
)

select * from final
