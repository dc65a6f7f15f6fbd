{#- KSIC industries: every manufacturing division and the finer codes clients use, with their
    division's name and the programme's grouping. -#}
with industries as (
    select industry_code, division_code, level, name_ko, name_en, programme_group, programme_group_ko,
           programme_group_en
    from {{ ref('industries') }}
),

divisions as (
    select industry_code as division_code, name_ko, name_en from industries where level = 'division'
),

final as (
    select
        cast(i.industry_code as varchar) as industry_code,
        cast(i.name_ko as varchar) as name_ko,
        cast(i.name_en as varchar) as name_en,
        cast(i.level as varchar) as level,
        cast(i.division_code as varchar) as division_code,
        cast(d.name_ko as varchar) as division_name_ko,
        cast(d.name_en as varchar) as division_name_en,
        cast(i.programme_group as varchar) as programme_group,
        cast(i.programme_group_ko as varchar) as programme_group_ko,
        cast(i.programme_group_en as varchar) as programme_group_en
    from industries as i
    left join divisions as d using (division_code)
)

select * from final
