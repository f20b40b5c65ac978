select
    district_id,
    cast(term_schedule_id as integer) as term_schedule_id,
    cast(structure_id as integer) as structure_id,
    cast(name as text) as name,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'term_schedule') }}
where {{ resync_district_filter() }}
