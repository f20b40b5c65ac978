{{ union_district_sources('course', [
    ('course_id', 'integer'),
    ('calendar_id', 'integer'),
    ('number', 'text'),
    ('name', 'text'),
    ('state_code', 'text'),
    ('modified_date', 'timestamp with time zone'),
]) }}
