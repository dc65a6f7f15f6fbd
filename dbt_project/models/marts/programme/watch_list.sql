{{ config(materialized='incremental', unique_key='watch_entry_key', incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
{#-
  The watch list with its history (사후관리 이력): every entry ever opened, one row per condition
  and start date. A build opens what watch_list_current shows and is not open yet, refreshes the
  evidence of what stays, and resolves (resolved_on = the KPI day) an open entry that is no longer
  shown. Earlier entries are kept as they were.
-#}
with current_entries as (
    select * from {{ ref('watch_list_current') }}
),

{% if is_incremental() %}
previous as (
    select * from {{ this }}
),
{% else %}
previous as (
    select * from (select cast(null as varchar) as watch_entry_key, cast(null as varchar) as status,
                          cast(null as date) as opened_on) where false
),
{% endif %}

still_or_newly_open as (
    select
        c.watch_key || '|' || strftime(c.started_on, '%Y-%m-%d') as watch_entry_key,
        c.watch_key, c.company_id, c.name_ko, c.kind, c.kind_name_ko, c.kind_name_en, c.dataset, c.started_on,
        c.evidence_ko, c.evidence_en, c.suggested_action_ko, c.suggested_action_en,
        coalesce(p.opened_on, c.as_of_date) as opened_on,
        cast(null as date) as resolved_on,
        'open' as status,
        c.as_of_date as last_seen_on
    from current_entries as c
    left join previous as p
      on p.watch_entry_key = c.watch_key || '|' || strftime(c.started_on, '%Y-%m-%d')
),

{% if is_incremental() %}
resolved as (
    select
        p.watch_entry_key, p.watch_key, p.company_id, p.name_ko, p.kind, p.kind_name_ko, p.kind_name_en, p.dataset,
        p.started_on, p.evidence_ko, p.evidence_en, p.suggested_action_ko, p.suggested_action_en, p.opened_on,
        {{ kpi_as_of_date() }} as resolved_on,
        'resolved' as status,
        p.last_seen_on
    from previous as p
    where p.status = 'open'
      and p.watch_entry_key not in (select watch_entry_key from still_or_newly_open)
),
{% endif %}

entries as (
    select * from still_or_newly_open
    {% if is_incremental() %}
    union all
    select * from resolved
    {% endif %}
),

final as (
    select
        cast(watch_entry_key as varchar) as watch_entry_key,
        cast(watch_key as varchar) as watch_key,
        cast(company_id as varchar) as company_id,
        cast(name_ko as varchar) as name_ko,
        cast(kind as varchar) as kind,
        cast(kind_name_ko as varchar) as kind_name_ko,
        cast(kind_name_en as varchar) as kind_name_en,
        cast(dataset as varchar) as dataset,
        cast(started_on as date) as started_on,
        cast(evidence_ko as varchar) as evidence_ko,
        cast(evidence_en as varchar) as evidence_en,
        cast(suggested_action_ko as varchar) as suggested_action_ko,
        cast(suggested_action_en as varchar) as suggested_action_en,
        cast(opened_on as date) as opened_on,
        cast(resolved_on as date) as resolved_on,
        cast(status as varchar) as status,
        cast(last_seen_on as date) as last_seen_on
    from entries
)

select * from final
