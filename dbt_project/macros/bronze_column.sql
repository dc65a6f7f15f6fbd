{#-
  A bronze column that newer ingests write and older bronze tables may not have yet (added by
  Delta schema evolution on the first ingest that writes it): the column when the warehouse's
  bronze table has it, else a typed null. The columns are those the build's preparation read from
  the Delta table's schema (ops.bronze_columns, copied into memory: orchestration/warehouse/
  bookkeeping.py); without them (dbt run by hand on a fresh warehouse) they are asked of the bronze
  view itself. Either way they are the real table's, so a unit test (whose source fixture takes its
  columns from that same table) renders the same way.
-#}
{% macro bronze_column(table, column, data_type) -%}
    {%- if execute -%}
        {%- set present = bronze_columns(table) -%}
        {%- if column | lower in present -%}
            {{ return(adapter.quote(column)) }}
        {%- endif -%}
    {%- endif -%}
    {{ return("cast(null as " ~ data_type ~ ")") }}
{%- endmacro %}

{% macro bronze_columns(table) -%}
    {%- set recorded = run_query("select string_agg(lower(column_name), ',') from memory.build.bronze_columns"
                                 ~ " where table_name = '" ~ table ~ "'") -%}
    {%- if recorded.rows[0][0] -%}
        {{ return(recorded.rows[0][0].split(',')) }}
    {%- endif -%}
    {%- set relation = api.Relation.create(schema='bronze', identifier=table) -%}
    {{ return(adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list) }}
{%- endmacro %}
