with rejections as (
    select
        trim(company_id) as company_id,
        source_file,
        source_hash,
        dataset,
        cast(row_number as bigint) as source_row,
        column_name,
        reason,
        message,
        cast(quarantined_at as timestamptz) as quarantined_at,
        ingest_run_id
    from {{ source('bronze', 'ingest_rejections') }}
),

final as (
    select * from rejections
)

select * from final
