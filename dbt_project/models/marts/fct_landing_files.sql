{#-
  One row per landing file and mapping entry that read it (company, path, content hash, entry):
  its latest ingest status and how its rows reconcile. source_rows = rows_landed + rows_rejected
  (data rows of the file, as the ingest counted them); for sensor entries readings_landed counts
  the readings bronze holds for it and readings_in_warehouse those of fct_sensor_readings that
  came from it - fewer when a later file re-sent the same readings (they are its, then). Both are
  read from small per-batch and per-day counts, not from the readings themselves.
-#}
with log as (
    select * from {{ ref('stg_ingest_log') }}
),

latest as (
    select *
    from log
    qualify row_number() over (
        partition by company_id, source_file, source_hash, dataset_entry
        order by ingested_at desc nulls last, ingest_run_id desc nulls last
    ) = 1
),

{#- the batch ledger counted each batch's readings as it took them; a version a later one
    superseded is no longer the file's (the staging models leave its rows out) -#}
landed_readings as (
    select taken.company_id, taken.source_file, taken.source_hash, taken.dataset_entry,
           sum(taken.rows_in_bronze) as readings
    from {{ ref('int_sensor_reading_batches') }} as taken
    anti join ({{ superseded_versions() }}) as old
      on old.company_id = taken.company_id and old.source_file = taken.source_file
     and old.source_hash = taken.source_hash
    group by all
),

in_warehouse as (
    select company_id, source_file, source_hash, dataset_entry, sum(readings) as readings
    from {{ ref('int_sensor_readings_by_file_day') }}
    group by all
),

final as (
    select
        cast({{ surrogate_key(['l.company_id', 'l.source_file', 'l.source_hash', 'l.dataset_entry']) }} as varchar)
            as landing_file_key,
        cast(l.company_id as varchar) as company_id,
        cast(l.source_file as varchar) as source_file,
        cast(l.source_hash as varchar) as source_hash,
        cast(l.dataset as varchar) as dataset,
        cast(l.dataset_entry as varchar) as dataset_entry,
        cast(l.mapping_version as varchar) as mapping_version,
        cast(l.status as varchar) as status,
        cast(l.source_rows as bigint) as source_rows,
        cast(l.rows_landed as bigint) as rows_landed,
        cast(l.rows_rejected as bigint) as rows_rejected,
        cast(case when l.dataset = 'sensor_readings' then coalesce(b.readings, 0) end as bigint) as readings_landed,
        cast(case when l.dataset = 'sensor_readings' then coalesce(w.readings, 0) end as bigint) as readings_in_warehouse,
        cast(l.duplicate_of as varchar) as duplicate_of,
        cast(l.file_modified_at as timestamptz) as file_modified_at,
        cast(l.ingested_at as timestamptz) as ingested_at,
        cast(l.unmapped_columns as varchar) as unmapped_columns
    from latest as l
    left join landed_readings as b
      on b.company_id = l.company_id and b.source_file = l.source_file and b.source_hash = l.source_hash
     and b.dataset_entry = l.dataset_entry
    left join in_warehouse as w
      on w.company_id = l.company_id and w.source_file = l.source_file and w.source_hash = l.source_hash
     and w.dataset_entry = l.dataset_entry
)

select * from final
