{{ config(materialized='view') }}
{#-
  Per company and dataset: how much data, from how many files, how recent. A view over the fact
  tables, so `hours_since_last_landing` and `measured_at` are always as of the query (and two
  builds of the same data give the same rows).
-#}
with companies as (
    select company_id from {{ ref('dim_company') }}
),

datasets as (
    select unnest(['sensor_readings', 'production_lots', 'quality_inspections', 'equipment_events']) as dataset
),

facts as (
    -- the hourly aggregates count every reading and keep each hour's last one: an analyst's
    -- freshness query reads thousands of rows, not every reading ever landed
    select company_id, 'sensor_readings' as dataset, cast(sum(readings) as bigint) as rows,
           max({{ to_kst('last_reading_ts_utc') }}) as last_event_kst
    from {{ ref('fct_sensor_readings_hourly') }} group by company_id
    union all
    select company_id, 'production_lots', count(*), max(coalesce(end_ts_kst, start_ts_kst))
    from {{ ref('fct_production_lots') }} group by company_id
    union all
    select company_id, 'quality_inspections', count(*), max(inspected_at_kst)
    from {{ ref('fct_quality_inspections') }} group by company_id
    union all
    select company_id, 'equipment_events', count(*), max(event_ts_kst)
    from {{ ref('fct_equipment_events') }} group by company_id
),

landings as (
    select company_id, dataset,
           count(*) filter (where status in ('ingested', 'partial')) as files,
           count(*) filter (where status = 'quarantined') as files_quarantined,
           coalesce(sum(rows_rejected), 0) as rows_rejected,
           max(file_modified_at) as last_landing_utc
    from {{ ref('fct_landing_files') }}
    group by company_id, dataset
),

final as (
    select
        cast(c.company_id as varchar) as company_id,
        cast(d.dataset as varchar) as dataset,
        cast(coalesce(f.rows, 0) as bigint) as rows,
        cast(coalesce(l.files, 0) as bigint) as files,
        cast(coalesce(l.files_quarantined, 0) as bigint) as files_quarantined,
        cast(coalesce(l.rows_rejected, 0) as bigint) as rows_rejected,
        cast(f.last_event_kst as timestamp) as last_event_kst,
        cast(l.last_landing_utc as timestamptz) as last_landing_utc,
        cast({{ to_kst('l.last_landing_utc') }} as timestamp) as last_landing_kst,
        cast((epoch(current_timestamp) - epoch(l.last_landing_utc)) / 3600.0 as double) as hours_since_last_landing,
        cast(current_timestamp as timestamptz) as measured_at
    from companies as c
    cross join datasets as d
    left join facts as f on f.company_id = c.company_id and f.dataset = d.dataset
    left join landings as l on l.company_id = c.company_id and l.dataset = d.dataset
)

select * from final
