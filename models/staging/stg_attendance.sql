select
    district_id,
    cast(attendance_id as bigint) as attendance_id,
    cast(person_id as integer) as person_id,
    cast(calendar_id as integer) as calendar_id,
    cast(period_id as integer) as period_id,
    cast(date as date) as date,
    cast(status as text) as status,
    cast(excuse as text) as excuse,
    cast(excuse_id as integer) as excuse_id,
    cast(present_minutes as integer) as present_minutes,
    cast(comments as text) as comments,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'attendance') }}
where {{ resync_district_filter() }}
