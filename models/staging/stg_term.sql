select
    district_id,
    cast(term_id as integer) as term_id,
    cast(term_schedule_id as integer) as term_schedule_id,
    cast(name as text) as name,
    cast(seq as smallint) as seq,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'term') }}
where {{ resync_district_filter() }}
