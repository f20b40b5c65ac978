{{ union_district_sources('district', [
    ('district_number', 'text'),
    ('name', 'text'),
    ('state_district_number', 'text'),
    ('modified_date', 'timestamp with time zone'),
]) }}
