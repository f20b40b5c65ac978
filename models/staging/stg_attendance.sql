{{ union_district_sources('attendance', [
    ('attendance_id', 'bigint'),
    ('person_id', 'integer'),
    ('calendar_id', 'integer'),
    ('period_id', 'integer'),
    ('date', 'date'),
    ('status', 'text'),
    ('excuse', 'text'),
    ('excuse_id', 'integer'),
    ('present_minutes', 'integer'),
    ('comments', 'text'),
    ('modified_date', 'timestamp with time zone'),
]) }}
