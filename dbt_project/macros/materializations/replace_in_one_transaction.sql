{#-
  Tables and views are replaced in one DuckLake transaction: drop the old relation and create the
  new one, then commit. dbt-duckdb's own materializations build a `__dbt_tmp` relation, rename the
  old one to `__dbt_backup`, rename the new one in, commit, and drop the backup in a second
  transaction - which on a DuckLake is two catalog commits per model (each costing a catalog
  round trip) and three snapshots' worth of catalog changes for no gain: a DuckLake transaction is
  already atomic, and readers attached at the published snapshot never see a half-built warehouse.
-#}
{% materialization table, adapter="duckdb", supported_languages=['sql'] %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set grant_config = config.get('grants') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}   {#- `BEGIN` happens here -#}
  {%- if existing_relation is not none -%}
    {% do adapter.drop_relation(existing_relation) %}
  {%- endif %}
  {% call statement('main') -%}
    {{ create_table_as(False, target_relation, compiled_code) }}
  {%- endcall %}
  {% do create_indexes(target_relation) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke(existing_relation, full_refresh_mode=True)) %}
  {% do persist_docs(target_relation, model) %}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{% materialization view, adapter="duckdb" %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set grant_config = config.get('grants') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {%- if existing_relation is not none -%}
    {% do adapter.drop_relation(existing_relation) %}
  {%- endif %}
  {% call statement('main') -%}
    {{ get_create_view_as_sql(target_relation, sql) }}
  {%- endcall %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke(existing_relation, full_refresh_mode=True)) %}
  {% do persist_docs(target_relation, model) %}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
