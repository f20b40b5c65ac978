select
    district_id,
    cast(period_id as integer) as period_id,
    cast(period_schedule_id as integer) as period_schedule_id,
    cast(name as text) as name,
    cast(seq as smallint) as seq,
    cast(period_minutes as integer) as period_minutes,
    cast(non_instructional as boolean) as non_instructional,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'period') }}
where {{ resync_district_filter() }}
