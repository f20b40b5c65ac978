{{ config(
    meta={'resync_scope': 'district_year'},
) }}
-- depends_on: {{ ref('calendar') }}

with calendar as (
    select district_id, calendar_id, end_year from {{ ref('stg_calendar') }}
)

select
    month.district_id,
    month.month_id,
    month.calendar_id,
    calendar.end_year,
    month.name,
    month.seq,
    month.start_date,
    month.end_date,
    month.modified_date
from {{ ref('stg_school_month') }} as month
join calendar using (district_id, calendar_id)
where calendar.end_year = {{ resync_school_year() }}
