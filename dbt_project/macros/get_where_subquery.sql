{#-
  Tests on the large incremental facts check the rows of the newest load only, so a daily build
  costs about one day of testing, like the models themselves. Older rows were tested when they
  arrived, and delete+insert on the unique key keeps keys unique across loads. For the facts the
  newest load is their highest `_load_seq`; for stg_sensor_readings (tested before the batch
  ledger moves on) it is the rows whose ingest batch is not in int_sensor_reading_batches yet.
  `--full-refresh` (and a first build, where every row is new) tests everything.
  A test's own `where:` config still wins.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- set untaken = '' -%}
    {%- if not where and relation.identifier in var('tested_by_latest_batch', []) and not flags.FULL_REFRESH -%}
        {%- if relation.identifier == 'stg_sensor_readings' -%}
            {%- set ledger = adapter.get_relation(database=target.database, schema='intermediate',
                                                  identifier='int_sensor_reading_batches') -%}
            {%- if ledger is not none -%}
                {%- set new_since = bronze_rows_new_since('sensor_readings') -%}
                {%- set this_rows = relation.include(database=false) -%}
                {#- an anti join, not `not exists`: macros/admitted_bronze.sql says why -#}
                {%- set untaken = "anti join " ~ ledger.include(database=false) ~ " as taken"
                                  ~ " on taken.ingest_run_id = " ~ this_rows ~ ".ingest_run_id"
                                  ~ " and taken.source_hash = " ~ this_rows ~ ".source_hash"
                                  ~ " and taken.dataset_entry = " ~ this_rows ~ ".dataset_entry"
                                  ~ " and taken.source_file = " ~ this_rows ~ ".source_file" -%}
                {%- set where = "ingested_at >= " ~ new_since.ingested_from if new_since.ingested_from else "true" -%}
            {%- endif -%}
        {%- else -%}
            {%- set where = "_load_seq = (select max(_load_seq) from " ~ relation.include(database=false) ~ ")" -%}
        {%- endif -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} {{ untaken }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
