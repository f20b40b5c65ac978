{{ config(materialized='view') }}
-- The school year per district, school and grade (column level says which), with chronic
-- absence under every rule of chronic_absence_rules side by side: chronic_<rule>_counted,
-- chronic_<rule>_absent and chronic_<rule>_rate. Chronic absence counts a student at each school
-- of enrollment, in the grade of their last day there.
{%- set rules = resync_chronic_absence_rules() %}

with days as (
    select * from {{ ref('attendance_days') }}
),

in_session as (
    {{ resync_days_in_session(group_by_month=false) }}
),

attendance as (
    select
        {{ resync_summary_level(['school_id', 'grade']) }} as level,
        district_id,
        district_name,
        end_year,
        school_id,
        school_name,
        grade,
        {{ resync_attendance_measures(instructional_days=false) }}
    from days
    join in_session using (district_id, calendar_id)
    group by grouping sets (
        (district_id, district_name, end_year),
        (district_id, district_name, end_year, school_id, school_name),
        (district_id, district_name, end_year, school_id, school_name, grade)
    )
),

chronic as (
    select
        {{ resync_summary_level(['school_id', 'grade']) }} as level,
        district_id,
        end_year,
        school_id,
        grade,
        {%- for rule in rules %}
        count(*) filter (where {{ resync_counted(rule, 'membership_days') }}) as chronic_{{ rule.name }}_counted,
        count(*) filter (where {{ resync_chronically_absent(rule, 'membership_days', 'days_absent') }})
            as chronic_{{ rule.name }}_absent,
        round(count(*) filter (where {{ resync_chronically_absent(rule, 'membership_days', 'days_absent') }})::numeric
              / nullif(count(*) filter (where {{ resync_counted(rule, 'membership_days') }}), 0), 4)
            as chronic_{{ rule.name }}_rate{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('chronic_absenteeism_by_student') }}
    group by grouping sets (
        (district_id, end_year),
        (district_id, end_year, school_id),
        (district_id, end_year, school_id, grade)
    )
)

select
    attendance.*,
    {%- for rule in rules %}
    chronic.chronic_{{ rule.name }}_counted,
    chronic.chronic_{{ rule.name }}_absent,
    chronic.chronic_{{ rule.name }}_rate{{ "," if not loop.last }}
    {%- endfor %}
from attendance
left join chronic
    on chronic.level = attendance.level
    and chronic.district_id = attendance.district_id
    and chronic.end_year = attendance.end_year
    and chronic.school_id is not distinct from attendance.school_id
    and chronic.grade is not distinct from attendance.grade
