select
    district_id,
    cast(role_id as integer) as role_id,
    cast(event_id as integer) as event_id,
    cast(person_id as integer) as person_id,
    cast(role as text) as role,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'behavior_role') }}
where {{ resync_district_filter() }}
