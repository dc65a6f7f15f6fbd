{#-
  Output KPIs against the yearly targets (연도별 성과 vs 목표): one row per programme year, KPI
  and breakdown (the programme total; companies supported also per city/county and industry).
  Each KPI is measured as of the end of its year or the KPI day, whichever comes first
  (definitions in seeds/kpi_definitions.csv). A KPI whose source stage has not written its table
  yet counts zero and says why.
-#}
{%- set ml_ready = relation_exists('ml', 'model_results') %}
{%- set quality_ready = relation_exists('quality', 'dq_latest') %}
{%- set contrib_ready = relation_exists('contrib', 'published_datasets') %}
-- depends_on: {{ source('quality', 'dq_latest') }}
-- depends_on: {{ source('ml', 'model_results') }}
-- depends_on: {{ source('contrib', 'published_datasets') }}
with definitions as (
    select kpi_code, name_ko, name_en, unit, display_order from {{ ref('kpi_definitions') }} where kind = 'output'
),

targets as (
    select programme_year, kpi_code, breakdown, coalesce(breakdown_code, '') as breakdown_code, target
    from {{ ref('kpi_targets') }}
),

years as (
    select distinct programme_year from targets
    union
    select year({{ kpi_as_of_date() }})
),

windows as (
    select programme_year,
           make_date(programme_year, 1, 1) as year_start,
           least(make_date(programme_year, 12, 31), {{ kpi_as_of_date() }}) as measured_to
    from years
    where make_date(programme_year, 1, 1) <= {{ kpi_as_of_date() }}  -- a year not begun has nothing to count yet
),

companies as (
    select company_id, region_code, programme_group from {{ ref('dim_company') }}
),

{#- "per industry" = the programme's industry groups (dim_industry.programme_group over KSIC codes) -#}
industry_groups as (
    select distinct programme_group, programme_group_ko, programme_group_en from {{ ref('dim_industry') }}
    where programme_group is not null
),

supported as (
    select distinct w.programme_year, s.company_id
    from windows as w
    join {{ ref('stg_support_stages') }} as s
      on s.started_on <= w.measured_to and (s.completed_on is null or s.completed_on >= w.year_start)
),

files as (
    select company_id, dataset, rows_landed, cast({{ to_kst('file_modified_at') }} as date) as landed_on
    from {{ ref('fct_landing_files') }}
    where status in ('ingested', 'partial')
),

standardised as (
    select company_id, dataset from {{ ref('mart_company_data_freshness') }} where rows > 0
),

quality_scores as (
    select company_id, day_kst, score
    from {{ optional_relation('quality', 'dq_latest', [['company_id', 'varchar'], ['day_kst', 'date'],
                                                       ['dimension', 'varchar'], ['score', 'double']]) }}
    where dimension = 'overall'
),

models as (
    select company_id, cast({{ to_kst('trained_at_utc') }} as date) as trained_on, demonstrable
    from {{ optional_relation('ml', 'model_results', [['company_id', 'varchar'], ['trained_at_utc', 'timestamptz'],
                                                      ['demonstrable', 'boolean']]) }}
),

published as (
    select dataset_id, cast(published_at as date) as published_on
    from {{ optional_relation('contrib', 'published_datasets', [['dataset_id', 'varchar'],
                                                                ['published_at', 'timestamptz']]) }}
),

totals as (
    select w.programme_year, 'companies_supported' as kpi_code,
           (select count(*) from supported as s where s.programme_year = w.programme_year) as actual
    from windows as w
    union all
    select w.programme_year, 'datasets_collected',
           (select count(distinct (company_id, dataset)) from files where landed_on <= w.measured_to)
    from windows as w
    union all
    select w.programme_year, 'datasets_standardised',
           (select count(distinct (f.company_id, f.dataset)) from files as f
            join standardised as s using (company_id, dataset) where f.landed_on <= w.measured_to)
    from windows as w
    union all
    select w.programme_year, 'data_volume_rows',
           (select coalesce(sum(rows_landed), 0) from files where landed_on <= w.measured_to)
    from windows as w
    union all
    select w.programme_year, 'avg_quality_score',
           (select avg(score) from quality_scores where day_kst between w.year_start and w.measured_to)
    from windows as w
    union all
    select w.programme_year, 'ai_solutions_developed',
           (select count(distinct company_id) from models where trained_on <= w.measured_to)
    from windows as w
    union all
    select w.programme_year, 'ai_solutions_demonstrated',
           (select count(distinct company_id) from models where trained_on <= w.measured_to and demonstrable)
    from windows as w
    union all
    select w.programme_year, 'datasets_published',
           (select count(distinct dataset_id) from published where published_on <= w.measured_to)
    from windows as w
),

breakdowns as (
    select programme_year, kpi_code, 'total' as breakdown, '' as breakdown_code,
           '전체' as breakdown_name_ko, 'Total' as breakdown_name_en, cast(actual as double) as actual
    from totals
    union all
    select w.programme_year, 'companies_supported', 'region', r.region_code, r.name_ko, r.name_en,
           (select count(*) from supported as s join companies as c using (company_id)
            where s.programme_year = w.programme_year and c.region_code = r.region_code)
    from windows as w
    cross join {{ ref('dim_region') }} as r
    union all
    select w.programme_year, 'companies_supported', 'industry', g.programme_group, g.programme_group_ko,
           g.programme_group_en,
           (select count(*) from supported as s join companies as c using (company_id)
            where s.programme_year = w.programme_year and c.programme_group = g.programme_group)
    from windows as w
    cross join industry_groups as g
),

final as (
    select
        cast(b.programme_year as integer) as programme_year,
        cast(b.kpi_code as varchar) as kpi_code,
        cast(d.name_ko as varchar) as kpi_name_ko,
        cast(d.name_en as varchar) as kpi_name_en,
        cast(d.unit as varchar) as unit,
        cast(d.display_order as integer) as display_order,
        cast(b.breakdown as varchar) as breakdown,
        cast(b.breakdown_code as varchar) as breakdown_code,
        cast(b.breakdown_name_ko as varchar) as breakdown_name_ko,
        cast(b.breakdown_name_en as varchar) as breakdown_name_en,
        cast(case when b.kpi_code = 'avg_quality_score' then b.actual else coalesce(b.actual, 0) end as double)
            as actual,
        cast(t.target as double) as target,
        cast(coalesce(b.actual, 0) / nullif(t.target, 0) as double) as progress,
        cast(w.measured_to as date) as measured_to,
        cast(case
            when b.kpi_code in ('ai_solutions_developed', 'ai_solutions_demonstrated') and not {{ ml_ready }}
                then 'AI 결과(ml.model_results)가 아직 없어 0으로 집계 (AI 개발 단계 미반영)'
            when b.kpi_code = 'avg_quality_score' and not {{ quality_ready }}
                then '품질검사 결과(quality.dq_latest)가 아직 없음'
            when b.kpi_code = 'avg_quality_score' and b.actual is null then '해당 연도 품질 점수 없음'
            when b.kpi_code = 'datasets_published' and not {{ contrib_ready }}
                then '공개 데이터셋 내보내기 기록(contrib.published_datasets)이 아직 없어 0으로 집계'
        end as varchar) as note_ko,
        cast(case
            when b.kpi_code in ('ai_solutions_developed', 'ai_solutions_demonstrated') and not {{ ml_ready }}
                then 'zero: no AI results yet (ml.model_results does not exist; the AI stage has not run)'
            when b.kpi_code = 'avg_quality_score' and not {{ quality_ready }}
                then 'no quality inspection results yet (quality.dq_latest does not exist)'
            when b.kpi_code = 'avg_quality_score' and b.actual is null then 'no quality scores in this year'
            when b.kpi_code = 'datasets_published' and not {{ contrib_ready }}
                then 'zero: nothing exported for publication yet (contrib.published_datasets does not exist)'
        end as varchar) as note_en
    from breakdowns as b
    join definitions as d using (kpi_code)
    join windows as w using (programme_year)
    left join targets as t
      on t.programme_year = b.programme_year and t.kpi_code = b.kpi_code
     and t.breakdown = b.breakdown and t.breakdown_code = b.breakdown_code
)

select * from final
