{{ config(
    meta={'resync_scope': 'district_year'},
) }}
-- depends_on: {{ ref('calendar') }}

with calendar as (
    select district_id, calendar_id, end_year from {{ ref('stg_calendar') }}
)

select
    structure.district_id,
    structure.structure_id,
    structure.calendar_id,
    calendar.end_year,
    structure.name,
    structure.is_primary,
    structure.modified_date
from {{ ref('stg_schedule_structure') }} as structure
join calendar using (district_id, calendar_id)
where calendar.end_year = {{ resync_school_year() }}
