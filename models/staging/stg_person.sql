select
    district_id,
    cast(person_id as integer) as person_id,
    cast(state_id as text) as state_id,
    cast(current_identity_id as integer) as current_identity_id,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'person') }}
where {{ resync_district_filter() }}
