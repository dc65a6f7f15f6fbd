{{
    config(
        materialized='incremental',
        incremental_strategy='append'
    )
}}
{#-
  The ledger of bronze sensor-reading batches the warehouse has taken: one row per ingest run,
  landing file and mapping entry (ingest_run_id, source_hash, dataset_entry), with the number of
  the warehouse load that took it.
  A build appends the batches bronze holds and the ledger does not, whatever their clocks or the
  order their Delta commits landed in (two ingests may commit in either order), and
  fct_sensor_readings takes exactly the rows of the batches with a load number it has not seen.
  Compaction or vacuum of bronze rewrites files, not batches: nothing is taken twice.
  Each batch records the bronze table's Delta version the build began at (`bronze_version`): the
  next build looks for untaken batches only in the Delta files added since the newest of them
  (macros/new_batches.sql: bronze_rows_new_since), so its scan follows the new day, not all history.
  Each batch also records the span of its readings' times, which bounds the sensor facts' search
  for rows the batch replaces without reading the batch's bronze rows once more to find it.
-#}
{%- set new_since = bronze_rows_new_since('sensor_readings') %}
with bronze as (
    select
        coalesce(_ingest_run_id, '') as ingest_run_id,
        coalesce(_source_hash, '') as source_hash,
        coalesce(_source_file, '') as source_file,
        coalesce({{ bronze_column('sensor_readings', '_dataset_entry', 'varchar') }}, 'sensor_readings') as dataset_entry,
        company_id,
        _ingested_at as ingested_at,
        cast(reading_ts as timestamptz) as reading_ts_utc
    from {{ admitted_bronze('sensor_readings') }}
    {%- if is_incremental() and new_since.ingested_from %}
    where _ingested_at >= {{ new_since.ingested_from }}
    {%- endif %}
),

new_batches as (
    select
        b.ingest_run_id,
        b.source_hash,
        b.dataset_entry,
        b.source_file,
        min(b.company_id) as company_id,
        count(*) as rows_in_bronze,
        min(b.ingested_at) as first_ingested_at,
        max(b.ingested_at) as last_ingested_at,
        min(b.reading_ts_utc) as first_reading_ts_utc,
        max(b.reading_ts_utc) as last_reading_ts_utc
    from bronze as b
    {% if is_incremental() %}
    anti join {{ this }} as seen
      on seen.ingest_run_id = b.ingest_run_id and seen.source_hash = b.source_hash
     and seen.dataset_entry = b.dataset_entry and seen.source_file = b.source_file
    {% endif %}
    group by b.ingest_run_id, b.source_hash, b.dataset_entry, b.source_file
),

final as (
    select
        cast(ingest_run_id as varchar) as ingest_run_id,
        cast(source_hash as varchar) as source_hash,
        cast(dataset_entry as varchar) as dataset_entry,
        cast(company_id as varchar) as company_id,
        cast(source_file as varchar) as source_file,
        cast(rows_in_bronze as bigint) as rows_in_bronze,
        cast(first_ingested_at as timestamptz) as first_ingested_at,
        cast(last_ingested_at as timestamptz) as last_ingested_at,
        cast(first_reading_ts_utc as timestamptz) as first_reading_ts_utc,
        cast(last_reading_ts_utc as timestamptz) as last_reading_ts_utc,
        {% if is_incremental() -%}
        cast((select coalesce(max(load_seq), 0) + 1 from {{ this }}) as bigint) as load_seq,
        {%- else -%}
        cast(1 as bigint) as load_seq,
        {%- endif %}
        current_timestamp as loaded_at,
        cast({{ new_since.version if new_since.version is not none else 'null' }} as bigint) as bronze_version
    from new_batches
)

select * from final
