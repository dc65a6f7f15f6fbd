{#-
  Tests on the large incremental facts check the rows of the latest bronze hand-over only, so a
  daily build costs about one day of testing, like the models themselves. Older rows were tested
  when they arrived, and delete+insert on the unique key keeps keys unique across batches.
  `--full-refresh` (and a first build, where every row is in the latest batch) tests everything.
  A test's own `where:` config still wins.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if not where and relation.identifier in var('tested_by_latest_batch', []) and not flags.FULL_REFRESH -%}
        {%- set where = "_handover_seq = (select max(handover_seq) from bronze._handover_state)" -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
