{{ config(
    meta={'resync_scope': 'district_year'},
) }}
-- depends_on: {{ ref('schedule_structure') }}

with calendar as (
    select district_id, calendar_id, end_year from {{ ref('stg_calendar') }}
)

select
    grade.district_id,
    grade.grade_level_id,
    grade.calendar_id,
    grade.structure_id,
    calendar.end_year,
    grade.name,
    grade.state_grade,
    grade.standard_day_minutes,
    grade.whole_day_absence_minutes,
    grade.half_day_absence_minutes,
    grade.modified_date
from {{ ref('stg_structure_grade_level') }} as grade
join calendar using (district_id, calendar_id)
where calendar.end_year = {{ resync_school_year() }}
