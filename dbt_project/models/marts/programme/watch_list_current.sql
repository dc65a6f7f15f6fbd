{#-
  Post-management watch list as of the KPI day (사후관리 대상): what is wrong now, per company.
  - data_stopped: a dataset's files stopped arriving - no landing for longer than
    var('watch_stopped_factor') x the company's usual cadence (the median gap between its landing
    days; needs var('watch_min_landing_days') landing days). Started on the day the next file was due.
    A company whose registry delivery_cadence is 'backfill' (history only) is not expected to send more.
  - quality_dropped: the latest overall quality score of the company is more than
    var('watch_quality_drop_points') below the median of its previous var('watch_quality_window_days')
    scored days. Started on the first day of the current run of such days.
  - model_degraded: the AI stage flagged the company's demonstrated model (ml.drift_flags: feature
    drift or falling on-site precision). Started when the AI stage says it started.
  History (opened, resolved) is kept by the watch_list model.
-#}
{%- set factor = var('watch_stopped_factor') %}
{%- set drop_points = var('watch_quality_drop_points') %}
{%- set window_days = var('watch_quality_window_days') %}
-- depends_on: {{ source('quality', 'dq_latest') }}
-- depends_on: {{ source('ml', 'drift_flags') }}
with companies as (
    select company_id, name_ko, name_en from {{ ref('dim_company') }}
),

landing_days as (
    select distinct company_id, dataset, cast({{ to_kst('file_modified_at') }} as date) as landed_on
    from {{ ref('fct_landing_files') }}
    where status in ('ingested', 'partial')
      and cast({{ to_kst('file_modified_at') }} as date) <= {{ kpi_as_of_date() }}
      and company_id not in (select company_id from {{ ref('stg_company_programme') }}
                             where delivery_cadence = 'backfill')
),

gaps as (
    select company_id, dataset, landed_on,
           landed_on - lag(landed_on) over (partition by company_id, dataset order by landed_on) as gap_days
    from landing_days
),

cadence as (
    select company_id, dataset,
           count(*) as landing_days,
           max(landed_on) as last_landed_on,
           greatest(1, round(median(gap_days))) as cadence_days
    from gaps
    group by company_id, dataset
    having count(*) >= {{ var('watch_min_landing_days') }}
),

data_stopped as (
    select company_id, 'data_stopped' as kind, dataset,
           cast(last_landed_on + cast(cadence_days as integer) as date) as started_on,
           '마지막 수집 ' || strftime(last_landed_on, '%Y-%m-%d') || ', 평소 주기 ' || cast(cadence_days as integer)
               || '일, ' || ({{ kpi_as_of_date() }} - last_landed_on) || '일째 새 파일 없음' as evidence_ko,
           'last file landed ' || strftime(last_landed_on, '%Y-%m-%d') || ', usual cadence '
               || cast(cadence_days as integer) || ' day(s), nothing for '
               || ({{ kpi_as_of_date() }} - last_landed_on) || ' days' as evidence_en,
           '기업 담당자에게 연락해 수집 PC·업로드 작업을 확인' as action_ko,
           'call the company: check the collection PC and the upload job' as action_en
    from cadence
    where {{ kpi_as_of_date() }} - last_landed_on > {{ factor }} * cadence_days
),

daily_scores as (
    select company_id, day_kst, avg(score) as score
    from {{ optional_relation('quality', 'dq_latest', [['company_id', 'varchar'], ['day_kst', 'date'],
                                                       ['dimension', 'varchar'], ['score', 'double']]) }}
    where dimension = 'overall' and score is not null and day_kst <= {{ kpi_as_of_date() }}
    group by company_id, day_kst
),

score_baselines as (
    select company_id, day_kst, score,
           median(score) over recent as recent_median,
           count(score) over recent as recent_days
    from daily_scores
    window recent as (partition by company_id order by day_kst
                      rows between {{ window_days }} preceding and 1 preceding)
),

score_flags as (
    select *, recent_days >= 3 and score < recent_median - {{ drop_points }} as dropped,
           max(day_kst) over (partition by company_id) as last_scored_day
    from score_baselines
),

