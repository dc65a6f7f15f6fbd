{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_key',
        on_schema_change='append_new_columns',
        pre_hook=["{{ delete_rows_gone(ref('int_equipment_events__deduplicated'), 'event_key', 'equipment_events') }}"]
    )
}}
{#- One row per equipment event (event_key); a re-export of the same rows replaces the earlier ones.
    A normal build shifts only the events taken since (macros/shifted_facts.sql). -#}
{{ shifted_rows_of(ref('int_equipment_events__deduplicated'), 'latest.event_ts_kst') }},

final as (
    select
        cast(event_key as varchar) as event_key,
        cast(company_id as varchar) as company_id,
        cast(line_id as varchar) as line_id,
        cast(equipment_id as varchar) as equipment_id,
        cast(event_ts_utc as timestamptz) as event_ts_utc,
        cast(event_ts_kst as timestamp) as event_ts_kst,
        cast(shift_code as varchar) as shift_code,
        cast(shift_date_kst as date) as shift_date_kst,
        cast(event_type as varchar) as event_type,
        cast(event_code as varchar) as event_code,
        cast(message as varchar) as message,
        cast(source_file as varchar) as source_file,
        cast(source_row as bigint) as source_row,
        cast(_bronze_version as bigint) as _bronze_version,
        cast(shifts_fingerprint as varchar) as _shifts_fingerprint
    from fingerprinted
)

select * from final
