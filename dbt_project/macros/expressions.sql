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

{#-
  A reading's identity in fct_sensor_readings: company, equipment, source tag, time and, within
  that time, the mapped sequence/shot/cycle id or else the row's occurrence among its file's rows.
  The fact stores the parts, not a digest of them (a 32-character md5 per reading would be the
  largest column of the warehouse, and it never compresses); `reading_identity()` is the key
  as one value (a row), `reading_identity_parts()` the same parts for a PARTITION BY.
-#}
{% macro reading_identity_parts(alias=none) -%}
    {%- set p = alias ~ '.' if alias else '' -%}
    {{ p }}company_id, coalesce({{ p }}equipment_id, ''), {{ p }}source_tag, {{ p }}reading_ts_utc,
    coalesce('seq:' || {{ p }}sequence_id, 'occ:' || {{ p }}reading_occurrence)
{%- endmacro %}

{% macro reading_identity(alias=none) -%}
    row({{ reading_identity_parts(alias) }})
{%- endmacro %}

{#-
  A running (window) total of whole numbers - counts, microseconds - as a bigint. DuckDB sums
  integers over a window frame in 128 bits, about three times slower than in doubles; a double
  holds every whole number below 2^53 exactly, and so does each partial sum, so the total is the
  same exact integer in any order for totals below 2^53 (285 years in microseconds).
-#}
{% macro running_integer_sum(expression, frame) -%}
    cast(sum(cast({{ expression }} as double)) over {{ frame }} as bigint)
{%- endmacro %}
