{#-
  Regional benchmark (지역 동종업종 비교): each company's recent KPIs against the median of the
  companies of its industry group in the region (충북; dim_company.programme_group, the programme's
  grouping of KSIC codes), over each company's latest 30 days of data.
  Names no other company: only the median and how many companies it is built from. A median
  built from fewer than var('benchmark_min_companies') companies is not shown (suppressed).
-#}
{%- set min_companies = var('benchmark_min_companies') %}
-- depends_on: {{ source('quality', 'dq_latest') }}
with companies as (
    select company_id, name_ko, programme_group as industry_code, programme_group_ko as industry_name_ko
    from {{ ref('dim_company') }}
),

measures as (
    select kpi_code as measure_code, name_ko, name_en, unit, better, display_order
    from {{ ref('kpi_definitions') }}
    where kind = 'outcome' and kpi_code not in ('effectiveness', 'oee')  -- PRU is each company's own standard
),

measure_days as (
    select company_id, date_kst, measure_code, numerator, denominator
    from {{ ref('int_company_measure_days') }}
    where date_kst <= {{ kpi_as_of_date() }} and numerator is not null
),

recent_window as (
    select company_id, max(date_kst) as last_day from measure_days group by company_id
),

company_values as (
    select d.company_id, d.measure_code,
           sum(d.numerator) / nullif(sum(d.denominator), 0) as value,
           count(distinct d.date_kst) as days,
           min(d.date_kst) as from_day, max(d.date_kst) as to_day
    from measure_days as d
    join recent_window as w using (company_id)
    where d.date_kst > w.last_day - 30
    group by d.company_id, d.measure_code
),

quality as (
    select company_id, 'avg_quality_score' as measure_code, avg(score) as value,
           count(distinct day_kst) as days, min(day_kst) as from_day, max(day_kst) as to_day
    from {{ optional_relation('quality', 'dq_latest', [['company_id', 'varchar'], ['day_kst', 'date'],
                                                       ['dimension', 'varchar'], ['score', 'double']]) }}
    where dimension = 'overall' and score is not null and day_kst <= {{ kpi_as_of_date() }}
    group by company_id
),

all_values as (
    select * from company_values where value is not null
    union all
    select * from quality
),

with_industry as (
    select v.*, c.industry_code from all_values as v join companies as c using (company_id)
),

industry_medians as (
    select industry_code, measure_code, median(value) as median_value, count(distinct company_id) as companies
    from with_industry
    group by industry_code, measure_code
),

all_measures as (
    select measure_code, name_ko, name_en, unit, better, display_order from measures
    union all
    select kpi_code, name_ko, name_en, unit, 'higher', display_order
    from {{ ref('kpi_definitions') }} where kpi_code = 'avg_quality_score'
),

final as (
    select
        cast(c.company_id as varchar) as company_id,
        cast(c.name_ko as varchar) as name_ko,
        cast(c.industry_code as varchar) as industry_code,
        cast(c.industry_name_ko as varchar) as industry_name_ko,
        cast(m.measure_code as varchar) as measure_code,
        cast(m.name_ko as varchar) as measure_name_ko,
        cast(m.name_en as varchar) as measure_name_en,
        cast(m.unit as varchar) as unit,
        cast(m.better as varchar) as better,
        cast(m.display_order as integer) as display_order,
        cast(v.value as double) as company_value,
        cast(coalesce(v.days, 0) as bigint) as company_days,
        cast(v.from_day as date) as company_from,
        cast(v.to_day as date) as company_to,
        cast(coalesce(i.companies, 0) as bigint) as industry_companies,
        cast(case when i.companies >= {{ min_companies }} then i.median_value end as double) as industry_median,
        cast(coalesce(i.companies, 0) < {{ min_companies }} as boolean) as suppressed,
        cast(case when coalesce(i.companies, 0) < {{ min_companies }}
             then '동종업종 ' || coalesce(i.companies, 0) || '개사: {{ min_companies }}개사 미만이라 중앙값 비공개' end as varchar)
            as suppressed_reason_ko,
        cast(case when coalesce(i.companies, 0) < {{ min_companies }}
             then coalesce(i.companies, 0) || ' compan(ies) in the industry: fewer than {{ min_companies }}, median not shown'
             end as varchar) as suppressed_reason_en,
        cast({{ kpi_as_of_date() }} as date) as as_of_date
    from companies as c
    cross join all_measures as m
    left join with_industry as v on v.company_id = c.company_id and v.measure_code = m.measure_code
    left join industry_medians as i on i.industry_code = c.industry_code and i.measure_code = m.measure_code
)

select * from final
