{#-
  What an incremental build of production_units makes again, looked up before the model runs:
  {'shots_seen': the int_sensor_shots load it last took, 'new_inspection': a filter for inspections
  taken since (fct_quality_inspections._bronze_version), 'redo': a query of the companies whose
  units are all made again}, or none when every unit is made (a full build, or what the table has
  seen is not known). A company is made again whole when the kind of its units may change - it has
  shots as units and now sends lots with a window, or it has not and its new shots or inspections
  now name each other, or its lots are gone - or when inspections of it left with a superseded file
  version (its units' labels may have lost some).
-#}
{% macro production_unit_changes() -%}
    {%- set seen = run_query("select max(_shots_load_seq), max(_inspections_version) from " ~ this).rows[0] -%}
    {%- if seen[0] is none or seen[1] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set shots, inspections, lots = ref('int_sensor_shots'), ref('fct_quality_inspections'), ref('fct_production_lots') -%}
    {%- set new_inspection = "(_bronze_version > " ~ seen[1] ~ " or _bronze_version is null)" -%}
    {%- set removed = removed_history() -%}
    {%- set found = run_query("
        with per_shot as (select distinct company_id from " ~ this ~ " where unit_kind = 'shot'),
        with_lots as (select distinct company_id from " ~ lots ~ " where end_ts_utc > start_ts_utc),
        labelled as (select company_id, lot_id from " ~ inspections ~ " where lot_key is not null)
        select company_id from per_shot where company_id in (select company_id from with_lots)
        union
        select distinct company_id from " ~ this ~ " where unit_kind = 'lot'
           and company_id not in (select company_id from with_lots)
        union
        select s.company_id from " ~ shots ~ " as s semi join labelled as i
            on i.company_id = s.company_id and i.lot_id = s.sequence_id
        where s._load_seq > " ~ seen[0] ~ "
          and s.company_id not in (select company_id from per_shot)
          and s.company_id not in (select company_id from with_lots)
        union
        select i.company_id from " ~ inspections ~ " as i semi join " ~ shots ~ " as s
            on s.company_id = i.company_id and s.sequence_id = i.lot_id
        where i.lot_key is not null and " ~ new_inspection ~ "
          and i.company_id not in (select company_id from per_shot)
          and i.company_id not in (select company_id from with_lots)"
        ~ (" union select company_id from " ~ removed.include(database=false)
           ~ " where table_name = 'quality_inspections' and bronze_version > " ~ seen[1] if removed is not none else "")) -%}
    {{ return({'shots_seen': seen[0], 'new_inspection': new_inspection,
               'redo': company_list(found.columns[0].values() | list)}) }}
{%- endmacro %}

{#- Pre-hook of production_units: the units made again whole leave first (every lot; every unit of
    a company made again whole), so a unit that is no longer one does not stay. -#}
{% macro delete_units_made_again() -%}
    {%- if execute and is_incremental() -%}
        {%- set changes = production_unit_changes() -%}
        delete from {{ this }}
        {%- if changes %}
        where unit_kind = 'lot' or company_id in ({{ changes.redo }})
        {%- endif %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
