{#- A model's key and its required columns: the rows whose `key` is empty or shared with another
    row, or in which any of `columns` is empty. One test node where a unique test and one or two
    not-null tests were two or three: on a day's build a node costs about 40 ms of dbt and catalog
    time whatever it reads, and these were a quarter of the build's nodes. A failed build's
    isolation (orchestration/warehouse/isolation.py) names each failure as the test it replaces
    was named: `unique_<model>_<key>`, `not_null_<model>_<column>`. -#}
{% test primary_key(model, key, columns=[]) %}
{%- set required = [key] + (columns | reject('equalto', key) | list) %}

select {{ required | join(', ') }}, key_rows
from (
    select {{ required | join(', ') }}, count(*) over (partition by {{ key }}) as key_rows
    from {{ model }}
) as keyed
where {% for column in required %}{{ column }} is null or {% endfor %}key_rows > 1

{% endtest %}
