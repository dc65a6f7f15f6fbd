with companies as (
    select * from {{ ref('stg_companies') }}
),

regions as (
    select region_code, name_ko, name_en from {{ ref('regions') }}
),

industries as (
    select industry_code, name_ko, name_en, division_code, programme_group, programme_group_ko
    from {{ ref('dim_industry') }}
),

stage_names as (
    select stage_code, name_ko, stage_order from {{ ref('support_stages') }}
),

current_stage as (
    -- the most advanced stage that has started (ties: the later start)
    select s.company_id, s.stage_code, n.name_ko
    from {{ ref('stg_support_stages') }} as s
    left join stage_names as n using (stage_code)
    where s.started_on is not null
    qualify row_number() over (
        partition by s.company_id order by n.stage_order desc nulls last, s.started_on desc
    ) = 1
),

final as (
    select
        cast(c.company_id as varchar) as company_id,
        cast(c.name_ko as varchar) as name_ko,
        cast(c.name_en as varchar) as name_en,
        cast(c.region_code as varchar) as region_code,
        cast(r.name_ko as varchar) as region_name_ko,
        cast(r.name_en as varchar) as region_name_en,
        cast(c.industry_code as varchar) as industry_code,
        cast(i.name_ko as varchar) as industry_name_ko,
        cast(i.name_en as varchar) as industry_name_en,
        cast(i.division_code as varchar) as industry_division_code,
        cast(i.programme_group as varchar) as programme_group,
        cast(i.programme_group_ko as varchar) as programme_group_ko,
        cast(c.size_band as varchar) as size_band,
        cast(c.cohort_year as integer) as cohort_year,
        cast(s.stage_code as varchar) as current_stage,
        cast(s.name_ko as varchar) as current_stage_name_ko
    from companies as c
    left join regions as r using (region_code)
    left join industries as i using (industry_code)
    left join current_stage as s using (company_id)
)

select * from final
