{#-
  The event and inspection facts (fct_equipment_events, fct_quality_inspections) are their
  deduplicated intermediate tables with each row's work shift (fct_sensor_readings_hourly uses
  the same fingerprints and re-shifts its own rows). A normal build takes only the rows the
  intermediate table took since (its `_bronze_version` above the highest here), and again
  every row of a company whose shifts changed since its rows were shifted (dim_shift's rows of
  the company, fingerprinted in `_shifts_fingerprint`); rows that left the intermediate table with
  a superseded file version leave here too (`delete_rows_gone`). So a new day costs a day, and
  the result is the rows a full rebuild gives.
-#}
{% macro shifted_rows_of(deduplicated, ts_kst) -%}
{%- set redo = companies_with_changed_shifts() if execute and is_incremental() else [] -%}
with latest as (
    select * from {{ deduplicated }}
    {%- if is_incremental() %}
    where _bronze_version is null
       or _bronze_version > (select coalesce(max(_bronze_version), -1) from {{ this }})
       {%- if redo %}
       or company_id in ({{ company_list(redo) }})
       {%- endif %}
    {%- endif %}
),

shifted as (
    {{ with_shift('latest', ts_kst) }}
),

fingerprinted as (
    {{ with_shift_fingerprint('shifted') }}
)
{%- endmacro %}

{#- The rows of `relation` with the fingerprint of their company's shifts (shifts_fingerprint). -#}
{% macro with_shift_fingerprint(relation) -%}
    select {{ relation }}.*, f.shifts_fingerprint
    from {{ relation }}
    left join ({{ shift_fingerprints() }}) as f on f.company_id = {{ relation }}.company_id
{%- endmacro %}

{#- One fingerprint per company of the dim_shift rows that decide its rows' shifts. -#}
{% macro shift_fingerprints() -%}
    select company_id,
           md5(string_agg(concat_ws('|', shift_code, start_time_kst, end_time_kst), ',' order by shift_code))
               as shifts_fingerprint
    from {{ ref('dim_shift') }}
    group by company_id
{%- endmacro %}

{#- Companies whose rows here were shifted by other shifts than dim_shift's now (none in a unit
    test, whose `this` is a CTE). -#}
{% macro companies_with_changed_shifts() -%}
    {%- if '__dbt__cte__' in (this | string) -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set found = run_query(
        "select distinct t.company_id from " ~ this ~ " as t join (" ~ shift_fingerprints()
        ~ ") as f on f.company_id = t.company_id where t._shifts_fingerprint is distinct from f.shifts_fingerprint") -%}
    {{ return(found.columns[0].values() | list) }}
{%- endmacro %}

{#-
  Pre-hook of the shifted facts: rows whose key left the deduplicated table with a superseded file
  version since this table's last build (ops.removed_history names the companies and versions).
-#}
{% macro delete_rows_gone(deduplicated, key, bronze_table) -%}
    {%- set removed = removed_history() if execute else none -%}
    {%- if execute and is_incremental() and removed is not none -%}
        delete from {{ this }} as f
        where f.company_id in (select company_id from {{ removed.include(database=false) }}
                               where table_name = '{{ bronze_table }}'
                                 and bronze_version > (select coalesce(max(_bronze_version), -1) from {{ this }}))
          and not exists (select 1 from {{ deduplicated }} as d where d.{{ key }} = f.{{ key }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
