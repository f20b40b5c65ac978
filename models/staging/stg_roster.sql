select
    district_id,
    cast(roster_id as bigint) as roster_id,
    cast(person_id as integer) as person_id,
    cast(section_id as integer) as section_id,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'roster') }}
where {{ resync_district_filter() }}
