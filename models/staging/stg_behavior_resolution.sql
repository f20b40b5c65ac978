select
    district_id,
    cast(resolution_id as integer) as resolution_id,
    cast(role_id as integer) as role_id,
    cast(resolution_type_id as integer) as resolution_type_id,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'behavior_resolution') }}
where {{ resync_district_filter() }}
