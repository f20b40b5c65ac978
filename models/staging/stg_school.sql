{{ union_district_sources('school', [
    ('school_id', 'integer'),
    ('number', 'text'),
    ('name', 'text'),
    ('state_school_number', 'text'),
    ('modified_date', 'timestamp with time zone'),
]) }}
