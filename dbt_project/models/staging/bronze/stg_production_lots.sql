with lots as (
    select
        trim(company_id) as company_id,
        nullif(trim(line_id), '') as line_id,
        nullif(trim(equipment_id), '') as equipment_id,
        trim(lot_id) as lot_id,
        nullif(trim(product_code), '') as product_code,
        cast(start_ts as timestamptz) as start_ts_utc,
        cast(end_ts as timestamptz) as end_ts_utc,
        cast(quantity as double) as quantity,
        cast(defect_quantity as double) as defect_quantity,
        coalesce(nullif(trim({{ bronze_column('production_lots', 'quantity_unit', 'varchar') }}), ''), 'ea') as quantity_unit,
        _source_file as source_file,
        cast(_source_row as bigint) as source_row,
        _source_hash as source_hash,
        cast(_ingested_at as timestamptz) as ingested_at
    from {{ admitted_bronze('production_lots') }}
),

final as (
    select
        {{ surrogate_key(['company_id', 'lot_id']) }} as lot_key,
        company_id,
        company_id as site_id,
        line_id,
        equipment_id,
        lot_id,
        product_code,
        start_ts_utc,
        end_ts_utc,
        {{ to_kst('start_ts_utc') }} as start_ts_kst,
        {{ to_kst('end_ts_utc') }} as end_ts_kst,
        cast({{ to_kst('coalesce(start_ts_utc, end_ts_utc)') }} as date) as production_date_kst,
        quantity,
        defect_quantity,
        quantity - coalesce(defect_quantity, 0) as good_quantity,
        quantity_unit,
        source_file,
        source_row,
        source_hash,
        ingested_at
    from lots
)

select * from final
