{{ union_district_sources('calendar', [
    ('calendar_id', 'integer'),
    ('school_id', 'integer'),
    ('end_year', 'smallint'),
    ('name', 'text'),
    ('start_date', 'date'),
    ('end_date', 'date'),
    ('student_day_minutes', 'integer'),
    ('whole_day_absence_minutes', 'integer'),
    ('half_day_absence_minutes', 'integer'),
    ('exclude', 'boolean'),
    ('modified_date', 'timestamp with time zone'),
]) }}
