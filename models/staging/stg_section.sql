select
    district_id,
    cast(section_id as integer) as section_id,
    cast(course_id as integer) as course_id,
    cast(number as text) as number,
    cast(teacher_person_id as integer) as teacher_person_id,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'section') }}
where {{ resync_district_filter() }}
