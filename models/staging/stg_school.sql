select
    district_id,
    cast(school_id as integer) as school_id,
    cast(number as text) as number,
    cast(name as text) as name,
    cast(state_school_number as text) as state_school_number,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'school') }}
where {{ resync_district_filter() }}
