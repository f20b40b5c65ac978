{{ config(
    meta={'resync_scope': 'district_year'},
) }}
-- Term grain: one row per term, with its term schedule's columns.
-- depends_on: {{ ref('schedule_structure') }}

with structure as (
    select structure.district_id, structure.structure_id, structure.calendar_id, calendar.end_year
    from {{ ref('stg_schedule_structure') }} as structure
    join {{ ref('stg_calendar') }} as calendar using (district_id, calendar_id)
)

select
    term.district_id,
    term.term_id,
    term.term_schedule_id,
    schedule.structure_id,
    structure.calendar_id,
    structure.end_year,
    schedule.name as term_schedule_name,
    term.name,
    term.seq,
    term.start_date,
    term.end_date,
    greatest(schedule.modified_date, term.modified_date) as modified_date
from {{ ref('stg_term') }} as term
join {{ ref('stg_term_schedule') }} as schedule using (district_id, term_schedule_id)
join structure using (district_id, structure_id)
where structure.end_year = {{ resync_school_year() }}
