{{ union_district_sources('identity', [
    ('identity_id', 'integer'),
    ('person_id', 'integer'),
    ('last_name', 'text'),
    ('first_name', 'text'),
    ('gender', 'text'),
    ('birth_date', 'date'),
    ('effective_date', 'date'),
    ('modified_date', 'timestamp with time zone'),
]) }}
