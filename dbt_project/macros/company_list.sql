{#- Company ids as a query of one text column: `in (...)` and `not in (...)` both hold as written
    when the list is empty, and a quote in an id is escaped. -#}
{% macro company_list(companies) -%}
    {%- set quoted = [] -%}
    {%- for company in companies %}{% do quoted.append("'" ~ (company | replace("'", "''")) ~ "'") %}{% endfor -%}
    select unnest([{{ quoted | join(", ") }}]::varchar[])
{%- endmacro %}
