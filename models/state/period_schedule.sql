{{ config(
    meta={'resync_scope': 'district_year'},
) }}
-- Period grain: one row per period, with its period (bell) schedule's columns.
-- depends_on: {{ ref('schedule_structure') }}

with structure as (
    select structure.district_id, structure.structure_id, structure.calendar_id, calendar.end_year
    from {{ ref('stg_schedule_structure') }} as structure
    join {{ ref('stg_calendar') }} as calendar using (district_id, calendar_id)
)

select
    period.district_id,
    period.period_id,
    period.period_schedule_id,
    schedule.structure_id,
    structure.calendar_id,
    structure.end_year,
    schedule.name as period_schedule_name,
    period.name,
    period.seq,
    period.period_minutes,
    period.non_instructional,
    greatest(schedule.modified_date, period.modified_date) as modified_date
from {{ ref('stg_period') }} as period
join {{ ref('stg_period_schedule') }} as schedule using (district_id, period_schedule_id)
join structure using (district_id, structure_id)
where structure.end_year = {{ resync_school_year() }}
