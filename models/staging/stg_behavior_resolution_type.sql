{{ union_district_sources('behavior_resolution_type', [
    ('resolution_type_id', 'integer'),
    ('code', 'text'),
    ('name', 'text'),
    ('state_code', 'text'),
    ('modified_date', 'timestamp with time zone'),
]) }}
