select
    district_id,
    cast(placement_id as integer) as placement_id,
    cast(section_id as integer) as section_id,
    cast(period_id as integer) as period_id,
    cast(term_id as integer) as term_id,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'section_placement') }}
where {{ resync_district_filter() }}
