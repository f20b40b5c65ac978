{{ union_district_sources('structure_grade_level', [
    ('grade_level_id', 'integer'),
    ('calendar_id', 'integer'),
    ('structure_id', 'integer'),
    ('name', 'text'),
    ('state_grade', 'text'),
    ('standard_day_minutes', 'integer'),
    ('whole_day_absence_minutes', 'integer'),
    ('half_day_absence_minutes', 'integer'),
    ('modified_date', 'timestamp with time zone'),
]) }}
