{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='inspection_key',
        on_schema_change='append_new_columns',
        pre_hook=["{{ delete_rows_gone(ref('int_quality_inspections__deduplicated'), 'inspection_key', 'quality_inspections') }}"]
    )
}}
{#- One row per inspection (inspection_key; int_quality_inspections__deduplicated keeps the latest
    ingest of each), with its shift.
    A normal build shifts only the inspections taken since (macros/shifted_facts.sql). -#}
{{ shifted_rows_of(ref('int_quality_inspections__deduplicated'), 'latest.inspected_at_kst') }},

final as (
    select
        cast(inspection_key as varchar) as inspection_key,
        cast(lot_key as varchar) as lot_key,
        cast(company_id as varchar) as company_id,
        cast(line_id as varchar) as line_id,
        cast(lot_id as varchar) as lot_id,
        cast(inspected_at_utc as timestamptz) as inspected_at_utc,
        cast(inspected_at_kst as timestamp) as inspected_at_kst,
        cast(shift_code as varchar) as shift_code,
        cast(shift_date_kst as date) as shift_date_kst,
        cast(characteristic as varchar) as characteristic,
        cast(measured_value as double) as measured_value,
        cast(lower_spec as double) as lower_spec,
        cast(upper_spec as double) as upper_spec,
        cast(unit as varchar) as unit,
        cast(result as varchar) as result,
        cast(is_defect as boolean) as is_defect,
        cast(defect_type_raw as varchar) as defect_type_raw,
        cast(defect_code as varchar) as defect_code,
        cast(defect_name_ko as varchar) as defect_name_ko,
        cast(defect_name_en as varchar) as defect_name_en,
        cast(source_file as varchar) as source_file,
        cast(source_row as bigint) as source_row,
        cast(_bronze_version as bigint) as _bronze_version,
        cast(shifts_fingerprint as varchar) as _shifts_fingerprint
    from fingerprinted
)

select * from final
