{#-
  The ingest batches of `batches_relation` (int_sensor_reading_batches) that `fact` has not taken
  yet - load_seq above the highest `_load_seq` in `fact` - looked up before the model's query:
  {'after_load': n, 'ingested_from': timestamptz literal, 'ingested_to': timestamptz literal,
  'readings': [first, last] reading time of those batches as timestamptz literals, or none},
  or {'after_load': n, 'nothing': true} when every batch is taken (the model then reads no bronze
  at all: without a range to prune by, its filter on the ledger scanned every bronze file only to
  find no new row - 6.4 s of a build with nothing new at 30 days). The ingest time range is only
  a hint for DuckDB to skip bronze files by their statistics (a constant prunes Delta files, a
  subquery does not); the batches themselves decide which rows are taken. Unit tests feed refs as
  CTEs, which a separate query cannot see: they get none, and the model keeps its plain filter.
-#}
{% macro untaken_batches(batches_relation, fact) %}
    {%- if not execute or '__dbt__cte__' in (batches_relation | string) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set taken = "(select coalesce(max(_load_seq), 0) from " ~ fact ~ ")" -%}
    {%- set found = run_query(
        "select " ~ taken ~ ", strftime(min(first_ingested_at), '%Y-%m-%d %H:%M:%S.%f+00'), "
        ~ "strftime(max(last_ingested_at), '%Y-%m-%d %H:%M:%S.%f+00'), "
        ~ "strftime(min(first_reading_ts_utc), '%Y-%m-%d %H:%M:%S.%f+00'), "
        ~ "strftime(max(last_reading_ts_utc), '%Y-%m-%d %H:%M:%S.%f+00') from " ~ batches_relation
        ~ " where load_seq > " ~ taken) -%}
    {%- set row = found.rows[0] -%}
    {%- if row[1] is none -%}
        {{ return({'after_load': row[0], 'nothing': true}) }}
    {%- endif -%}
    {{ return({'after_load': row[0], 'nothing': false,
               'ingested_from': "timestamptz '" ~ row[1] ~ "'",
               'ingested_to': "timestamptz '" ~ row[2] ~ "'",
               'readings': ["timestamptz '" ~ row[3] ~ "'", "timestamptz '" ~ row[4] ~ "'"] if row[3] is not none else none}) }}
{% endmacro %}

{#-
  [from, to] of `column` over `rows_sql` (a "from ... where ..." clause), looked up before the
  model's query and returned as two timestamptz constants - or none when there are no rows.
  Written into a filter as constants, the range lets DuckDB skip whole files and row groups of a
  large fact table by their min/max. `whole_hours` widens it to [first hour, last hour + 1 h).
-#}
{% macro time_range(rows_sql, column, whole_hours=false) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if whole_hours -%}
        {%- set lower = "strftime(date_trunc('hour', min(" ~ column ~ ")), '%Y-%m-%d %H:%M:%S+00')" -%}
        {%- set upper = "strftime(date_trunc('hour', max(" ~ column ~ ")) + interval 1 hour, '%Y-%m-%d %H:%M:%S+00')" -%}
    {%- else -%}
        {%- set lower = "strftime(min(" ~ column ~ "), '%Y-%m-%d %H:%M:%S.%f+00')" -%}
        {%- set upper = "strftime(max(" ~ column ~ "), '%Y-%m-%d %H:%M:%S.%f+00')" -%}
    {%- endif -%}
    {%- set bounds = run_query("select " ~ lower ~ ", " ~ upper ~ " " ~ rows_sql) -%}
    {%- if bounds.rows[0][0] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(["timestamptz '" ~ bounds.rows[0][0] ~ "'", "timestamptz '" ~ bounds.rows[0][1] ~ "'"]) }}
{% endmacro %}

{#-
  What a bronze table read incrementally (sensor_readings, equipment_events, quality_inspections)
  gained since the warehouse last took rows of it, as the build wrote it before dbt ran
  (orchestration/warehouse/bronze_sources.py, ops.bronze_new_rows): {'version': the Delta version
  now, 'ingested_from': a timestamptz literal - the earliest `_ingested_at` of the Delta files
  added since, 'infinity' when none were - or none when not known}. Outside a build (dbt by hand,
  unit tests) the table may be missing: version none, no bound.
-#}
{% macro bronze_rows_new_since(table) %}
    {%- if not execute -%}
        {{ return({'version': none, 'ingested_from': none}) }}
    {%- endif -%}
    {#- the preparation's ops.bronze_new_rows as dbt's connection copied it (orchestration/warehouse/bookkeeping.py) -#}
    {%- set found = run_query(
        "select delta_version, case when isinf(ingested_from) then 'infinity' "
        ~ "else strftime(ingested_from, '%Y-%m-%d %H:%M:%S.%f+00') end from memory.build.bronze_new_rows"
        ~ " where table_name = '" ~ table ~ "'") -%}
    {%- if found.rows | length == 0 -%}
        {{ return({'version': none, 'ingested_from': none}) }}
    {%- endif -%}
    {{ return({'version': found.rows[0][0],
               'ingested_from': "timestamptz '" ~ found.rows[0][1] ~ "'" if found.rows[0][1] is not none else none}) }}
{% endmacro %}
