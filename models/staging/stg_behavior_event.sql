select
    district_id,
    cast(event_id as integer) as event_id,
    cast(calendar_id as integer) as calendar_id,
    cast(event_date as date) as event_date,
    cast(code as text) as code,
    cast(name as text) as name,
    cast(state_code as text) as state_code,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'behavior_event') }}
where {{ resync_district_filter() }}
