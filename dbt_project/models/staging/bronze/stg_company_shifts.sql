{#- Each company's own shifts as of the registry load that is current for the company. -#}
with shifts as (
    select
        trim(company_id) as company_id,
        trim(shift_code) as shift_code,
        trim(name_ko) as name_ko,
        trim(name_en) as name_en,
        cast(start_time_kst as time) as start_time_kst,
        cast(end_time_kst as time) as end_time_kst,
        cast(registry_loaded_at as timestamptz) as registry_loaded_at
    from {{ source('bronze', 'company_shifts') }}
),

final as (
    select s.company_id, s.shift_code, s.name_ko, s.name_en, s.start_time_kst, s.end_time_kst, s.registry_loaded_at
    from shifts as s
    {# a company whose latest load dropped its shifts goes back to the default pattern #}
    semi join {{ ref('stg_companies') }} as c
      on c.company_id = s.company_id and c.registry_loaded_at = s.registry_loaded_at
)

select * from final
