{{ config(
    meta={'resync_scope': 'district_year'},
) }}
-- depends_on: {{ ref('enrollment') }}

with calendar as (
    select district_id, calendar_id, end_year from {{ ref('stg_calendar') }}
)

select
    program.district_id,
    program.at_risk_id,
    program.person_id,
    program.calendar_id,
    calendar.end_year,
    program.reason_code,
    program.state_code,
    program.start_date,
    program.end_date,
    program.modified_date
from {{ ref('stg_at_risk') }} as program
join calendar using (district_id, calendar_id)
where calendar.end_year = {{ resync_school_year() }}
