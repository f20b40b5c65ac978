{{ union_district_sources('term_schedule', [
    ('term_schedule_id', 'integer'),
    ('structure_id', 'integer'),
    ('name', 'text'),
    ('modified_date', 'timestamp with time zone'),
]) }}
