{{ union_district_sources('section_placement', [
    ('placement_id', 'integer'),
    ('section_id', 'integer'),
    ('period_id', 'integer'),
    ('term_id', 'integer'),
    ('modified_date', 'timestamp with time zone'),
]) }}
