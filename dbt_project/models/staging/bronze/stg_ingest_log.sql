with log as (
    select
        trim(company_id) as company_id,
        source_file,
        source_hash,
        dataset,
        lower(trim(status)) as status,
        cast(rows_landed as bigint) as rows_landed,
        cast(rows_rejected as bigint) as rows_rejected,
        nullif(trim(unmapped_columns), '') as unmapped_columns,
        mapping_version,
        cast(file_size_bytes as bigint) as file_size_bytes,
        cast(file_modified_at as timestamptz) as file_modified_at,
        cast(ingested_at as timestamptz) as ingested_at,
        ingest_run_id,
        cast(_handover_seq as bigint) as _handover_seq
    from {{ source('bronze', 'ingest_log') }}
),

final as (
    select * from log
)

select * from final
