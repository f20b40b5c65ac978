{{ union_district_sources('day', [
    ('day_id', 'integer'),
    ('calendar_id', 'integer'),
    ('structure_id', 'integer'),
    ('period_schedule_id', 'integer'),
    ('date', 'date'),
    ('instruction', 'boolean'),
    ('attendance', 'boolean'),
    ('comments', 'text'),
    ('modified_date', 'timestamp with time zone'),
]) }}
