{{ config(materialized='ephemeral') }}
{#-
    One row per membership day (a row of att_day_aggregation) with what every report groups by:
    district and school (with their names at the state), calendar, state grade, school month,
    and the day's absence by the chosen method.
-#}

with aggregation as (
    select * from {{ ref('att_day_aggregation') }}
),

calendar as (
    select district_id, calendar_id, school_id, end_year from {{ ref('calendar') }}
),

grade as (
    select district_id, grade_level_id, coalesce(state_grade, name) as grade
    from {{ ref('structure_grade_level') }}
),

district as (
    select district_id, name as district_name from {{ ref('district') }}
),

school as (
    select district_id, school_id, name as school_name from {{ ref('school') }}
),

month as (
    select district_id, calendar_id, month_id, seq, name, start_date, end_date
    from {{ ref('school_month') }}
)

select
    aggregation.district_id,
    district.district_name,
    aggregation.end_year,
    calendar.school_id,
    school.school_name,
    aggregation.calendar_id,
    grade.grade,
    month.month_id,
    month.seq as month_seq,
    month.name as month_name,
    aggregation.person_id,
    aggregation.date,
    aggregation.membership,
    {{ resync_days_absent('aggregation') }} as days_absent,
    (aggregation.unexcused_absent_minutes > 0)::integer as truant_day
from aggregation
join calendar using (district_id, calendar_id)
left join district using (district_id)
left join school using (district_id, school_id)
left join grade using (district_id, grade_level_id)
left join month
    on month.district_id = aggregation.district_id
    and month.calendar_id = aggregation.calendar_id
    and aggregation.date between month.start_date and month.end_date
