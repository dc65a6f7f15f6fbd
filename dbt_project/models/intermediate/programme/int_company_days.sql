{#-
  Per company and KST day, everything the outcome KPIs and the benchmark add up: lots, units,
  lot hours, energy, and the ISO 22400-2 times and quantities of the equipment in the OEE, with
  the outcome period (baseline | followup | null) the day falls in.
  PRU (planned run time per unit) of an equipment = 1 / its best lot rate in the company's
  baseline period, so before and after are measured against the same standard.
-#}
with programme as (
    select company_id, baseline_from, baseline_to, followup_from, followup_to
    from {{ ref('stg_company_programme') }}
),

lots as (
    select company_id, equipment_id, production_date_kst as date_kst, quantity, defect_quantity,
           case when end_ts_utc > start_ts_utc then (epoch(end_ts_utc) - epoch(start_ts_utc)) / 3600.0 end as lot_hours
    from {{ ref('fct_production_lots') }}
    where production_date_kst is not null
),

lot_days as (
    select company_id, date_kst,
           count(*) as lots,
           sum(quantity) as units_produced,
           sum(defect_quantity) as units_defective,
           count(lot_hours) as timed_lots,
           sum(quantity) filter (where lot_hours is not null) as timed_units,
           sum(lot_hours) as lot_hours
    from lots
    group by company_id, date_kst
),

planned_run_time as (
    select l.company_id, l.equipment_id, 1.0 / max(l.quantity / l.lot_hours) as pru_hours
    from lots as l
    join programme as p
      on p.company_id = l.company_id and l.date_kst between p.baseline_from and p.baseline_to
    where l.lot_hours > 0 and l.quantity > 0
    group by l.company_id, l.equipment_id
),

oee_days as (
    select o.company_id, o.date_kst,
           sum(o.planned_hours) as planned_busy_hours,
           sum(o.run_hours) as actual_production_hours,
           sum(r.pru_hours * o.units_produced) as planned_run_hours,
           sum(o.units_produced) as oee_produced_units,
           sum(o.good_units) as oee_good_units
    from {{ ref('mart_oee_daily') }} as o
    join planned_run_time as r using (company_id, equipment_id)
    where o.planned_hours > 0
    group by o.company_id, o.date_kst
),

energy_days as (
    select company_id, date_kst, sum(energy_kwh) as energy_kwh
    from {{ ref('fct_energy_daily') }}
    where energy_kwh is not null
    group by company_id, date_kst
),

days as (
    select company_id, date_kst from lot_days
    union
    select company_id, date_kst from oee_days
),

final as (
    select
        d.company_id,
        d.date_kst,
        case
            when d.date_kst between p.baseline_from and p.baseline_to then 'baseline'
            when d.date_kst between p.followup_from and p.followup_to then 'followup'
        end as period,
        coalesce(l.lots, 0) as lots,
        l.units_produced,
        l.units_defective,
        coalesce(l.timed_lots, 0) as timed_lots,
        l.timed_units,
        l.lot_hours,
        e.energy_kwh,
        o.planned_busy_hours,
        o.actual_production_hours,
        o.planned_run_hours,
        o.oee_produced_units,
        o.oee_good_units
    from days as d
    left join lot_days as l using (company_id, date_kst)
    left join oee_days as o using (company_id, date_kst)
    left join energy_days as e using (company_id, date_kst)
    left join programme as p using (company_id)
)

select * from final
