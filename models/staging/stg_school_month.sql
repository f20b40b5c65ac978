{{ union_district_sources('school_month', [
    ('month_id', 'integer'),
    ('calendar_id', 'integer'),
    ('name', 'text'),
    ('seq', 'smallint'),
    ('start_date', 'date'),
    ('end_date', 'date'),
    ('modified_date', 'timestamp with time zone'),
]) }}
