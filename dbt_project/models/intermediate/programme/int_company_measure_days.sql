{#-
  One row per company, KST day and outcome measure: the day's numerator and denominator (the
  period value is sum(numerator) / sum(denominator)), the day's own value (the intervals are
  built from the spread of these), and the lots behind it. OEE has no single ratio: its period
  value is the product of the three period factors; its daily value the product of the day's.
  Only days where the measure can be computed (denominator > 0) appear.
-#}
with days as (
    select * from {{ ref('int_company_days') }}
),

measures as (
    select company_id, date_kst, period, lots, 'productivity_units_per_hour' as measure_code,
           timed_units as numerator, lot_hours as denominator
    from days
    union all
    select company_id, date_kst, period, lots, 'defect_rate', units_defective, units_produced from days
    union all
    select company_id, date_kst, period, lots, 'energy_kwh_per_unit', energy_kwh,
           case when energy_kwh is not null then units_produced end
    from days
    union all
    select company_id, date_kst, period, lots, 'lead_time_hours_per_lot', lot_hours, timed_lots from days
    union all
    select company_id, date_kst, period, lots, 'availability', actual_production_hours, planned_busy_hours from days
    union all
    select company_id, date_kst, period, lots, 'effectiveness', planned_run_hours,
           nullif(actual_production_hours, 0)
    from days
    union all
    select company_id, date_kst, period, lots, 'quality_ratio', oee_good_units, oee_produced_units from days
),

ratios as (
    select *, numerator / denominator as daily_value
    from measures
    where denominator > 0 and numerator is not null
),

oee as (
    select company_id, date_kst, period, lots, 'oee' as measure_code,
           cast(null as double) as numerator, cast(null as double) as denominator,
           (actual_production_hours / planned_busy_hours)
             * (planned_run_hours / actual_production_hours)
             * (oee_good_units / oee_produced_units) as daily_value
    from days
    where planned_busy_hours > 0 and actual_production_hours > 0 and oee_produced_units > 0
      and planned_run_hours is not null
),

final as (
    select company_id, date_kst, period, measure_code, cast(numerator as double) as numerator,
           cast(denominator as double) as denominator, cast(daily_value as double) as daily_value,
           cast(lots as bigint) as lots
    from ratios
    union all
    select company_id, date_kst, period, measure_code, numerator, denominator, daily_value, cast(lots as bigint)
    from oee
)

select * from final
