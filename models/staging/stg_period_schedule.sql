select
    district_id,
    cast(period_schedule_id as integer) as period_schedule_id,
    cast(structure_id as integer) as structure_id,
    cast(name as text) as name,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'period_schedule') }}
where {{ resync_district_filter() }}
