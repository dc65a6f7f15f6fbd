{#-
  Values of a standardised (SI) column must lie inside the plausible range of their tag in
  dim_tag (plausible_min .. plausible_max). Out-of-range client data is a finding for the data
  quality report, so declare it with severity warn: it must not block the warehouse.
-#}
{% test plausible_range(model, column_name, tag_column='tag_code') %}

with tested_rows as (
    -- `model` may be a filtered subquery (a test's `where`), so it is selected from, not aliased
    select * from {{ model }}
),

checked as (
    select m.{{ tag_column }} as tag_code, m.{{ column_name }} as value_si, t.plausible_min, t.plausible_max
    from tested_rows as m
    join {{ ref('dim_tag') }} as t on t.tag_code = m.{{ tag_column }}
    where m.{{ column_name }} is not null
),

final as (
    select tag_code, value_si, plausible_min, plausible_max
    from checked
    where value_si < plausible_min or value_si > plausible_max
)

select * from final

{% endtest %}
