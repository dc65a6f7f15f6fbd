{#-
  The time range of the rows of `rows_relation` newer than anything in `incremental_relation`
  (by `_handover_seq`), looked up before the model's query and returned as two SQL timestamp
  constants [from, to] - or none when there are no new rows. Written into a filter as constants,
  the range lets DuckDB skip whole row groups of a large fact table by their min/max, which a
  scalar subquery does not. `whole_hours` widens it to [first hour, last hour + 1 h).
  Unit tests feed refs as CTEs, which a separate query cannot see: they get none too, and the
  model keeps its plain filter.
-#}
{% macro newest_batch_time_range(rows_relation, incremental_relation, whole_hours=false) %}
    {%- if not execute or '__dbt__cte__' in (rows_relation | string) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if whole_hours -%}
        {%- set lower = "strftime(date_trunc('hour', min(reading_ts_utc)), '%Y-%m-%d %H:%M:%S+00')" -%}
        {%- set upper = "strftime(date_trunc('hour', max(reading_ts_utc)) + interval 1 hour, '%Y-%m-%d %H:%M:%S+00')" -%}
    {%- else -%}
        {%- set lower = "strftime(min(reading_ts_utc), '%Y-%m-%d %H:%M:%S.%f+00')" -%}
        {%- set upper = "strftime(max(reading_ts_utc), '%Y-%m-%d %H:%M:%S.%f+00')" -%}
    {%- endif -%}
    {%- set bounds = run_query("select " ~ lower ~ ", " ~ upper ~ " from " ~ rows_relation
                               ~ " where _handover_seq > (select coalesce(max(_handover_seq), 0) from "
                               ~ incremental_relation ~ ")") -%}
    {%- if bounds.rows[0][0] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(["timestamptz '" ~ bounds.rows[0][0] ~ "'", "timestamptz '" ~ bounds.rows[0][1] ~ "'"]) }}
{% endmacro %}
