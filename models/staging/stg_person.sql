{{ union_district_sources('person', [
    ('person_id', 'integer'),
    ('state_id', 'text'),
    ('current_identity_id', 'integer'),
    ('modified_date', 'timestamp with time zone'),
]) }}
