{{ config(
    meta={'resync_scope': 'district_year'},
) }}
-- depends_on: {{ ref('calendar') }}
-- depends_on: {{ ref('period_schedule') }}

with calendar as (
    select district_id, calendar_id, end_year from {{ ref('stg_calendar') }}
)

select
    day.district_id,
    day.day_id,
    day.calendar_id,
    day.structure_id,
    day.period_schedule_id,
    calendar.end_year,
    day.date,
    day.instruction,
    day.attendance,
    day.comments,
    day.modified_date
from {{ ref('stg_day') }} as day
join calendar using (district_id, calendar_id)
where calendar.end_year = {{ resync_school_year() }}
