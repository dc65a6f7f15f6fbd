with defect_types as (
    select defect_code, name_ko, name_en, category from {{ ref('defect_types') }}
),

final as (
    select
        cast(defect_code as varchar) as defect_code,
        cast(name_ko as varchar) as name_ko,
        cast(name_en as varchar) as name_en,
        cast(category as varchar) as category
    from defect_types
)

select * from final
