{#-
  A bronze content table as the warehouse takes it: without the batches held back by warehouse
  isolation (orchestration/warehouse/isolation.py: a held batch - ingest run, landing file,
  content hash - stays in bronze, untouched, and out of every model until it is released), and
  without the rows of file versions a later version superseded (macros/superseded_versions.sql).
  ops.held_back_batches is the build's own bookkeeping (made before dbt runs), not a dbt source:
  as a source it would show in Dagster as an asset nobody materialises.
  Anti joins, not `not exists`: DuckDB turns a correlated `not exists` into a delim join that
  first groups every bronze row by the correlated columns - 0.3 s of a day's readings and 8 s of
  30 days' at each read, though both lists are nearly always empty - while an anti join builds
  its hash table on the short list and streams the bronze rows past it.
-#}
{% macro admitted_bronze(table) -%}
(
    select bronze_rows.* from {{ source('bronze', table) }} as bronze_rows
    anti join (
        select company_id, source_file, source_hash, ingest_run_id from ops.held_back_batches
        where released_at is null and table_name = '{{ table }}'
    ) as held
      on held.company_id = bronze_rows.company_id
     and held.source_file is not distinct from bronze_rows._source_file
     and held.source_hash is not distinct from bronze_rows._source_hash
     and held.ingest_run_id is not distinct from bronze_rows._ingest_run_id
    anti join ({{ superseded_versions() }}) as old
      on old.company_id = bronze_rows.company_id
     and old.source_file = bronze_rows._source_file
     and old.source_hash = bronze_rows._source_hash
)
{%- endmacro %}
