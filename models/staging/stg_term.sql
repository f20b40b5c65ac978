{{ union_district_sources('term', [
    ('term_id', 'integer'),
    ('term_schedule_id', 'integer'),
    ('name', 'text'),
    ('seq', 'smallint'),
    ('start_date', 'date'),
    ('end_date', 'date'),
    ('modified_date', 'timestamp with time zone'),
]) }}
