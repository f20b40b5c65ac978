{{ config(materialized='view') }}
-- ADA, ADM and attendance rate per district, school, calendar, grade and school month.

with days as (
    select * from {{ ref('attendance_days') }}
),

in_session as (
    {{ resync_days_in_session(group_by_month=true) }}
)

select
    days.district_id,
    days.district_name,
    days.end_year,
    days.school_id,
    days.school_name,
    days.calendar_id,
    days.grade,
    days.month_id,
    days.month_seq,
    days.month_name,
    {{ resync_attendance_measures() }}
from days
join in_session using (district_id, calendar_id, month_id)
group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
