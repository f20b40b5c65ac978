select
    district_id,
    cast(month_id as integer) as month_id,
    cast(calendar_id as integer) as calendar_id,
    cast(name as text) as name,
    cast(seq as smallint) as seq,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'school_month') }}
where {{ resync_district_filter() }}
