{#-
  Every minute of the day falls in exactly one shift of each company: otherwise facts would get
  no shift, or be counted twice by shift. (clients/registry.yaml is checked on load; this also
  guards the default pattern of seeds/shifts.csv.)
-#}
with minutes as (
    select cast('00:00:00' as time) + to_minutes(m) as clock
    from range(0, 1440) as t(m)
),

shifts_per_minute as (
    select shift.company_id, minutes.clock, count(*) as shifts
    from {{ ref('dim_shift') }} as shift
    cross join minutes
    where {{ in_shift('shift', 'minutes.clock') }}
    group by shift.company_id, minutes.clock
),

companies as (
    select distinct company_id from {{ ref('dim_shift') }}
)

select companies.company_id, minutes.clock, coalesce(s.shifts, 0) as shifts
from companies
cross join minutes
left join shifts_per_minute as s on s.company_id = companies.company_id and s.clock = minutes.clock
where coalesce(s.shifts, 0) != 1
