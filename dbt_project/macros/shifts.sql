{#-
  The rows of `relation` with their work shift, by company and KST wall-clock time `ts_kst`:
  shift_code from dim_shift, and shift_date_kst, the production day the shift started on (a night
  shift's 02:00 belongs to the day before).
-#}
{% macro with_shift(relation, ts_kst) -%}
    {%- set clock = "cast(" ~ ts_kst ~ " as time)" -%}
    select
        {{ relation }}.*,
        shift.shift_code,
        cast({{ ts_kst }} as date)
            - case when shift.crosses_midnight and {{ clock }} < shift.end_time_kst then 1 else 0 end
            as shift_date_kst
    from {{ relation }}
    left join {{ ref('dim_shift') }} as shift
      on shift.company_id = {{ relation }}.company_id
     and {{ in_shift('shift', clock) }}
{%- endmacro %}

{#- Whether a KST clock time falls in a dim_shift row (start inclusive, end exclusive). -#}
{% macro in_shift(shift, clock) -%}
    case
        when {{ shift }}.crosses_midnight
            then {{ clock }} >= {{ shift }}.start_time_kst or {{ clock }} < {{ shift }}.end_time_kst
        else {{ clock }} >= {{ shift }}.start_time_kst and {{ clock }} < {{ shift }}.end_time_kst
    end
{%- endmacro %}
