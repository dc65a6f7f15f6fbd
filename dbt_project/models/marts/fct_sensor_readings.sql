{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=reading_identity(),
        on_schema_change='append_new_columns',
        post_hook=["{{ delete_superseded_readings() }}"],
        incremental_predicates=[
            "reading_ts_utc between (select min(reading_ts_utc) from fct_sensor_readings__dbt_tmp)"
            ~ " and (select max(reading_ts_utc) from fct_sensor_readings__dbt_tmp)"
        ]
    )
}}
{#- The predicate bounds the delete of replaced readings to the new rows' time range (a key
    fixes its reading time; the new rows wait in dbt's temp table), so it skips most of the
    table instead of probing every key. -#}
{#-
  One row per reading (macros/expressions.sql: reading_identity). A reading is identified by company, equipment, source tag,
  time and, within that, by the sequence/shot/cycle id the mapping names (`sequence_id`) or else
  by its occurrence among the rows of its file with the same equipment, tag and time, in file
  order (`reading_occurrence`): a date-only press log or a minute-resolution tank log keeps every
  row. Only a true re-send - the same key again, from the same content landed twice or an
  overlapping re-export - collapses, and then the latest `ingested_at` wins, then the latest
  `source_file` (then the last row of that file); delete+insert replaces the old row.
  A normal build takes only the rows of the ingest batches it has not taken yet
  (int_sensor_reading_batches: load_seq above the highest `_load_seq` here), so a late file for
  an old day is picked up, two ingests committed in either order are both taken once, and the cost
  is that of the new batches; a file's rows always arrive in one batch (one Delta commit), so
  occurrences are numbered within the batch.
  `--full-refresh` ranks the whole history the same way, so both builds give the same rows.
-#}
{%- set untaken = untaken_batches(ref('int_sensor_reading_batches'), this) if is_incremental() else none %}
with landed as (
    select
        s.company_id, s.site_id, s.line_id, s.equipment_id, s.sensor_id, s.source_tag, s.tag_code,
        s.value_raw, s.unit_raw, s.value_si, s.si_unit, s.unit_status, s.reading_ts_utc, s.reading_ts_kst,
        s.reading_date_kst, s.sequence_id, s.lot_id, s.dataset_entry, s.source_file, s.source_row, s.source_hash,
        s.ingested_at, taken.load_seq as _load_seq,
        row_number() over (
            partition by s.company_id, s.source_file, s.source_hash, s.ingested_at, s.dataset_entry,
                         s.equipment_id, s.source_tag, s.reading_ts_utc
            order by s.source_row
        ) as reading_occurrence
    from {{ ref('stg_sensor_readings') }} as s
    join {{ ref('int_sensor_reading_batches') }} as taken
      on taken.ingest_run_id = s.ingest_run_id and taken.source_hash = s.source_hash
     and taken.dataset_entry = s.dataset_entry and taken.source_file = s.source_file
    {% if is_incremental() %}
    where taken.load_seq > (select coalesce(max(_load_seq), 0) from {{ this }})
    {%- if untaken and untaken.nothing %}
      and false
    {%- elif untaken %}
      and s.ingested_at between {{ untaken.ingested_from }} and {{ untaken.ingested_to }}
    {%- endif %}
    {% endif %}
),

batch as (
    select
        company_id, site_id, line_id, equipment_id, sensor_id, source_tag, tag_code,
        value_raw, unit_raw, value_si, si_unit, unit_status, reading_ts_utc, reading_ts_kst,
        reading_date_kst, sequence_id, reading_occurrence, lot_id, dataset_entry, source_file, source_row,
        source_hash, ingested_at, _load_seq
    from landed
),

{% if is_incremental() %}
{#- only the table's rows inside the batch's time range can share a key with it (the ledger
    records each batch's span of reading times) -#}
{%- set batch_range = untaken.readings if untaken and not untaken.nothing else none -%}
{%- set in_batch_range = "false" if untaken and untaken.nothing
                         else "t.reading_ts_utc between " ~ batch_range[0] ~ " and " ~ batch_range[1]
                         if batch_range else "true" %}
already_loaded as (
    select
        t.company_id, t.site_id, t.line_id, t.equipment_id, t.sensor_id, t.source_tag, t.tag_code,
        t.value_raw, t.unit_raw, t.value_si, t.si_unit, t.unit_status, t.reading_ts_utc, t.reading_ts_kst,
        t.reading_date_kst, t.sequence_id, t.reading_occurrence, t.lot_id, t.dataset_entry, t.source_file,
        t.source_row, t.source_hash, t.ingested_at, t._load_seq
    from {{ this }} as t
    where {{ in_batch_range }}
      and {{ reading_identity('t') }} in (select {{ reading_identity() }} from batch)
),

candidates as (
    select * from batch
    union all
    select * from already_loaded
),
{% else %}
candidates as (
    select * from batch
),
{% endif %}

final as (
    select
        cast(company_id as varchar) as company_id,
        cast(site_id as varchar) as site_id,
        cast(line_id as varchar) as line_id,
        cast(equipment_id as varchar) as equipment_id,
        cast(sensor_id as varchar) as sensor_id,
        cast(source_tag as varchar) as source_tag,
        cast(tag_code as varchar) as tag_code,
        cast(value_raw as double) as value_raw,
        cast(unit_raw as varchar) as unit_raw,
        cast(value_si as double) as value_si,
        cast(si_unit as varchar) as si_unit,
        cast(unit_status as varchar) as unit_status,
        cast(reading_ts_utc as timestamptz) as reading_ts_utc,
        cast(reading_ts_kst as timestamp) as reading_ts_kst,
        cast(reading_date_kst as date) as reading_date_kst,
        cast(sequence_id as varchar) as sequence_id,
        cast(reading_occurrence as bigint) as reading_occurrence,
        cast(lot_id as varchar) as lot_id,
        cast(dataset_entry as varchar) as dataset_entry,
        cast(source_file as varchar) as source_file,
        cast(source_row as bigint) as source_row,
        cast(source_hash as varchar) as source_hash,
        cast(ingested_at as timestamptz) as ingested_at,
        cast(_load_seq as bigint) as _load_seq
    from candidates
    qualify row_number() over (
        partition by {{ reading_identity_parts() }}
        order by {{ latest_ingest_first() }},
                 _load_seq desc
    ) = 1
)

{#- sorted as analysts read it (a sensor's values over time): the files compress several times
    better than in the order the rows were ranked in -#}
select * from final
order by company_id, sensor_id, reading_ts_utc
