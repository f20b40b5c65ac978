select
    district_id,
    cast(district_number as text) as district_number,
    cast(name as text) as name,
    cast(state_district_number as text) as state_district_number,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'district') }}
where {{ resync_district_filter() }}
