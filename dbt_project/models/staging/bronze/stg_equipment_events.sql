{#- Equipment events: event_type standardised to run | stop | alarm (Korean labels accepted too).
    event_key: company, equipment, time, type, code and the occurrence of that combination within
    one ingest of its file (numbered per ingest, a filter on ingested_at reaches the bronze scan
    through the window). -#}
with events as (
    select
        trim(company_id) as company_id,
        nullif(trim(line_id), '') as line_id,
        nullif(trim(equipment_id), '') as equipment_id,
        cast(event_ts as timestamptz) as event_ts_utc,
        case lower(trim(event_type))
            when '가동' then 'run'
            when '정지' then 'stop'
            when '알람' then 'alarm'
            else lower(trim(event_type))
        end as event_type,
        nullif(trim(event_code), '') as event_code,
        nullif(trim(message), '') as message,
        _source_file as source_file,
        cast(_source_row as bigint) as source_row,
        _source_hash as source_hash,
        cast(_ingested_at as timestamptz) as ingested_at
    from {{ admitted_bronze('equipment_events') }}
),

numbered as (
    select
        *,
        row_number() over (
            partition by source_file, source_hash, ingested_at, company_id, equipment_id, event_ts_utc, event_type, event_code order by source_row
        ) as occurrence
    from events
),

final as (
    select
        {{ surrogate_key(['company_id', 'equipment_id', 'event_ts_utc', 'event_type', 'event_code', 'occurrence']) }}
            as event_key,
        company_id,
        line_id,
        equipment_id,
        event_ts_utc,
        {{ to_kst('event_ts_utc') }} as event_ts_kst,
        event_type,
        event_code,
        message,
        source_file,
        source_row,
        source_hash,
        ingested_at
    from numbered
)

select * from final
