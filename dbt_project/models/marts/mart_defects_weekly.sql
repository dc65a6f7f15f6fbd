{#- Defect rate and the three most frequent defect types per line per ISO week (KST). -#}
with inspections as (
    select company_id, line_id, cast(inspected_at_kst as date) as date_kst, is_defect,
           defect_code, defect_name_ko, defect_name_en
    from {{ ref('fct_quality_inspections') }}
    where inspected_at_kst is not null
),

weeks as (
    select *, isoyear(date_kst) as iso_year, weekofyear(date_kst) as iso_week,
           cast(date_trunc('week', date_kst) as date) as week_start_kst
    from inspections
),

totals as (
    select company_id, line_id, iso_year, iso_week, min(week_start_kst) as week_start_kst,
           count(*) as inspections,
           count(*) filter (where is_defect) as defects
    from weeks
    group by company_id, line_id, iso_year, iso_week
),

defect_counts as (
    select company_id, line_id, iso_year, iso_week, defect_code,
           min(defect_name_ko) as defect_name_ko, min(defect_name_en) as defect_name_en,
           count(*) as defects
    from weeks
    where is_defect
    group by company_id, line_id, iso_year, iso_week, defect_code
),

ranked as (
    select *,
           row_number() over (
               partition by company_id, line_id, iso_year, iso_week order by defects desc, defect_code
           ) as defect_rank
    from defect_counts
),

top3 as (
    select company_id, line_id, iso_year, iso_week,
           max(defect_code) filter (where defect_rank = 1) as top1_defect_code,
           max(defect_name_ko) filter (where defect_rank = 1) as top1_defect_name_ko,
           max(defect_name_en) filter (where defect_rank = 1) as top1_defect_name_en,
           max(defects) filter (where defect_rank = 1) as top1_defects,
           max(defect_code) filter (where defect_rank = 2) as top2_defect_code,
           max(defect_name_ko) filter (where defect_rank = 2) as top2_defect_name_ko,
           max(defect_name_en) filter (where defect_rank = 2) as top2_defect_name_en,
           max(defects) filter (where defect_rank = 2) as top2_defects,
           max(defect_code) filter (where defect_rank = 3) as top3_defect_code,
           max(defect_name_ko) filter (where defect_rank = 3) as top3_defect_name_ko,
           max(defect_name_en) filter (where defect_rank = 3) as top3_defect_name_en,
           max(defects) filter (where defect_rank = 3) as top3_defects
    from ranked
    where defect_rank <= 3
    group by company_id, line_id, iso_year, iso_week
),

final as (
    select
        cast({{ surrogate_key(['t.company_id', 't.line_id', 't.iso_year', 't.iso_week']) }} as varchar) as line_week_key,
        cast(t.company_id as varchar) as company_id,
        cast(t.line_id as varchar) as line_id,
        cast(t.iso_year as integer) as iso_year,
        cast(t.iso_week as integer) as iso_week,
        cast(t.week_start_kst as date) as week_start_kst,
        cast(t.inspections as bigint) as inspections,
        cast(t.defects as bigint) as defects,
        cast(t.defects / t.inspections as double) as defect_rate,
        cast(p.top1_defect_code as varchar) as top1_defect_code,
        cast(p.top1_defect_name_ko as varchar) as top1_defect_name_ko,
        cast(p.top1_defect_name_en as varchar) as top1_defect_name_en,
        cast(p.top1_defects as bigint) as top1_defects,
        cast(p.top2_defect_code as varchar) as top2_defect_code,
        cast(p.top2_defect_name_ko as varchar) as top2_defect_name_ko,
        cast(p.top2_defect_name_en as varchar) as top2_defect_name_en,
        cast(p.top2_defects as bigint) as top2_defects,
        cast(p.top3_defect_code as varchar) as top3_defect_code,
        cast(p.top3_defect_name_ko as varchar) as top3_defect_name_ko,
        cast(p.top3_defect_name_en as varchar) as top3_defect_name_en,
        cast(p.top3_defects as bigint) as top3_defects
    from totals as t
    left join top3 as p
      on p.company_id = t.company_id and p.line_id is not distinct from t.line_id
     and p.iso_year = t.iso_year and p.iso_week = t.iso_week
)

select * from final
