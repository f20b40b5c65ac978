{{ config(materialized='view') }}
-- ADA, ADM and attendance rate per district, school, calendar and grade for the school year.
-- ADA and ADM add up: a school's is the sum over its grades, a district's over its schools.

with days as (
    select * from {{ ref('attendance_days') }}
),

in_session as (
    {{ resync_days_in_session(group_by_month=false) }}
)

select
    days.district_id,
    days.district_name,
    days.end_year,
    days.school_id,
    days.school_name,
    days.calendar_id,
    days.grade,
    {{ resync_attendance_measures() }}
from days
join in_session using (district_id, calendar_id)
group by 1, 2, 3, 4, 5, 6, 7
