{#-
  One row per `key` of a staged bronze table, the latest ingest winning (latest_ingest_first): the
  deduplicated equipment events and inspections. A normal build reads only the bronze rows in the
  Delta files added since the version it last took (`_bronze_version`; macros/new_batches.sql:
  bronze_rows_new_since) and ranks them with the rows it already holds under the same keys, so a
  new day costs a day. Taking a row again changes nothing (the same winner comes out), so the bound
  only has to be low enough, never exact; `--full-refresh` ranks all of bronze the same way.
  The staged view numbers repeated rows within one ingest of one file (partitioned by file, hash
  and ingest time), so the bound on `ingested_at` reaches the bronze scan through its window.
-#}
{% macro latest_rows_by_key(staged, key, bronze_table) -%}
{%- set new_since = bronze_rows_new_since(bronze_table) -%}
with staged as (
    select *, cast({{ new_since.version if new_since.version is not none else 'null' }} as bigint) as _bronze_version
    from {{ staged }}
    {%- if is_incremental() and new_since.ingested_from %}
    where ingested_at >= {{ new_since.ingested_from }}
    {%- endif %}
),

candidates as (
    select * from staged
    {%- if is_incremental() %}
    union all by name
    select * from {{ this }} where {{ key }} in (select {{ key }} from staged)
    {%- endif %}
)

select * from candidates
qualify row_number() over (partition by {{ key }} order by {{ latest_ingest_first() }}) = 1
{%- endmacro %}
