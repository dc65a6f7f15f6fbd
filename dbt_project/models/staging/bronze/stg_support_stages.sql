{#- Support stages from each company's latest registry load. -#}
with stages as (
    select
        trim(company_id) as company_id,
        lower(trim(stage)) as stage_code,
        cast(started as date) as started_on,
        cast(completed as date) as completed_on,
        cast(registry_loaded_at as timestamptz) as registry_loaded_at
    from {{ source('bronze', 'support_stages') }}
),

final as (
    select company_id, stage_code, started_on, completed_on, registry_loaded_at
    from stages
    qualify registry_loaded_at = max(registry_loaded_at) over (partition by company_id)
)

select * from final
