{{ union_district_sources('period', [
    ('period_id', 'integer'),
    ('period_schedule_id', 'integer'),
    ('name', 'text'),
    ('seq', 'smallint'),
    ('period_minutes', 'integer'),
    ('non_instructional', 'boolean'),
    ('modified_date', 'timestamp with time zone'),
]) }}
