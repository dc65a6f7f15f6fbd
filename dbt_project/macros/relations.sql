{#-
  Every build writes a private copy of the warehouse (`.<name>.build.duckdb`) that is then renamed
  to the published file, so the DuckDB catalog name changes after the build. A view that named
  the catalog would break after the rename: refs and sources therefore render as schema.table.
-#}
{% macro ref() %}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {%- if relation is string -%}
        {{ return(relation) }}
    {%- endif -%}
    {{ return(relation.include(database=false)) }}
{% endmacro %}

{% macro source() %}
    {%- set relation = builtins.source(*varargs, **kwargs) -%}
    {%- if relation is string -%}
        {{ return(relation) }}
    {%- endif -%}
    {{ return(relation.include(database=false)) }}
{% endmacro %}
