{{ union_district_sources('behavior_event', [
    ('event_id', 'integer'),
    ('calendar_id', 'integer'),
    ('event_date', 'date'),
    ('code', 'text'),
    ('name', 'text'),
    ('state_code', 'text'),
    ('modified_date', 'timestamp with time zone'),
]) }}
