{{ union_district_sources('alpss', [
    ('alpss_id', 'integer'),
    ('person_id', 'integer'),
    ('calendar_id', 'integer'),
    ('program_code', 'text'),
    ('state_code', 'text'),
    ('start_date', 'date'),
    ('end_date', 'date'),
    ('modified_date', 'timestamp with time zone'),
]) }}
