{#-
  Inspections standardised: result pass|fail, the client's defect label mapped to a standard
  defect code through reference.defect_type_aliases (trimmed, upper-cased); a label that is not
  listed, or a failed inspection without a label, becomes OTHER.
  inspection_key: company, lot, characteristic, time, and the occurrence of that combination
  within one ingest of its file, so a re-export of the same rows dedupes while repeated rows in one
  file stay (numbered per ingest, a filter on ingested_at reaches the bronze scan through the window).
-#}
with inspections as (
    select
        trim(company_id) as company_id,
        nullif(trim(line_id), '') as line_id,
        nullif(trim(lot_id), '') as lot_id,
        cast(inspected_at as timestamptz) as inspected_at_utc,
        trim(characteristic) as characteristic,
        cast(measured_value as double) as measured_value,
        cast(lower_spec as double) as lower_spec,
        cast(upper_spec as double) as upper_spec,
        nullif(trim(unit), '') as unit,
        lower(trim(result)) as result,
        nullif(trim(defect_type), '') as defect_type_raw,
        _source_file as source_file,
        cast(_source_row as bigint) as source_row,
        _source_hash as source_hash,
        cast(_ingested_at as timestamptz) as ingested_at
    from {{ admitted_bronze('quality_inspections') }}
),

numbered as (
    select
        *,
        row_number() over (
            partition by source_file, source_hash, ingested_at, company_id, lot_id, characteristic, inspected_at_utc order by source_row
        ) as occurrence
    from inspections
),

aliases as (
    select upper(trim(alias)) as label, defect_code from {{ ref('defect_type_aliases') }}
),

defect_types as (
    select defect_code, name_ko, name_en from {{ ref('defect_types') }}
),

mapped as (
    select
        n.*,
        case
            when n.defect_type_raw is not null then coalesce(a.defect_code, 'OTHER')
            when n.result = 'fail' then 'OTHER'
        end as defect_code
    from numbered as n
    left join aliases as a on a.label = upper(n.defect_type_raw)
),

final as (
    select
        {{ surrogate_key(['m.company_id', 'm.lot_id', 'm.characteristic', 'm.inspected_at_utc', 'm.occurrence']) }}
            as inspection_key,
        {{ surrogate_key(['m.company_id', 'm.lot_id']) }} as lot_key,
        m.company_id,
        m.line_id,
        m.lot_id,
        m.inspected_at_utc,
        {{ to_kst('m.inspected_at_utc') }} as inspected_at_kst,
        m.characteristic,
        m.measured_value,
        m.lower_spec,
        m.upper_spec,
        m.unit,
        m.result,
        m.result = 'fail' as is_defect,
        m.defect_type_raw,
        m.defect_code,
        d.name_ko as defect_name_ko,
        d.name_en as defect_name_en,
        m.source_file,
        m.source_row,
        m.source_hash,
        m.ingested_at
    from mapped as m
    left join defect_types as d on d.defect_code = m.defect_code
)

select * from final
