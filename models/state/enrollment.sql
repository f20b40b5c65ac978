{{ config(
    meta={'resync_scope': 'district_year'},
) }}
-- depends_on: {{ ref('person_identity') }}
-- depends_on: {{ ref('calendar') }}
-- depends_on: {{ ref('structure_grade_level') }}

with calendar as (
    select district_id, calendar_id, end_year from {{ ref('stg_calendar') }}
)

select
    enrollment.district_id,
    enrollment.enrollment_id,
    enrollment.person_id,
    enrollment.calendar_id,
    enrollment.structure_id,
    enrollment.grade_level_id,
    calendar.end_year,
    enrollment.service_type,
    enrollment.start_date,
    enrollment.end_date,
    enrollment.no_show,
    enrollment.state_exclude,
    enrollment.modified_date
from {{ ref('stg_enrollment') }} as enrollment
join calendar using (district_id, calendar_id)
where calendar.end_year = {{ resync_school_year() }}
