{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_key',
        on_schema_change='append_new_columns',
        post_hook=["{{ delete_superseded_rows('equipment_events', 'event_ts_utc') }}"]
    )
}}
{#- One row per event_key: a re-export of the same events replaces the earlier rows
    (macros/latest_rows.sql: a normal build takes the new bronze files only). -#}
{{ latest_rows_by_key(ref('stg_equipment_events'), 'event_key', 'equipment_events') }}
