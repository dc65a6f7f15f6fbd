{#-
  Every ingest attempt of every landing file, per mapping entry that read it. Columns the ledger
  gained with several entries per file (dataset_entry, source_rows, bronze_rows, duplicate_of)
  read as null on older rows; an older row's entry is its dataset (one entry per dataset then).
-#}
with log as (
    select
        trim(company_id) as company_id,
        source_file,
        source_hash,
        dataset,
        coalesce(nullif(trim({{ bronze_column('ingest_log', 'dataset_entry', 'varchar') }}), ''), dataset, '(file)')
            as dataset_entry,
        lower(trim(status)) as status,
        cast({{ bronze_column('ingest_log', 'source_rows', 'bigint') }} as bigint) as source_rows,
        cast(rows_landed as bigint) as rows_landed,
        cast(rows_rejected as bigint) as rows_rejected,
        cast({{ bronze_column('ingest_log', 'bronze_rows', 'bigint') }} as bigint) as bronze_rows,
        nullif(trim({{ bronze_column('ingest_log', 'duplicate_of', 'varchar') }}), '') as duplicate_of,
        nullif(trim(unmapped_columns), '') as unmapped_columns,
        mapping_version,
        cast(file_size_bytes as bigint) as file_size_bytes,
        cast(file_modified_at as timestamptz) as file_modified_at,
        cast(ingested_at as timestamptz) as ingested_at,
        ingest_run_id
    from {{ source('bronze', 'ingest_log') }}
),

final as (
    select * from log
)

select * from final
