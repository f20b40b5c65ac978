{{ union_district_sources('attendance_excuse', [
    ('excuse_id', 'integer'),
    ('calendar_id', 'integer'),
    ('code', 'text'),
    ('description', 'text'),
    ('status', 'text'),
    ('excuse', 'text'),
    ('state_code', 'text'),
    ('modified_date', 'timestamp with time zone'),
]) }}
