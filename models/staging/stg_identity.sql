select
    district_id,
    cast(identity_id as integer) as identity_id,
    cast(person_id as integer) as person_id,
    cast(last_name as text) as last_name,
    cast(first_name as text) as first_name,
    cast(gender as text) as gender,
    cast(birth_date as date) as birth_date,
    cast(effective_date as date) as effective_date,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'identity') }}
where {{ resync_district_filter() }}
