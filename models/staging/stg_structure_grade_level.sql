select
    district_id,
    cast(grade_level_id as integer) as grade_level_id,
    cast(calendar_id as integer) as calendar_id,
    cast(structure_id as integer) as structure_id,
    cast(name as text) as name,
    cast(state_grade as text) as state_grade,
    cast(standard_day_minutes as integer) as standard_day_minutes,
    cast(whole_day_absence_minutes as integer) as whole_day_absence_minutes,
    cast(half_day_absence_minutes as integer) as half_day_absence_minutes,
    cast(modified_date as timestamp with time zone) as modified_date
from {{ source('landing', 'structure_grade_level') }}
where {{ resync_district_filter() }}
