{#-
  One row per sensor reading as landed, standardised: labels trimmed, value converted to the
  tag's SI unit through reference.unit_conversions, timestamps in UTC and KST wall clock.
  Not deduplicated and not keyed: a reading's identity (its sequence id, or its occurrence among
  the file's rows with the same time) and overlapping re-exports are resolved in fct_sensor_readings.
-#}
with readings as (
    select
        trim(company_id) as company_id,
        nullif(trim(line_id), '') as line_id,
        nullif(trim(equipment_id), '') as equipment_id,
        trim(source_tag) as source_tag,
        upper(trim(tag)) as tag_code,
        cast(value as double) as value_raw,
        trim(unit) as unit_raw,
        cast(reading_ts as timestamptz) as reading_ts_utc,
        nullif(trim({{ bronze_column('sensor_readings', 'sequence_id', 'varchar') }}), '') as sequence_id,
        nullif(trim({{ bronze_column('sensor_readings', 'lot_id', 'varchar') }}), '') as lot_id,
        coalesce({{ bronze_column('sensor_readings', '_dataset_entry', 'varchar') }}, 'sensor_readings') as dataset_entry,
        {{ bronze_column('sensor_readings', '_mapping_version', 'varchar') }} as mapping_version,
        _source_file as source_file,
        cast(_source_row as bigint) as source_row,
        _source_hash as source_hash,
        cast(_ingested_at as timestamptz) as ingested_at,
        _ingest_run_id as ingest_run_id
    from {{ admitted_bronze('sensor_readings') }}
),

units as (
    select unit, quantity, multiplier, "offset" from {{ ref('unit_conversions') }}
),

tags as (
    select tag_code, quantity, si_unit from {{ ref('tag_dictionary') }}
),

converted as (
    select
        r.*,
        t.si_unit,
        case
            when u.unit is null then 'unknown_unit'
            when t.tag_code is null or u.quantity <> t.quantity then 'quantity_mismatch'
            else 'ok'
        end as unit_status,
        u.multiplier,
        u."offset" as unit_offset
    from readings as r
    left join units as u on u.unit = r.unit_raw
    left join tags as t on t.tag_code = r.tag_code
),

final as (
    select
        company_id,
        company_id as site_id,
        line_id,
        equipment_id,
        coalesce(equipment_id, line_id, '') || ':' || source_tag as sensor_id,
        source_tag,
        tag_code,
        value_raw,
        unit_raw,
        case when unit_status = 'ok' then value_raw * multiplier + unit_offset end as value_si,
        si_unit,
        unit_status,
        reading_ts_utc,
        {{ to_kst('reading_ts_utc') }} as reading_ts_kst,
        cast({{ to_kst('reading_ts_utc') }} as date) as reading_date_kst,
        sequence_id,
        lot_id,
        dataset_entry,
        mapping_version,
        source_file,
        source_row,
        source_hash,
        ingested_at,
        ingest_run_id
    from converted
)

select * from final
