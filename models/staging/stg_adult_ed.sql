select
    district_id,
    cast(adult_ed_id as integer) as adult_ed_id,
    cast(person_id as integer) as person_id,
    cast(calendar_id as integer) as calendar_id,
    cast(program_code as text) as program_code,
    cast(state_code as text) as state_code,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'adult_ed') }}
where {{ resync_district_filter() }}
