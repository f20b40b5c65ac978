{{ config(materialized='view') }}
-- Each school month per district and per school (column level says which).

with days as (
    select * from {{ ref('attendance_days') }}
),

in_session as (
    {{ resync_days_in_session(group_by_month=true) }}
)

select
    {{ resync_summary_level(['school_id']) }} as level,
    district_id,
    district_name,
    end_year,
    school_id,
    school_name,
    month_seq,
    month_name,
    {{ resync_attendance_measures(instructional_days=false) }}
from days
join in_session using (district_id, calendar_id, month_id)
group by grouping sets (
    (district_id, district_name, end_year, month_seq, month_name),
    (district_id, district_name, end_year, school_id, school_name, month_seq, month_name)
)
