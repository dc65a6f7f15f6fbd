{#-
  A table another stage writes outside dbt (quality.*, ml.*, contrib.*), or an empty relation of
  the same columns when that stage has not written it yet. `columns` is a list of
  [name, type] pairs; the result always has exactly those columns, cast to those types, so a
  model reading it behaves the same before and after the other stage lands.
  `relation_exists` says which case it was, for the reason a KPI shows.
-#}
{% macro optional_relation(schema, identifier, columns) -%}
    {%- if relation_exists(schema, identifier) -%}
        (select {% for name, type in columns %}cast({{ name }} as {{ type }}) as {{ name }}{{ ", " if not loop.last }}{% endfor %}
         from {{ schema }}.{{ identifier }})
    {%- else -%}
        (select {% for name, type in columns %}cast(null as {{ type }}) as {{ name }}{{ ", " if not loop.last }}{% endfor %}
         where false)
    {%- endif -%}
{%- endmacro %}
