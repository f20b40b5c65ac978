{{ config(materialized='view') }}
-- Each student's school year at each school of enrollment: absent on 10% or more of their
-- membership days is chronic absence (the federal definition), counted only with at least
-- var chronic_min_membership_days (default 10) membership days. The grade is the one of the
-- student's last membership day at the school.
{%- set federal = resync_chronic_absence_rules()[0] %}

select
    district_id,
    district_name,
    end_year,
    school_id,
    school_name,
    person_id,
    (array_agg(grade order by date desc))[1] as grade,
    count(*) as membership_days,
    sum(days_absent)::numeric(12, 4) as days_absent,
    round(sum(days_absent) / count(*), 4) as absence_rate,
    sum(truant_day) as truant_days,
    {{ resync_counted(federal, 'count(*)') }} as counted,
    {{ resync_chronically_absent(federal, 'count(*)', 'sum(days_absent)') }} as chronically_absent
from {{ ref('attendance_days') }}
group by district_id, district_name, end_year, school_id, school_name, person_id
