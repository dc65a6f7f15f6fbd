{#-
  A bronze content table as the warehouse takes it: without the batches held back by warehouse
  isolation (orchestration/warehouse/isolation.py: a held batch - ingest run, landing file,
  content hash - stays in bronze, untouched, and out of every model until it is released), and
  without the rows of file versions a later version superseded (macros/superseded_versions.sql).
  ops.held_back_batches is the build's own bookkeeping (made before dbt runs), not a dbt source:
  as a source it would show in Dagster as an asset nobody materialises.
-#}
{% macro admitted_bronze(table) -%}
(
    select * from {{ source('bronze', table) }} as bronze_rows
    where not exists (
        select 1 from ops.held_back_batches as held
        where held.released_at is null
          and held.table_name = '{{ table }}'
          and held.company_id = bronze_rows.company_id
          and held.source_file is not distinct from bronze_rows._source_file
          and held.source_hash is not distinct from bronze_rows._source_hash
          and held.ingest_run_id is not distinct from bronze_rows._ingest_run_id
    )
    and not exists (
        select 1 from ({{ superseded_versions() }}) as old
        where old.company_id = bronze_rows.company_id
          and old.source_file = bronze_rows._source_file
          and old.source_hash = bronze_rows._source_hash
    )
)
{%- endmacro %}
