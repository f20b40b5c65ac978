-- Data quality (warn): period attendance recorded on a day that is not an instructional day of
-- its calendar, or when the student has no enrollment in that calendar covering the date (no-shows
-- do not count). The aggregation ignores such rows; the district should correct them.
{{ config(severity='warn', store_failures=true) }}

with attendance as (
    select attendance.district_id, attendance.attendance_id, attendance.person_id,
           attendance.calendar_id, attendance.date
    from {{ ref('stg_attendance') }} as attendance
    join {{ ref('calendar') }} as calendar using (district_id, calendar_id)
),

instructional_day as (
    select distinct district_id, calendar_id, date
    from {{ ref('day') }}
    where instruction
),

problems as (
    select attendance.*, 'not an instructional day' as problem
    from attendance
    where not exists (
        select 1 from instructional_day as day
        where day.district_id = attendance.district_id
          and day.calendar_id = attendance.calendar_id
          and day.date = attendance.date
    )
    union all
    select attendance.*, 'outside enrollment' as problem
    from attendance
    where not exists (
        select 1 from {{ ref('enrollment') }} as enrollment
        where enrollment.district_id = attendance.district_id
          and enrollment.person_id = attendance.person_id
          and enrollment.calendar_id = attendance.calendar_id
          and not enrollment.no_show
          and attendance.date between enrollment.start_date and coalesce(enrollment.end_date, attendance.date)
    )
)

select * from problems
