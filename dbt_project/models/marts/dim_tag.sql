with tags as (
    select tag_code, name_ko, name_en, quantity, si_unit, plausible_min, plausible_max
    from {{ ref('tag_dictionary') }}
),

final as (
    select
        cast(tag_code as varchar) as tag_code,
        cast(name_ko as varchar) as name_ko,
        cast(name_en as varchar) as name_en,
        cast(quantity as varchar) as quantity,
        cast(si_unit as varchar) as si_unit,
        cast(plausible_min as double) as plausible_min,
        cast(plausible_max as double) as plausible_max
    from tags
)

select * from final
