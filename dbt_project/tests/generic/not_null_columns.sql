{#- Rows of the model in which any of `columns` is null: one test, and one scan, for all of a
    model's required columns. A test node costs about as much dbt and catalog time as its scan on a
    day's build, and one per column was a third of a build's nodes. A failed build's isolation
    (orchestration/warehouse/isolation.py) names the empty column, as `not_null_<model>_<column>`. -#}
{% test not_null_columns(model, columns) %}

select {{ columns | join(', ') }}
from {{ model }}
where {% for column in columns %}{{ column }} is null{{ " or " if not loop.last }}{% endfor %}

{% endtest %}
