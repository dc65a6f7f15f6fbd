{#-
  Companies per support stage (지원 단계 퍼널), consulting -> ... -> post-management, as of the
  KPI day: how many reached each stage, completed it, are in it now, when the first and the
  latest started it, and the median days a completed stage took.
-#}
with stages as (
    select stage_code, name_ko, name_en, stage_order from {{ ref('support_stages') }}
),

company_stages as (
    select company_id, stage_code, started_on, completed_on
    from {{ ref('stg_support_stages') }}
    where started_on <= {{ kpi_as_of_date() }}
),

per_stage as (
    select
        stage_code,
        count(distinct company_id) as companies_reached,
        count(distinct company_id) filter (where completed_on <= {{ kpi_as_of_date() }}) as companies_completed,
        count(distinct company_id) filter (where completed_on is null or completed_on > {{ kpi_as_of_date() }})
            as companies_in_stage,
        min(started_on) as first_started_on,
        max(started_on) as last_started_on,
        median(completed_on - started_on) filter (where completed_on <= {{ kpi_as_of_date() }}) as median_days_in_stage
    from company_stages
    group by stage_code
),

final as (
    select
        cast(s.stage_code as varchar) as stage_code,
        cast(s.stage_order as integer) as stage_order,
        cast(s.name_ko as varchar) as stage_name_ko,
        cast(s.name_en as varchar) as stage_name_en,
        cast(coalesce(p.companies_reached, 0) as bigint) as companies_reached,
        cast(coalesce(p.companies_completed, 0) as bigint) as companies_completed,
        cast(coalesce(p.companies_in_stage, 0) as bigint) as companies_in_stage,
        cast(p.first_started_on as date) as first_started_on,
        cast(p.last_started_on as date) as last_started_on,
        cast(p.median_days_in_stage as double) as median_days_in_stage,
        cast({{ kpi_as_of_date() }} as date) as as_of_date
    from stages as s
    left join per_stage as p using (stage_code)
)

select * from final
