-- Data quality (warn): enrollments that start before or end after their calendar, or end before
-- they start.
{{ config(severity='warn', store_failures=true) }}

select
    enrollment.district_id,
    enrollment.enrollment_id,
    enrollment.person_id,
    enrollment.calendar_id,
    enrollment.start_date,
    enrollment.end_date,
    calendar.start_date as calendar_start_date,
    calendar.end_date as calendar_end_date
from {{ ref('enrollment') }} as enrollment
join {{ ref('calendar') }} as calendar using (district_id, calendar_id)
where enrollment.start_date < calendar.start_date
   or enrollment.end_date > calendar.end_date
   or enrollment.end_date < enrollment.start_date
