{{ config(
    meta={'resync_scope': 'district_year'},
) }}
-- depends_on: {{ ref('calendar') }}

with calendar as (
    select district_id, calendar_id, end_year from {{ ref('stg_calendar') }}
)

select
    excuse.district_id,
    excuse.excuse_id,
    excuse.calendar_id,
    calendar.end_year,
    excuse.code,
    excuse.description,
    excuse.status,
    excuse.excuse,
    excuse.state_code,
    excuse.modified_date
from {{ ref('stg_attendance_excuse') }} as excuse
join calendar using (district_id, calendar_id)
where calendar.end_year = {{ resync_school_year() }}
