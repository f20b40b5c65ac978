select
    district_id,
    cast(resolution_type_id as integer) as resolution_type_id,
    cast(code as text) as code,
    cast(name as text) as name,
    cast(state_code as text) as state_code,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'behavior_resolution_type') }}
where {{ resync_district_filter() }}
