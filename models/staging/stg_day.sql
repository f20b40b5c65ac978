select
    district_id,
    cast(day_id as integer) as day_id,
    cast(calendar_id as integer) as calendar_id,
    cast(structure_id as integer) as structure_id,
    cast(period_schedule_id as integer) as period_schedule_id,
    cast(date as date) as date,
    cast(instruction as boolean) as instruction,
    cast(attendance as boolean) as attendance,
    cast(comments as text) as comments,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'day') }}
where {{ resync_district_filter() }}
