{{ config(
    meta={'resync_scope': 'district_year'},
) }}
-- depends_on: {{ ref('school') }}

select
    district_id,
    calendar_id,
    school_id,
    end_year,
    name,
    start_date,
    end_date,
    student_day_minutes,
    whole_day_absence_minutes,
    half_day_absence_minutes,
    exclude,
    modified_date
from {{ ref('stg_calendar') }}
where end_year = {{ resync_school_year() }}
