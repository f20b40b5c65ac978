{{ union_district_sources('behavior_role', [
    ('role_id', 'integer'),
    ('event_id', 'integer'),
    ('person_id', 'integer'),
    ('role', 'text'),
    ('modified_date', 'timestamp with time zone'),
]) }}
