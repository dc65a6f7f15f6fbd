{#-
  Outcomes per supported company, before vs after (성과: 도입 전후 비교): one row per company and
  outcome measure (PQCD and ISO 22400-2 OEE; definitions in seeds/kpi_definitions.csv). Both
  periods, the days and lots behind each, the change with a 95 % interval, and a status; a
  change is never shown without them. The interval is a Welch normal interval on the daily values
  (change +/- 1.96 x sqrt(var_before / days_before + var_after / days_after)); a period with fewer
  than var('kpi_outcome_min_days') days of data gives "insufficient data" instead.
-#}
{%- set min_days = var('kpi_outcome_min_days') %}
with companies as (
    select company_id, name_ko, name_en from {{ ref('dim_company') }}
),

programme as (
    select company_id, baseline_from, baseline_to, followup_from, followup_to
    from {{ ref('stg_company_programme') }}
),

measures as (
    select kpi_code as measure_code, name_ko, name_en, unit, better, display_order
    from {{ ref('kpi_definitions') }}
    where kind = 'outcome'
),

measure_days as (
    select * from {{ ref('int_company_measure_days') }}
    where period is not null
),

per_period as (
    select company_id, measure_code, period,
           count(*) as days,
           sum(lots) as lots,
           sum(numerator) / nullif(sum(denominator), 0) as ratio_value,
           var_samp(daily_value) as daily_variance
    from measure_days
    group by company_id, measure_code, period
),

{#- OEE of a period = the product of its three factors over that period -#}
oee_factors as (
    select company_id, period,
           product(ratio_value) filter (where measure_code in ('availability', 'effectiveness', 'quality_ratio'))
               as oee_value,
           count(*) filter (where measure_code in ('availability', 'effectiveness', 'quality_ratio')) as factors
    from per_period
    group by company_id, period
),

period_values as (
    select p.company_id, p.measure_code, p.period, p.days, p.lots, p.daily_variance,
           case when p.measure_code = 'oee' then (case when f.factors = 3 then f.oee_value end)
                else p.ratio_value end as value
    from per_period as p
    left join oee_factors as f using (company_id, period)
),

pairs as (
    select
        c.company_id, c.name_ko, c.name_en,
        m.measure_code, m.name_ko as measure_name_ko, m.name_en as measure_name_en, m.unit, m.better,
        m.display_order,
        g.baseline_from, g.baseline_to, g.followup_from, g.followup_to,
        b.value as baseline_value, coalesce(b.days, 0) as baseline_days, coalesce(b.lots, 0) as baseline_lots,
        b.daily_variance as baseline_variance,
        f.value as followup_value, coalesce(f.days, 0) as followup_days, coalesce(f.lots, 0) as followup_lots,
        f.daily_variance as followup_variance
    from companies as c
    cross join measures as m
    left join programme as g on g.company_id = c.company_id
    left join period_values as b on b.company_id = c.company_id and b.measure_code = m.measure_code and b.period = 'baseline'
    left join period_values as f on f.company_id = c.company_id and f.measure_code = m.measure_code and f.period = 'followup'
),

changes as (
    select
        *,
        followup_value - baseline_value as change,
        1.96 * sqrt(baseline_variance / baseline_days + followup_variance / followup_days) as half_width,
        case
            when baseline_from is null or followup_from is null then 'no_periods'
            when baseline_days < {{ min_days }} or followup_days < {{ min_days }} then 'too_few_days'
            when baseline_value is null or followup_value is null
                 or baseline_variance is null or followup_variance is null then 'too_few_days'
        end as insufficient
    from pairs
),

final as (
    select
        cast(company_id as varchar) as company_id,
        cast(name_ko as varchar) as name_ko,
        cast(name_en as varchar) as name_en,
        cast(measure_code as varchar) as measure_code,
        cast(measure_name_ko as varchar) as measure_name_ko,
        cast(measure_name_en as varchar) as measure_name_en,
        cast(unit as varchar) as unit,
        cast(better as varchar) as better,
        cast(display_order as integer) as display_order,
        cast(baseline_from as date) as baseline_from,
        cast(baseline_to as date) as baseline_to,
        cast(followup_from as date) as followup_from,
        cast(followup_to as date) as followup_to,
        cast(baseline_value as double) as baseline_value,
        cast(baseline_days as bigint) as baseline_days,
        cast(baseline_lots as bigint) as baseline_lots,
        cast(followup_value as double) as followup_value,
        cast(followup_days as bigint) as followup_days,
        cast(followup_lots as bigint) as followup_lots,
        cast(case when insufficient is null then change end as double) as change,
        cast(case when insufficient is null then change / nullif(baseline_value, 0) end as double) as change_ratio,
        cast(case when insufficient is null then change - half_width end as double) as change_ci_low,
        cast(case when insufficient is null then change + half_width end as double) as change_ci_high,
        cast(case
            when insufficient is not null then 'insufficient_data'
            when change - half_width > 0 then (case better when 'higher' then 'improved' else 'worsened' end)
            when change + half_width < 0 then (case better when 'higher' then 'worsened' else 'improved' end)
            else 'no_clear_change'
        end as varchar) as status,
        cast(case insufficient
            when 'no_periods' then '등록부에 기준·사후 기간 없음'
            when 'too_few_days' then '데이터 부족: 기준기간 ' || baseline_days || '일, 사후기간 ' || followup_days
                                     || '일 (각 {{ min_days }}일 이상 필요)'
        end as varchar) as insufficient_reason_ko,
        cast(case insufficient
            when 'no_periods' then 'no baseline/follow-up period in the registry'
            when 'too_few_days' then 'insufficient data: ' || baseline_days || ' baseline day(s), ' || followup_days
                                     || ' follow-up day(s) (needs {{ min_days }} each)'
        end as varchar) as insufficient_reason_en
    from changes
)

select * from final
