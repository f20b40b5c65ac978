select
    district_id,
    cast(enrollment_id as integer) as enrollment_id,
    cast(person_id as integer) as person_id,
    cast(calendar_id as integer) as calendar_id,
    cast(structure_id as integer) as structure_id,
    cast(grade_level_id as integer) as grade_level_id,
    cast(service_type as text) as service_type,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    cast(no_show as boolean) as no_show,
    cast(state_exclude as boolean) as state_exclude,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'enrollment') }}
where {{ resync_district_filter() }}
