{#-
  Tables and views are replaced in one DuckLake transaction: drop the old relation and create the
  new one, then commit. dbt-duckdb's own materializations build a `__dbt_tmp` relation, rename the
  old one to `__dbt_backup`, rename the new one in, commit, and drop the backup in a second
  transaction - which on a DuckLake is two catalog commits per model (each costing a catalog
  round trip) and three snapshots' worth of catalog changes for no gain: a DuckLake transaction is
  already atomic, and readers attached at the published snapshot never see a half-built warehouse.
  A view whose definition is the one it already has is left alone (no commit at all): its compiled
  SQL's digest is kept as the view's comment.
-#}
{% materialization table, adapter="duckdb", supported_languages=['sql'] %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='table') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}   {#- `BEGIN` happens with the first statement -#}
  {{ drop_in_this_transaction(existing_relation) }}
  {% call statement('main') -%}
    {{ create_table_as(False, target_relation, compiled_code) }}
  {%- endcall %}
  {% do create_indexes(target_relation) %}
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
