{#- One row per lot (lot_key); a lot re-sent in a later file replaces the earlier row. -#}
with latest as (
    select * from {{ ref('int_production_lots__deduplicated') }}
),

shifted as (
    {{ with_shift('latest', 'latest.start_ts_kst') }}
),

final as (
    select
        cast(lot_key as varchar) as lot_key,
        cast(company_id as varchar) as company_id,
        cast(site_id as varchar) as site_id,
        cast(line_id as varchar) as line_id,
        cast(equipment_id as varchar) as equipment_id,
        cast(lot_id as varchar) as lot_id,
        cast(product_code as varchar) as product_code,
        cast(start_ts_utc as timestamptz) as start_ts_utc,
        cast(end_ts_utc as timestamptz) as end_ts_utc,
        cast(start_ts_kst as timestamp) as start_ts_kst,
        cast(end_ts_kst as timestamp) as end_ts_kst,
        cast(production_date_kst as date) as production_date_kst,
        cast(shift_code as varchar) as shift_code,
        cast(shift_date_kst as date) as shift_date_kst,
        cast(quantity as double) as quantity,
        cast(defect_quantity as double) as defect_quantity,
        cast(good_quantity as double) as good_quantity,
        cast(quantity_unit as varchar) as quantity_unit,
        cast(source_file as varchar) as source_file,
        cast(source_row as bigint) as source_row
    from shifted
)

select * from final
