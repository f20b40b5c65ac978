select
    district_id,
    cast(calendar_id as integer) as calendar_id,
    cast(school_id as integer) as school_id,
    cast(end_year as smallint) as end_year,
    cast(name as text) as name,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    cast(student_day_minutes as integer) as student_day_minutes,
    cast(whole_day_absence_minutes as integer) as whole_day_absence_minutes,
    cast(half_day_absence_minutes as integer) as half_day_absence_minutes,
    cast(exclude as boolean) as exclude,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'calendar') }}
where {{ resync_district_filter() }}
