select
    district_id,
    cast(course_id as integer) as course_id,
    cast(calendar_id as integer) as calendar_id,
    cast(number as text) as number,
    cast(name as text) as name,
    cast(state_code as text) as state_code,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'course') }}
where {{ resync_district_filter() }}
