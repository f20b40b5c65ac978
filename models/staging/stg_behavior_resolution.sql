{{ union_district_sources('behavior_resolution', [
    ('resolution_id', 'integer'),
    ('role_id', 'integer'),
    ('resolution_type_id', 'integer'),
    ('start_date', 'date'),
    ('end_date', 'date'),
    ('modified_date', 'timestamp with time zone'),
]) }}
