{#- One row per landing file (company, path, content hash): its latest ingest status. -#}
with log as (
    select * from {{ ref('stg_ingest_log') }}
),

latest as (
    select *
    from log
    qualify row_number() over (
        partition by company_id, source_file, source_hash
        order by ingested_at desc nulls last, ingest_run_id desc nulls last
    ) = 1
),

final as (
    select
        cast({{ surrogate_key(['company_id', 'source_file', 'source_hash']) }} as varchar) as landing_file_key,
        cast(company_id as varchar) as company_id,
        cast(source_file as varchar) as source_file,
        cast(source_hash as varchar) as source_hash,
        cast(dataset as varchar) as dataset,
        cast(status as varchar) as status,
        cast(rows_landed as bigint) as rows_landed,
        cast(rows_rejected as bigint) as rows_rejected,
        cast(file_modified_at as timestamptz) as file_modified_at,
        cast(ingested_at as timestamptz) as ingested_at,
        cast(unmapped_columns as varchar) as unmapped_columns
    from latest
)

select * from final
