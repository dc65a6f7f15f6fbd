{#-
  Tables and views are replaced in one DuckLake transaction: drop the old relation and create the
  new one, then commit. dbt-duckdb's own materializations build a `__dbt_tmp` relation, rename the
  old one to `__dbt_backup`, rename the new one in, commit, and drop the backup in a second
  transaction - which on a DuckLake is two catalog commits per model (each costing a catalog
  round trip) and three snapshots' worth of catalog changes for no gain: a DuckLake transaction is
  already atomic, and readers attached at the published snapshot never see a half-built warehouse.
  A table whose columns come out as it already has them is refilled instead: its rows deleted and
  the new ones inserted, in the same one transaction. Only a change of the catalog's schema (a
  table dropped and created) makes every connection load the catalog again at its next
  transaction (about 20 ms for this warehouse's, in the next dbt node and in every analyst's
  session), and the drop and create themselves cost a commit half again as long; a refill ends
  the old data files in the same way, so time travel and upkeep see no difference.
  `--full-refresh` always drops and creates.
  A view whose definition is the one it already has is left alone (no commit at all): its compiled
  SQL's digest is kept as the view's comment.
-#}
{% materialization table, adapter="duckdb", supported_languages=['sql'] %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='table') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}   {#- `BEGIN` happens with the first statement -#}
  {%- set refill = columns_unchanged(existing_relation, compiled_code) %}
  {%- if refill %}
    {% call statement('main') -%}
      {{ refill_table(target_relation, refill, compiled_code) }}
    {%- endcall %}
  {%- else %}
    {{ drop_in_this_transaction(existing_relation) }}
    {% call statement('main') -%}
      {{ create_table_as(False, target_relation, compiled_code) }}
    {%- endcall %}
    {% do create_indexes(target_relation) %}
  {%- endif %}
  {{ return(commit_replacement(target_relation, existing_relation, post_hooks)) }}
{% endmaterialization %}

{% materialization view, adapter="duckdb" %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set definition = 'dbt definition ' ~ local_md5(sql) -%}

  {%- if existing_relation is not none and existing_relation.is_view and not should_full_refresh()
        and comment_of_view(target_relation) == definition -%}
    {% call statement('main') -%} select 'unchanged' {%- endcall %}
    {{ return({'relations': [target_relation]}) }}
  {%- endif %}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {{ drop_in_this_transaction(existing_relation) }}
  {% call statement('main') -%}
    {{ get_create_view_as_sql(target_relation, sql) }}
  {%- endcall %}
  {% call statement('definition') -%}
    comment on view {{ target_relation }} is '{{ definition }}'
  {%- endcall %}
  {{ return(commit_replacement(target_relation, existing_relation, post_hooks)) }}
{% endmaterialization %}

{#- The common end of both: post-hooks, grants and docs inside the transaction, then one commit. -#}
{% macro commit_replacement(target_relation, existing_relation, post_hooks) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do apply_grants(target_relation, config.get('grants'),
                     should_revoke=should_revoke(existing_relation, full_refresh_mode=True)) %}
  {% do persist_docs(target_relation, model) %}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmacro %}

{#- dbt's drop_relation runs outside the transaction (its own commit, its own snapshot) -#}
{% macro drop_in_this_transaction(relation) %}
  {%- if relation is not none -%}
    {% call statement('drop_existing') -%} drop {{ relation.type }} if exists {{ relation }} {%- endcall %}
    {% do adapter.cache_dropped(relation) %}
  {%- endif -%}
{% endmacro %}

{% macro comment_of_view(relation) %}
  {%- set found = run_query("select comment from duckdb_views() where database_name = '" ~ relation.database
                            ~ "' and schema_name = '" ~ relation.schema ~ "' and view_name = '" ~ relation.identifier ~ "'") -%}
  {{ return(found.rows[0][0] if found.rows | length > 0 else none) }}
{% endmacro %}

{#- The existing table's column names when the model's query gives exactly those columns, in that
    order and of those types; none when the table is to be dropped and created (none yet, a view,
    a full refresh, a column added, dropped, moved or retyped). -#}
{% macro columns_unchanged(existing_relation, compiled_code) %}
  {%- if existing_relation is none or not existing_relation.is_table or should_full_refresh() -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set kept = adapter.get_columns_in_relation(existing_relation) -%}
  {%- set coming = get_column_schema_from_query(compiled_code) -%}
  {%- set kept_shape = kept | map(attribute='name') | map('lower') | list ~ (kept | map(attribute='dtype') | map('lower') | list) -%}
  {%- set coming_shape = coming | map(attribute='name') | map('lower') | list ~ (coming | map(attribute='dtype') | map('lower') | list) -%}
  {{ return(kept | map(attribute='name') | list if kept | length > 0 and kept_shape == coming_shape else none) }}
{% endmacro %}

{% macro refill_table(relation, columns, compiled_code) %}
  {%- if config.get('contract').enforced -%}
    {{ get_assert_columns_equivalent(compiled_code) }}
  {%- endif -%}
  {%- set quoted = [] -%}
  {%- for column in columns %}{% do quoted.append(adapter.quote(column)) %}{% endfor -%}
  {%- set column_list = quoted | join(', ') %}
  delete from {{ relation }};
  insert into {{ relation }} ({{ column_list }})
  select {{ column_list }} from (
    {{ compiled_code }}
  ) as model_subq
{% endmacro %}
