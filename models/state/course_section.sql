{{ config(
    meta={'resync_scope': 'district_year'},
) }}
-- Section-placement grain: one row per placement (a section meeting in a period during a term),
-- with its section's and course's columns.
-- depends_on: {{ ref('calendar') }}
-- depends_on: {{ ref('term_schedule') }}
-- depends_on: {{ ref('period_schedule') }}

with calendar as (
    select district_id, calendar_id, end_year from {{ ref('stg_calendar') }}
)

select
    placement.district_id,
    placement.placement_id,
    placement.section_id,
    section.course_id,
    course.calendar_id,
    calendar.end_year,
    placement.period_id,
    placement.term_id,
    course.number as course_number,
    course.name as course_name,
    course.state_code as course_state_code,
    section.number as section_number,
    section.teacher_person_id,
    greatest(course.modified_date, section.modified_date, placement.modified_date) as modified_date
from {{ ref('stg_section_placement') }} as placement
join {{ ref('stg_section') }} as section using (district_id, section_id)
join {{ ref('stg_course') }} as course using (district_id, course_id)
join calendar using (district_id, calendar_id)
where calendar.end_year = {{ resync_school_year() }}
