{#- The day the programme KPIs are measured on: var kpi_as_of_date, or today in KST. -#}
{% macro kpi_as_of_date() -%}
    {%- if var('kpi_as_of_date', none) -%}
        cast('{{ var("kpi_as_of_date") }}' as date)
    {%- else -%}
        cast(timezone('Asia/Seoul', current_timestamp) as date)
    {%- endif -%}
{%- endmacro %}