last_good_day as (
    select company_id, max(day_kst) filter (where not coalesce(dropped, false)) as last_good_day
    from score_flags
    group by company_id
),

quality_dropped as (
    select f.company_id, 'quality_dropped' as kind, cast(null as varchar) as dataset,
           min(f.day_kst) as started_on,
           '최근 종합 품질 점수 ' || printf('%.1f', arg_max(f.score, f.day_kst)) || '점, 직전 '
               || {{ window_days }} || '일 중앙값 ' || printf('%.1f', arg_max(f.recent_median, f.day_kst)) || '점' as evidence_ko,
           'latest overall quality score ' || printf('%.1f', arg_max(f.score, f.day_kst)) || ', median of the previous '
               || {{ window_days }} || ' scored days ' || printf('%.1f', arg_max(f.recent_median, f.day_kst)) as evidence_en,
           '품질 보고서의 주요 문제(공백·고정값·범위 이탈)를 기업과 점검' as action_ko,
           'go through the quality report''s top issues (gaps, stuck sensors, out-of-range) with the company' as action_en
    from score_flags as f
    join last_good_day as g using (company_id)
    where f.day_kst > coalesce(g.last_good_day, date '1900-01-01')
    group by f.company_id
    having bool_and(f.dropped) and max(f.day_kst) = max(f.last_scored_day)
),

{#- ml.drift_flags (the AI stage): per company, model version and kind (feature_drift | performance),
    whether it is flagged now and since which KST day -#}
drift as (
    select company_id, since_date_kst as started_on,
           case kind when 'feature_drift' then '입력 데이터 분포 변화 (feature drift)'
                     when 'performance' then '현장 성능 저하 (on-site PR-AUC below the interval)' else kind end as flag_kind,
           detail
    from {{ optional_relation('ml', 'drift_flags', [['company_id', 'varchar'], ['model_version', 'varchar'],
                                                    ['kind', 'varchar'], ['flagged', 'boolean'],
                                                    ['since_date_kst', 'date'], ['detail', 'varchar']]) }}
    where flagged and since_date_kst <= {{ kpi_as_of_date() }}
),

model_degraded as (
    select company_id, 'model_degraded' as kind, cast(null as varchar) as dataset,
           min(started_on) as started_on,
           'AI 모델 성능 저하/드리프트: ' || string_agg(distinct flag_kind || coalesce(' (' || detail || ')', ''), '; ')
               as evidence_ko,
           'AI model drift/degradation: ' || string_agg(distinct flag_kind || coalesce(' (' || detail || ')', ''), '; ')
               as evidence_en,
           '최근 데이터로 모델 재학습 검토, 현장 공정 변경 여부 확인' as action_ko,
           'consider retraining on recent data; ask whether the process changed on site' as action_en
    from drift
    group by company_id
),

entries as (
    select * from data_stopped
    union all
    select * from quality_dropped
    union all
    select * from model_degraded
),

final as (
    select
        cast(e.company_id || '|' || e.kind || '|' || coalesce(e.dataset, '') as varchar) as watch_key,
        cast(e.company_id as varchar) as company_id,
        cast(c.name_ko as varchar) as name_ko,
        cast(e.kind as varchar) as kind,
        cast(case e.kind when 'data_stopped' then '데이터 수집 중단' when 'quality_dropped' then '품질 점수 하락'
             else 'AI 모델 성능 저하' end as varchar) as kind_name_ko,
        cast(case e.kind when 'data_stopped' then 'Data stopped arriving' when 'quality_dropped'
             then 'Quality score dropped' else 'Model degraded' end as varchar) as kind_name_en,
        cast(e.dataset as varchar) as dataset,
        cast(e.started_on as date) as started_on,
        cast(e.evidence_ko as varchar) as evidence_ko,
        cast(e.evidence_en as varchar) as evidence_en,
        cast(e.action_ko as varchar) as suggested_action_ko,
        cast(e.action_en as varchar) as suggested_action_en,
        cast({{ kpi_as_of_date() }} as date) as as_of_date
    from entries as e
    left join companies as c using (company_id)
)

select * from final
