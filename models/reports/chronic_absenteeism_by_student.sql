{{ config(materialized='view') }}
-- Each student's school year at each school of enrollment: absent on 10% or more of their
-- membership days is chronic absence (the federal definition), counted only with at least
-- var chronic_min_membership_days (default 10) membership days.

select
    district_id,
    end_year,
    school_id,
    person_id,
    count(*) as membership_days,
    sum(days_absent)::numeric(12, 4) as days_absent,
    round(sum(days_absent) / count(*), 4) as absence_rate,
    sum(truant_day) as truant_days,
    count(*) >= {{ var('chronic_min_membership_days', 10) }} as counted,
    count(*) >= {{ var('chronic_min_membership_days', 10) }}
        and sum(days_absent) >= {{ var('chronic_absence_threshold', 0.10) }} * count(*) as chronically_absent
from {{ ref('attendance_days') }}
group by district_id, end_year, school_id, person_id
