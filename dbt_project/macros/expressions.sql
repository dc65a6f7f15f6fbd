{#-
  surrogate_key(['a', 'b']) = md5 of the values joined with '|', nulls as '' (the warehouse's own
  dbt_utils.generate_surrogate_key). Timestamps are cast to varchar in the session time zone, UTC.
-#}
{% macro surrogate_key(columns) -%}
    md5(concat_ws('|', {% for column in columns -%}
        coalesce(cast({{ column }} as varchar), ''){{ ", " if not loop.last }}
    {%- endfor %}))
{%- endmacro %}

{#- Wall-clock time in Korea (KST, no daylight saving) of a UTC timestamptz. -#}
{% macro to_kst(column) -%}
    cast(timezone('Asia/Seoul', {{ column }}) as timestamp)
{%- endmacro %}

{#- A ratio clipped to [0, 1]; null stays null (greatest/least would skip nulls and invent a 1). -#}
{% macro clip_0_1(expression) -%}
    case
        when ({{ expression }}) is null then null
        when ({{ expression }}) < 0 then 0.0
        when ({{ expression }}) > 1 then 1.0
        else ({{ expression }})
    end
{%- endmacro %}

{#-
  Which row wins when the same key arrives more than once (re-exports, corrected files): the later
  ingest, then the later file name, then the later row. One rule for every deduplicated fact.
-#}
{% macro latest_ingest_first() -%}
    ingested_at desc nulls last, source_file desc nulls last, source_row desc nulls last
{%- endmacro %}
