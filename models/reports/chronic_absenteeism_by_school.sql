{{ config(materialized='view') }}
-- Chronic absenteeism (the federal rule) per school and school year, over the students counted.

select
    district_id,
    district_name,
    end_year,
    school_id,
    school_name,
    count(*) filter (where counted) as students_counted,
    count(*) filter (where chronically_absent) as chronically_absent_students,
    round(
        count(*) filter (where chronically_absent)::numeric
        / nullif(count(*) filter (where counted), 0), 4
    ) as chronic_absence_rate
from {{ ref('chronic_absenteeism_by_student') }}
group by district_id, district_name, end_year, school_id, school_name
