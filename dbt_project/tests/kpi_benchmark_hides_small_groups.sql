{{ config(tags=['programme_kpis']) }}
{#- The regional benchmark never shows a median built from fewer than var('benchmark_min_companies') companies. -#}
select company_id, measure_code, industry_companies, industry_median, suppressed
from {{ ref('company_benchmark') }}
where suppressed <> (industry_companies < {{ var('benchmark_min_companies') }})
   or (suppressed and industry_median is not null)
