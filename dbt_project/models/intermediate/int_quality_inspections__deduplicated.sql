{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='inspection_key',
        on_schema_change='append_new_columns',
        post_hook=["{{ delete_superseded_rows('quality_inspections', 'inspected_at_utc') }}"]
    )
}}
{#- One row per inspection_key: a re-export of the same rows replaces the earlier ones
    (macros/latest_rows.sql: a normal build takes the new bronze files only). -#}
{{ latest_rows_by_key(ref('stg_quality_inspections'), 'inspection_key', 'quality_inspections') }}
