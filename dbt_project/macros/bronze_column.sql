{#-
  A bronze column that newer ingests write and older bronze tables may not have yet (added by
  Delta schema evolution on the first ingest that writes it): the column when the warehouse's
  bronze table has it, else a typed null. Looked up on the real bronze table, so a unit test
  (whose source fixture takes its columns from that same table) renders the same way.
-#}
{% macro bronze_column(table, column, data_type) -%}
    {%- if execute -%}
        {%- set relation = api.Relation.create(schema='bronze', identifier=table) -%}
        {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
        {%- if column | lower in present -%}
            {{ return(adapter.quote(column)) }}
        {%- endif -%}
    {%- endif -%}
    {{ return("cast(null as " ~ data_type ~ ")") }}
{%- endmacro %}
