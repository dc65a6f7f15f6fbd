{#-
  Work shifts per company: its own (clients/registry.yaml) or, without any, the default pattern
  of seeds/shifts.csv (company_id '*'). Each company's shifts cover the day exactly once.
-#}
with own as (
    select company_id, shift_code, name_ko, name_en, start_time_kst, end_time_kst, 'company' as pattern
    from {{ ref('stg_company_shifts') }}
),

default_pattern as (
    select c.company_id, d.shift_code, d.name_ko, d.name_en, d.start_time_kst, d.end_time_kst, 'default' as pattern
    from {{ ref('stg_companies') }} as c
    cross join {{ ref('shifts') }} as d
    where d.company_id = '*'
      and c.company_id not in (select company_id from own)
),

shifts as (
    select * from own
    union all
    select * from default_pattern
),

final as (
    select
        cast({{ surrogate_key(['company_id', 'shift_code']) }} as varchar) as shift_key,
        cast(company_id as varchar) as company_id,
        cast(shift_code as varchar) as shift_code,
        cast(name_ko as varchar) as name_ko,
        cast(name_en as varchar) as name_en,
        cast(start_time_kst as time) as start_time_kst,
        cast(end_time_kst as time) as end_time_kst,
        cast(end_time_kst <= start_time_kst as boolean) as crosses_midnight,
        cast(pattern as varchar) as pattern
    from shifts
)

select * from final
