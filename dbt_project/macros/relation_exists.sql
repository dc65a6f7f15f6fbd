{#- Whether a table or view exists in the warehouse being built (false while parsing). -#}
{% macro relation_exists(schema, identifier) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query(
        "select count(*) from information_schema.tables where table_catalog = current_database() "
        ~ "and table_schema = '" ~ schema ~ "' and table_name = '" ~ identifier ~ "'") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}
