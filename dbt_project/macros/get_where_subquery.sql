{#-
  Tests on the large incremental facts check the rows of the newest load only, so a daily build
  costs about one day of testing, like the models themselves. Older rows were tested when they
  arrived, and delete+insert on the unique key keeps keys unique across loads. The newest load is
  their highest `_load_seq`.
  `--full-refresh` (and a first build, where every row is new) tests everything.
  The unique (or primary_key) test of any other delete+insert model on its own unique key looks
  only at the rows this build inserted into it (DuckLake's table_insertions since the build's preparation): the
  delete took every earlier row with a key the build inserts, so a duplicate can only be among them.
  A test's own `where:` config still wins.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if not where and relation.identifier in var('tested_by_latest_batch', []) and not flags.FULL_REFRESH -%}
        {%- set where = "_load_seq = (select max(_load_seq) from " ~ relation.include(database=false) ~ ")" -%}
    {%- elif not where and not flags.FULL_REFRESH and unique_on_replaced_key(relation) -%}
        {%- set inserted = rows_this_build_inserted(relation) -%}
        {%- if inserted is not none -%}
            {%- do return("(" ~ inserted ~ ") dbt_subquery") -%}
        {%- endif -%}
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

{#- Whether this test is a unique test (or a primary_key test: tests/generic/primary_key.sql) on the
    unique key of a delete+insert incremental model. Its not-null checks need only the inserted
    rows too: a row is not changed after its insert. -#}
{% macro unique_on_replaced_key(relation) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set test = model.get('test_metadata') or {} -%}
    {%- set kwargs = test.get('kwargs', {}) -%}
    {%- set key = kwargs.get('column_name') if test.get('name') == 'unique'
                  else kwargs.get('key', (kwargs.get('arguments') or {}).get('key')) if test.get('name') == 'primary_key'
                  else none -%}
    {%- if key is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.alias == relation.identifier
                                             and node.schema == relation.schema -%}
        {%- if node.config.materialized == 'incremental' and node.config.incremental_strategy == 'delete+insert'
               and node.config.unique_key == key -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}

{#-
  The rows this build has inserted into `relation` so far: DuckLake's insertions after the
  build's preparation committed (the last snapshot that wrote ops.bronze_new_rows: it restores
  what a failed build left, so its own re-inserted rows are not counted; looked up once per dbt
  run, orchestration/warehouse/bookkeeping.py), up to now. None when the catalog does not say.
-#}
{% macro rows_this_build_inserted(relation) -%}
    {%- set catalog = relation.database -%}
    {%- set found = run_query("select (select snapshot_id from memory.build.prepared),"
                              ~ " (select id from " ~ catalog ~ ".current_snapshot())") -%}
    {%- set prepared, now = found.rows[0][0], found.rows[0][1] -%}
    {%- if prepared is none or now is none -%}
        {{ return(none) }}
    {%- elif prepared >= now -%}
        {{ return("select * from " ~ relation ~ " where false") }}
    {%- endif -%}
    {{ return("select * from ducklake_table_insertions('" ~ catalog ~ "', '" ~ relation.schema ~ "', '"
              ~ relation.identifier ~ "', " ~ (prepared + 1) ~ ", " ~ now ~ ")") }}
{%- endmacro %}
