{#-
  Anomaly-detection features per equipment, tag and UTC hour, from the hourly sensor statistics:
  the hour's mean against the previous 24 hours of the same sensor (rolling mean and sd, z-score,
  trailing only), and its rate of change from the previous hour.
-#}
with hourly as (
    select company_id, line_id, equipment_id, sensor_id, tag_code, hour_utc, readings,
           avg_value_si, stddev_value_si, min_value_si, max_value_si
    from {{ ref('fct_sensor_readings_hourly') }}
    where equipment_id is not null
),

rolling as (
    select
        *,
        avg(avg_value_si) over previous_day as rolling_24h_mean,
        stddev_samp(avg_value_si) over previous_day as rolling_24h_std,
        lag(avg_value_si) over by_hour as previous_hour_mean,
        lag(hour_utc) over by_hour as previous_hour_utc
    from hourly
    window by_hour as (partition by company_id, sensor_id order by hour_utc),
           previous_day as (partition by company_id, sensor_id order by hour_utc
                            range between interval 24 hour preceding and interval 1 hour preceding)
),

final as (
    select
        company_id, line_id, equipment_id, sensor_id, tag_code, hour_utc, readings,
        avg_value_si as mean_value, stddev_value_si as std_value, min_value_si as min_value, max_value_si as max_value,
        rolling_24h_mean,
        rolling_24h_std,
        (avg_value_si - rolling_24h_mean) / nullif(rolling_24h_std, 0) as zscore_24h,
        (avg_value_si - previous_hour_mean)
            / nullif(epoch(hour_utc) - epoch(previous_hour_utc), 0) * 3600 as change_per_hour
    from rolling
)

select * from final
