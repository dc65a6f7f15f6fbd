{#-
  OEE per equipment per KST day = availability x performance x quality, each factor clipped to [0, 1]:
  - availability = run time / planned time, from int_equipment_state_intervals; planned time is the
    part of the day whose state is known from events (run + stop + alarm);
  - performance = units produced / (run hours x ideal rate), the ideal rate being the equipment's
    best observed lot rate (units per hour of lot duration) over its whole history;
  - quality = good units / units produced, from the lots whose KST production date is that day.
-#}
with intervals as (
    select company_id, line_id, equipment_id, date_kst, state, duration_s
    from {{ ref('int_equipment_state_intervals') }}
),

time_per_day as (
    select
        company_id, equipment_id, date_kst,
        min(line_id) as line_id,
        sum(duration_s) as planned_s,
        coalesce(sum(duration_s) filter (where state = 'run'), 0) as run_s
    from intervals
    group by company_id, equipment_id, date_kst
),

lots as (
    select company_id, line_id, equipment_id, production_date_kst, start_ts_utc, end_ts_utc, quantity, good_quantity
    from {{ ref('int_production_lots__deduplicated') }}
    where equipment_id is not null
),

ideal_rates as (
    select company_id, equipment_id,
           max(quantity / ((epoch(end_ts_utc) - epoch(start_ts_utc)) / 3600.0)) as ideal_units_per_hour
    from lots
    where end_ts_utc > start_ts_utc and quantity > 0
    group by company_id, equipment_id
),

output_per_day as (
    select company_id, equipment_id, production_date_kst as date_kst,
           min(line_id) as line_id,
           count(*) as lots,
           sum(quantity) as units_produced,
           sum(good_quantity) as good_units
    from lots
    group by company_id, equipment_id, production_date_kst
),

joined as (
    select
        coalesce(t.company_id, o.company_id) as company_id,
        coalesce(t.line_id, o.line_id) as line_id,
        coalesce(t.equipment_id, o.equipment_id) as equipment_id,
        coalesce(t.date_kst, o.date_kst) as date_kst,
        t.planned_s, t.run_s,
        coalesce(o.lots, 0) as lots,
        coalesce(o.units_produced, 0) as units_produced,
        coalesce(o.good_units, 0) as good_units
    from time_per_day as t
    full outer join output_per_day as o
      on o.company_id = t.company_id and o.equipment_id = t.equipment_id and o.date_kst = t.date_kst
),

factors as (
    select
        j.*,
        r.ideal_units_per_hour,
        {{ clip_0_1('j.run_s / nullif(j.planned_s, 0)') }} as availability,
        {{ clip_0_1('j.units_produced / nullif(j.run_s / 3600.0 * r.ideal_units_per_hour, 0)') }} as performance,
        {{ clip_0_1('j.good_units / nullif(j.units_produced, 0)') }} as quality
    from joined as j
    left join ideal_rates as r using (company_id, equipment_id)
),

final as (
    select
        cast({{ surrogate_key(['company_id', 'equipment_id', 'date_kst']) }} as varchar) as oee_key,
        cast(company_id as varchar) as company_id,
        cast(line_id as varchar) as line_id,
        cast(equipment_id as varchar) as equipment_id,
        cast(date_kst as date) as date_kst,
        cast(planned_s / 3600.0 as double) as planned_hours,
        cast(run_s / 3600.0 as double) as run_hours,
        cast(lots as bigint) as lots,
        cast(units_produced as double) as units_produced,
        cast(good_units as double) as good_units,
        cast(ideal_units_per_hour as double) as ideal_units_per_hour,
        cast(availability as double) as availability,
        cast(performance as double) as performance,
        cast(quality as double) as quality,
        cast(availability * performance * quality as double) as oee
    from factors
)

select * from final
