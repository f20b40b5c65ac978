{{ union_district_sources('enrollment', [
    ('enrollment_id', 'integer'),
    ('person_id', 'integer'),
    ('calendar_id', 'integer'),
    ('structure_id', 'integer'),
    ('grade_level_id', 'integer'),
    ('service_type', 'text'),
    ('start_date', 'date'),
    ('end_date', 'date'),
    ('no_show', 'boolean'),
    ('state_exclude', 'boolean'),
    ('modified_date', 'timestamp with time zone'),
]) }}
