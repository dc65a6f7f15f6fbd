{#- Programme facts of each company's latest registry load: outcome periods and data consent. -#}
with programme as (
    select
        trim(company_id) as company_id,
        cast(baseline_from as date) as baseline_from,
        cast(baseline_to as date) as baseline_to,
        cast(followup_from as date) as followup_from,
        cast(followup_to as date) as followup_to,
        coalesce(cast(data_contribution_consent as boolean), false) as data_contribution_consent,
        {{ bronze_column('company_programme', 'delivery_cadence', 'varchar') }} as delivery_cadence,
        cast(registry_loaded_at as timestamptz) as registry_loaded_at
    from {{ source('bronze', 'company_programme') }}
),

final as (
    select company_id, baseline_from, baseline_to, followup_from, followup_to, data_contribution_consent,
           delivery_cadence, registry_loaded_at
    from programme
    qualify row_number() over (partition by company_id order by registry_loaded_at desc) = 1
)

select * from final
