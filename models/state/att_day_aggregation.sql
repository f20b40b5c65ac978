{{ config(
    meta={'resync_scope': 'district_year'},
    indexes=[{'columns': ['district_id', 'person_id', 'calendar_id', 'date'], 'unique': True}],
) }}
-- PLACEHOLDER until the aggregation of domain.md section 4 lands: it fixes the parents and the
-- columns (so the docs and tests compile) and deliberately builds no rows.
-- depends_on: {{ ref('enrollment') }}
-- depends_on: {{ ref('day') }}
-- depends_on: {{ ref('course_section') }}
-- depends_on: {{ ref('attendance_excuse') }}

select
    null::text as district_id,
    null::integer as person_id,
    null::integer as calendar_id,
    null::date as date,
    null::smallint as end_year,
    null::integer as grade_level_id,
    null::integer as scheduled_minutes,
    null::integer as absent_minutes,
    null::integer as unexcused_absent_minutes,
    null::integer as excused_absent_minutes,
    null::integer as exempt_minutes,
    null::integer as present_minutes,
    null::integer as excuse_id,
    null::numeric(5, 4) as absence_fraction_exact,
    null::numeric(2, 1) as absence_fraction_approx,
    null::integer as membership
where false
