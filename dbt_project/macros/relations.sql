{#-
  Refs and sources render without the catalog name: the warehouse DuckLake is attached under an
  alias each session chooses (dbt's `warehouse`, an analyst's `lake`, a BI tool's own), and a view
  that named the catalog would only work under the alias it was built with. DuckDB binds a view's
  body in the view's own catalog, so schema.table is enough.
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
