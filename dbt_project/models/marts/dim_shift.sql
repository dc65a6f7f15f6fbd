{#- Work shifts per company; company_id '*' is the default pattern for every other company. -#}
with shifts as (
    select company_id, shift_code, name_ko, name_en, start_time_kst, end_time_kst from {{ ref('shifts') }}
),

final as (
    select
        cast(company_id as varchar) as company_id,
        cast(shift_code as varchar) as shift_code,
        cast(name_ko as varchar) as name_ko,
        cast(name_en as varchar) as name_en,
        cast(start_time_kst as time) as start_time_kst,
        cast(end_time_kst as time) as end_time_kst,
        cast(end_time_kst <= start_time_kst as boolean) as crosses_midnight
    from shifts
)

select * from final
