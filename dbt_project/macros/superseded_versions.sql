{#-
  Versions of a landing file that a later version replaces: a client re-exporting an extended or
  corrected file under the same name lands a new version whose ledger row names the version it
  supersedes (orchestration/lakehouse/landing_to_bronze.py). The warehouse keeps only the latest
  version's rows. A version that was quarantined supersedes nothing (its rows never landed).
-#}
{% macro superseded_versions() -%}
    select distinct company_id, source_file, {{ bronze_column('ingest_log', 'supersedes', 'varchar') }} as source_hash
    from {{ source('bronze', 'ingest_log') }}
    where {{ bronze_column('ingest_log', 'supersedes', 'varchar') }} is not null
      and lower(status) in ('ingested', 'partial')
{%- endmacro %}

{#-
  Post-hook of fct_sensor_readings: readings of a version superseded by a version this build took
  leave the fact (the new version's readings replaced those with the same key already; this removes
  the ones the new version no longer has). Looked up first, so a build with no new version costs
  nothing.
-#}
{% macro delete_superseded_readings() -%}
    {%- if execute and is_incremental() -%}
        {%- set found = run_query(
            "select old.company_id, old.source_file, old.source_hash from (" ~ superseded_versions() ~ ") as old "
            ~ "where exists (select 1 from " ~ ref('int_sensor_reading_batches') ~ " as taken "
            ~ "where taken.company_id = old.company_id and taken.source_file = old.source_file "
            ~ "and taken.load_seq = (select max(load_seq) from " ~ ref('int_sensor_reading_batches') ~ "))") -%}
        {{ delete_versions(found.rows) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#-
  Post-hook of the deduplicated events and inspections: rows of a superseded version still in the
  table leave it, as a full build would never have taken them. Found by one pass over three
  dictionary-encoded columns, so a build with no new version costs little. Where each company's
  removed rows began is recorded first (ops.removed_history, with the bronze version of this
  build), so the unit state and history features recompute the units after it
  (macros/unit_windows.sql: units_with_changed_history).
-#}
{% macro delete_superseded_rows(bronze_table, time_column) -%}
    {%- if execute and is_incremental() -%}
        {%- set found = run_query(
            "select distinct t.company_id, t.source_file, t.source_hash from " ~ this ~ " as t "
            ~ "semi join (" ~ superseded_versions() ~ ") as old on old.company_id = t.company_id "
            ~ "and old.source_file = t.source_file and old.source_hash = t.source_hash") -%}
        {%- set version = bronze_rows_new_since(bronze_table).version -%}
        {%- if found.rows | length > 0 -%}
            insert into ops.removed_history
            select '{{ bronze_table }}', company_id, min({{ time_column }}),
                   {{ version if version is not none else 'null' }}
            from {{ this }} where {{ of_versions(found.rows) }}
            group by company_id;
        {%- endif %}
        {{ delete_versions(found.rows) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The rows of the given (company_id, source_file, source_hash) versions, as a filter. -#}
{% macro of_versions(versions) -%}
    ({%- for row in versions %}
        {{ 'or' if not loop.first }} (company_id = '{{ row[0] }}' and source_file = '{{ row[1] | replace("'", "''") }}'
            and source_hash = '{{ row[2] }}')
    {%- endfor %})
{%- endmacro %}

{#- The delete of the rows of the given versions, or a no-op. -#}
{% macro delete_versions(versions) -%}
    {%- if versions | length > 0 -%}
        delete from {{ this }} where {{ of_versions(versions) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- ops.removed_history (written by delete_superseded_rows), or none before a build has made it.
    A build's preparation makes it together with ops.bronze_new_rows (orchestration/warehouse/
    bronze_sources.py), so when dbt's connection copied rows of that one, it exists; only dbt run by
    hand has dbt look (a listing of the schema through information_schema, 0.1 s). -#}
{% macro removed_history() -%}
    {%- if execute and run_query("select count(*) from memory.build.bronze_new_rows").rows[0][0] > 0 -%}
        {{ return(api.Relation.create(database=target.database, schema='ops', identifier='removed_history')) }}
    {%- endif -%}
    {{ return(adapter.get_relation(database=target.database, schema='ops', identifier='removed_history')) }}
{%- endmacro %}

