{#-
  dbt-duckdb names an incremental model's temp table `<model>__dbt_tmp<timestamp>`; one build runs
  one model at a time per connection, so `<model>__dbt_tmp` is unique enough and lets a model's
  incremental_predicates name its new rows (fct_sensor_readings bounds its delete by their time).
-#}
{% macro duckdb__make_temp_relation(base_relation, suffix) %}
    {% do return(base_relation.incorporate(path={"identifier": base_relation.identifier ~ suffix,
                                                 "schema": none, "database": none})) -%}
{% endmacro %}
