select
    district_id,
    cast(structure_id as integer) as structure_id,
    cast(calendar_id as integer) as calendar_id,
    cast(name as text) as name,
    cast(is_primary as boolean) as is_primary,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'schedule_structure') }}
where {{ resync_district_filter() }}
