{{ union_district_sources('period_schedule', [
    ('period_schedule_id', 'integer'),
    ('structure_id', 'integer'),
    ('name', 'text'),
    ('modified_date', 'timestamp with time zone'),
]) }}
