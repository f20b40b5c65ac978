select
    district_id,
    cast(excuse_id as integer) as excuse_id,
    cast(calendar_id as integer) as calendar_id,
    cast(code as text) as code,
    cast(description as text) as description,
    cast(status as text) as status,
    cast(excuse as text) as excuse,
    cast(state_code as text) as state_code,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'attendance_excuse') }}
where {{ resync_district_filter() }}
