{{ union_district_sources('schedule_structure', [
    ('structure_id', 'integer'),
    ('calendar_id', 'integer'),
    ('name', 'text'),
    ('is_primary', 'boolean'),
    ('modified_date', 'timestamp with time zone'),
]) }}
