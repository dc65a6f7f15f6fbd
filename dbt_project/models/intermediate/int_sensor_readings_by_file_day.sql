{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='reading_day',
        post_hook=["{{ delete_superseded_readings() }}"]
    )
}}
{#-
  How many readings of each landing file (company, path, content hash, mapping entry) the
  warehouse holds, per KST day of the reading: fct_landing_files sums it per file. Kept per day so
  a build recounts only the days its new rows fall on, not the whole history: every change a build
  makes to fct_sensor_readings lies on those days (new readings, and the older readings with the
  same key they replace), except the deletion of a version a newly taken version supersedes, which
  the same post-hook as the fact's removes here too.
-#}
-- depends_on: {{ ref('int_sensor_reading_batches') }}
{%- set day = "coalesce(reading_date_kst, date '0001-01-01')" -%}
{%- if is_incremental() and execute and '__dbt__cte__' not in (ref('fct_sensor_readings') | string) -%}
    {%- set found = run_query("select distinct strftime(" ~ day ~ ", '%Y-%m-%d') from " ~ ref('fct_sensor_readings')
                              ~ " where _load_seq > (select coalesce(max(_load_seq), 0) from " ~ this ~ ")") -%}
    {%- set new_days = found.columns[0].values() | list -%}
{%- endif %}
select
    cast(company_id as varchar) as company_id,
    cast(source_file as varchar) as source_file,
    cast(source_hash as varchar) as source_hash,
    cast(dataset_entry as varchar) as dataset_entry,
    cast({{ day }} as date) as reading_day,
    cast(count(*) as bigint) as readings,
    cast(max(_load_seq) as bigint) as _load_seq
from {{ ref('fct_sensor_readings') }}
{%- if is_incremental() %}
where
    {%- if new_days is defined %}
    {%- if new_days %}
    ({{ 'reading_date_kst is null or ' if '0001-01-01' in new_days }}reading_date_kst in (
        {%- for d in new_days %}date '{{ d }}'{{ ', ' if not loop.last }}{% endfor %}))
    {%- else %}
    false
    {%- endif %}
    {%- else %}
    {{ day }} in (select {{ day }} from {{ ref('fct_sensor_readings') }}
                  where _load_seq > (select coalesce(max(_load_seq), 0) from {{ this }}))
    {%- endif %}
{%- endif %}
group by all
