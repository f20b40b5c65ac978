{{ union_district_sources('roster', [
    ('roster_id', 'bigint'),
    ('person_id', 'integer'),
    ('section_id', 'integer'),
    ('start_date', 'date'),
    ('end_date', 'date'),
    ('modified_date', 'timestamp with time zone'),
]) }}
