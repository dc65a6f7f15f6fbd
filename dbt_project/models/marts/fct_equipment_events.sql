{#- One row per equipment event (event_key); a re-export of the same rows replaces the earlier ones. -#}
with latest as (
    select * from {{ ref('int_equipment_events__deduplicated') }}
),

shifted as (
    {{ with_shift('latest', 'latest.event_ts_kst') }}
),

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
        cast(source_row as bigint) as source_row
    from shifted
)

select * from final
